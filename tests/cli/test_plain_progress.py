"""Progress where stderr is not a terminal: plain lines at a steady interval with stage, done/total, rate, ETA."""

from __future__ import annotations

import io
import re
import time

from oprd.progress import PlainProgress, format_duration, progress_bar

LINE = re.compile(r"^\[oprd\] rollouts: (\d+)/10 \(\d+\.\d%\), \d+\.\d\d prompts/s, elapsed \S+, eta (\S+)$")


def test_plain_lines_at_a_steady_interval_even_while_nothing_advances():
    stream = io.StringIO()
    with progress_bar("rollouts", 10, unit="prompts", stream=stream, interval=0.05) as advance:
        time.sleep(0.3)  # nothing done yet: lines must still come
        advance(4)
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[oprd] rollouts: started, 10 prompts"
    assert re.match(r"^\[oprd\] rollouts: done, 4/10 prompts in \d+s$", lines[-1])
    ticks = [LINE.match(line) for line in lines[1:-1]]
    assert all(ticks) and len(ticks) >= 6
    before = [m for m in ticks if m.group(1) == "0"]
    after = [m for m in ticks if m.group(1) == "4"]
    assert before and after
    assert all(m.group(2) == "?" for m in before)  # no rate yet, no ETA
    assert all(m.group(2) != "?" for m in after)


def test_rate_and_eta_follow_from_done_and_elapsed():
    progress = PlainProgress("rollouts", 10, "prompts", io.StringIO(), interval=60)
    progress._start = 100.0
    progress.advance(4)
    assert progress.line(now=108.0) == ("[oprd] rollouts: 4/10 (40.0%), 0.50 prompts/s, elapsed 8s, eta 12s")
    assert format_duration(377) == "6m17s" and format_duration(7500) == "2h05m"


def test_a_terminal_gets_the_rich_bar_and_disabled_prints_nothing():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with progress_bar("rollouts", 3, stream=terminal, interval=0.01) as advance:
        advance(3)
        time.sleep(0.05)
    assert "[oprd]" not in terminal.getvalue() and "3/3" in terminal.getvalue()
    silent = io.StringIO()
    with progress_bar("rollouts", 3, enabled=False, stream=silent) as advance:
        advance(3)
    assert silent.getvalue() == ""


def test_an_error_inside_the_stage_says_stopped():
    stream = io.StringIO()
    try:
        with progress_bar("capture", 5, stream=stream, interval=10) as advance:
            advance(2)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert stream.getvalue().splitlines()[-1].startswith("[oprd] capture: stopped, 2/5 it in ")


def test_a_selection_with_piped_stderr_logs_its_stages(tmp_path, monkeypatch):
    from pathlib import Path

    from typer.testing import CliRunner

    from oprd.cli import select_app

    monkeypatch.setenv("OPRD_PROGRESS_INTERVAL", "0.01")
    pool = Path(__file__).resolve().parents[2] / "examples" / "pool.jsonl"
    result = CliRunner().invoke(select_app.app, ["shift", "--pool", str(pool), "--budget", "3", "--model",
                                                 "tiny-random-llama", "--max-new-tokens", "4", "--out",
                                                 str(tmp_path / "sel")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "[oprd] rollouts + capture: started, 100 prompts" in lines
    assert any(line.startswith("[oprd] rollouts + capture: done, 100/100 prompts in ") for line in lines)
    assert any(line.startswith("[oprd] selection: done, 3/3 picks in ") for line in lines)
