"""`oprd data make` without the data extra: one line naming the extra, exit code 2, no traceback."""

import sys

from typer.testing import CliRunner

from oprd.cli.main import app


def test_missing_reasoning_gym_names_the_extra(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "reasoning_gym" or m.startswith("reasoning_gym.")] + ["reasoning_gym"]:
        monkeypatch.setitem(sys.modules, name, None)  # import of it now raises ModuleNotFoundError
    out = tmp_path / "pool.jsonl"
    result = CliRunner().invoke(app, ["data", "make", "--task", "basic_arithmetic", "--n", "3", "--out", str(out)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "pip install 'oprd[data]'" in message and "reasoning-gym" in message
    assert "Traceback" not in message and not out.exists()
