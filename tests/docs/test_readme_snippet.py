"""The README's library snippet runs as written (the python block under "### Library")."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _library_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^### Library\n(.*?)^```python\n(.*?)^```", readme, re.S | re.M)
    assert found, "README.md has no python block under '### Library'"
    return found.group(2)


def _array_part(snippet: str) -> str:
    """The imports plus everything from the arrays-in comment on (no model needed)."""
    head, marker, tail = snippet.partition("# arrays in")
    assert marker, "the snippet's '# arrays in, indices out' part is missing"
    imports = "\n".join(line for line in head.splitlines() if line.startswith("import "))
    return imports + "\n" + marker + tail


def test_snippet_arrays_part_runs():
    """The model-free half (ShiftSelector, get_support, shift_features, weighted_farthest_first)."""
    namespace: dict = {}
    exec(compile(_array_part(_library_snippet()), "README.md:Library", "exec"), namespace)
    selector = namespace["selector"]
    assert len(selector.ranking_) == 50
    assert list(selector.get_support(indices=True)) == list(selector.ranking_)  # selection order
    assert list(selector.get_support().nonzero()[0]) == sorted(selector.ranking_)  # the mask, sorted


@pytest.mark.integration
def test_snippet_runs_as_written(tmp_path, monkeypatch):
    """The whole block, from a directory holding examples/pool.jsonl, with the built-in model."""
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "pool.jsonl", tmp_path / "examples" / "pool.jsonl")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_library_snippet(), "README.md:Library", "exec"), namespace)
    selection = namespace["selection"]
    assert len(selection.ids) == 10
    assert (tmp_path / "runs" / "shift" / "manifest.json").is_file()
