"""Outputs never land on inputs or on earlier results: --out over an input, over a finished selection,
over a file, and symbolic links planted in --out (issue classes 2, 3 and the symlink bullet of 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oprd.cli import main, select_app
from oprd.data.outputs import check_output_dir, check_output_file
from oprd.errors import OprdInputError

runner = CliRunner()


def _pool(path: Path, n: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"{i} + {i} = ?", "answer": str(2 * i)}) + "\n"
                            for i in range(n)))
    return path


def _select(pool: Path, out: Path, *extra: str):
    return runner.invoke(select_app.app, ["random", "--pool", str(pool), "--budget", "2", "--out", str(out),
                                          "--quiet", *extra])


def _one_error_line(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_selecting_into_the_pools_own_folder_is_refused_and_the_pool_kept(tmp_path):
    first = tmp_path / "sel"
    assert _select(_pool(tmp_path / "pool.jsonl"), first).exit_code == 0
    subset = first / "subset.jsonl"
    before = subset.read_bytes()
    manifest = (first / "manifest.json").read_bytes()
    result = _select(subset, first, "--overwrite")  # the reported accident: --pool D/subset.jsonl --out D
    _one_error_line(result, "holds the input --pool")
    assert subset.read_bytes() == before and (first / "manifest.json").read_bytes() == manifest


@pytest.mark.parametrize("inside", ["pool.jsonl", "data/deeper/pool.jsonl"])
def test_out_holding_the_pool_at_any_depth_is_refused(tmp_path, inside):
    pool = _pool(tmp_path / "d" / inside)
    _one_error_line(_select(pool, tmp_path / "d"), "holds the input --pool")
    assert not (tmp_path / "d" / "manifest.json").exists()


def test_an_out_reached_through_a_link_is_still_the_pools_folder(tmp_path):
    pool = _pool(tmp_path / "real" / "pool.jsonl")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    _one_error_line(_select(pool, tmp_path / "alias"), "holds the input --pool")


def test_out_holding_the_config_file_is_refused(tmp_path):
    pool = _pool(tmp_path / "pool.jsonl")
    config = tmp_path / "cfg" / "sel.yaml"
    config.parent.mkdir()
    config.write_text("seed: 1\n")
    result = runner.invoke(select_app.app, ["random", "--pool", str(pool), "--config", str(config),
                                            "--out", str(tmp_path / "cfg"), "--quiet"])
    _one_error_line(result, "holds the input --config")


def test_a_sibling_out_is_fine(tmp_path):
    pool = _pool(tmp_path / "data" / "pool.jsonl")
    assert _select(pool, tmp_path / "data" / "run").exit_code == 0


def test_a_finished_selection_needs_overwrite(tmp_path):
    pool, out = _pool(tmp_path / "pool.jsonl"), tmp_path / "sel"
    assert _select(pool, out).exit_code == 0
    manifest = (out / "manifest.json").read_bytes()
    result = _select(pool, out, "--seed", "3")
    _one_error_line(result, "already holds a complete selection (manifest.json); pass --overwrite")
    assert (out / "manifest.json").read_bytes() == manifest
    assert _select(pool, out, "--seed", "3", "--overwrite").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


def test_the_library_refuses_a_finished_selection_too(tmp_path):
    import oprd

    pool, out = _pool(tmp_path / "pool.jsonl"), tmp_path / "sel"
    oprd.select(str(pool), 2, method="random", out_dir=out, progress=False)
    with pytest.raises(OprdInputError, match="already holds a complete selection"):
        oprd.select(str(pool), 2, method="random", out_dir=out, progress=False)
    oprd.select(str(pool), 3, method="random", out_dir=out, progress=False, overwrite=True)
    assert json.loads((out / "manifest.json").read_text())["n_selected"] == 3


def test_out_naming_an_existing_file_is_one_line(tmp_path):
    pool = _pool(tmp_path / "pool.jsonl")
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    _one_error_line(_select(pool, target), "is an existing file; --out names a directory")
    assert target.read_text() == "keep me"


def test_links_planted_in_out_are_replaced_not_followed(tmp_path):
    pool, out = _pool(tmp_path / "pool.jsonl"), tmp_path / "sel"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out.mkdir()
    for name in ("selection.png", "subset.jsonl"):
        (out / name).symlink_to(victim)
    result = runner.invoke(select_app.app, ["shift", "--pool", str(pool), "--budget", "2", "--out", str(out),
                                            "--model", "tiny-random-llama", "--max-new-tokens", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert not (out / "selection.png").is_symlink() and (out / "selection.png").read_bytes()[:4] == b"\x89PNG"


def test_metrics_never_write_through_a_link(tmp_path):
    from oprd.rlvr.runtime.metrics import MetricsLogger

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "metrics.jsonl").symlink_to(victim)
    logger = MetricsLogger(tmp_path, [], run_name="r", config={}, resume_step=0)
    assert not (tmp_path / "metrics.jsonl").is_symlink()  # the stale link was replaced when truncating
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").symlink_to(victim)
    with pytest.raises(OSError):
        logger.log(1, {"loss": 1.0})
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("command", [["data", "corrupt", "--rho", "0.5"]])
def test_file_outputs_refuse_their_input(tmp_path, command):
    pool = _pool(tmp_path / "pool.jsonl")
    link = tmp_path / "same.jsonl"
    link.symlink_to(pool)
    before = pool.read_bytes()
    result = runner.invoke(main.app, [*command[:2], str(pool), str(link), *command[2:]])
    _one_error_line(result, "is the same file as IN")
    assert pool.read_bytes() == before


def test_data_make_refuses_a_directory_out(tmp_path):
    result = runner.invoke(main.app, ["data", "make", "--task", "basic_arithmetic", "--n", "2", "--out", str(tmp_path)])
    _one_error_line(result, "is a directory; --out names the file to write")


def test_fit_bridge_refuses_an_out_inside_a_model_dir(tmp_path):
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with pytest.raises(OprdInputError, match="is inside the input folder --student"):
        check_output_file(model / "bridge.safetensors", {"--student": str(model), "--data": None})


def test_hub_ids_and_missing_paths_are_not_inputs(tmp_path):
    assert check_output_dir(tmp_path / "out", {"--model": "org/name", "--pool": None}) == tmp_path / "out"
