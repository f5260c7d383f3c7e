"""A --config file that sets a command-line-only option is told which flag to use instead."""

from pathlib import Path

from typer.testing import CliRunner

from oprd.cli.select_app import app

POOL = Path(__file__).resolve().parents[2] / "examples" / "pool.jsonl"


def test_pool_and_quiet_in_a_select_config_name_their_flags(tmp_path):
    config = tmp_path / "select.yaml"
    config.write_text(f"pool: {POOL}\nquiet: true\nbudget: 5\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["random", "--pool", str(POOL), "--config", str(config),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "command-line options only" in result.output and "--pool" in result.output and "--quiet" in result.output
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_select_config_keys_still_work(tmp_path):
    config = tmp_path / "select.yaml"
    config.write_text("budget: 5\nseed: 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["random", "--pool", str(POOL), "--config", str(config),
                                      "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "selected 5 of 100" in result.output
