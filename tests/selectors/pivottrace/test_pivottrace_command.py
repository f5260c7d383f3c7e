"""`oprd-select pivottrace` on the tiny model: stop for probe labels, continue from cache, bad inputs."""

import json
import shlex

import pytest
from typer.testing import CliRunner

from oprd.cli.select_app import app
from oprd.generation.hf import HFGenerator

POOL = [{"id": f"q{i}", "prompt": f"What is {i} + {i}?"} for i in range(10)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from oprd.models.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pivottrace-cache")


def _write_pool(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _args(tmp_path, model_dir, cache_dir, *extra, rows=POOL):
    pool = _write_pool(tmp_path / "pool.jsonl", rows)
    return ["pivottrace", "--pool", str(pool), "--out", str(tmp_path / "out"), "--model", str(model_dir),
            "--max-new-tokens", "24", "--probes", "4", "--probe-samples", "2", "--cache-dir", str(cache_dir),
            "--quiet", *extra]


@pytest.fixture
def generate_calls(monkeypatch):
    """The sample count ``n`` of every generate call."""
    calls = []
    original = HFGenerator.generate

    def counting(self, prompts, sampling, **kwargs):
        calls.append((len(prompts), sampling.n))
        return original(self, prompts, sampling, **kwargs)

    monkeypatch.setattr(HFGenerator, "generate", counting)
    return calls


def test_stop_for_labels_then_continue_without_regenerating(tmp_path, model_dir, cache_dir, generate_calls):
    runner = CliRunner()
    first = runner.invoke(app, _args(tmp_path, model_dir, cache_dir, "--calib", "fractions", "--fractions", "0.2,0.3"))
    assert first.exit_code == 0, first.output
    out = tmp_path / "out"
    assert not (out / "manifest.json").exists()
    to_label = [json.loads(line) for line in (out / "probes_to_label.jsonl").read_text().splitlines()]
    assert len(to_label) == 4 and all(row["answer"] is None for row in to_label)
    command = next(line for line in first.output.splitlines() if line.startswith("oprd-select pivottrace"))
    assert command.endswith(f"--probe-labels {out / 'probes_to_label.jsonl'}")
    assert generate_calls == [(10, 1)]

    for row in to_label:
        row["answer"] = str(2 * int(row["id"][1:]))
    (out / "probes_to_label.jsonl").write_text("".join(json.dumps(r) + "\n" for r in to_label))
    second = runner.invoke(app, shlex.split(command)[1:] + ["--json"])
    assert second.exit_code == 0, second.output
    assert generate_calls == [(10, 1), (4, 2)]  # only the probes' rollouts are new
    summary = json.loads(second.output.strip().splitlines()[-1])
    assert summary["status"] == "done" and summary["buckets"] == {"annotate": 4, "weak": 3, "discard": 3}

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "pivottrace" and manifest["buckets"] == summary["buckets"]
    assert [p["id"] for p in manifest["probes"]] and all(p["gold_from"] == "labels" for p in manifest["probes"])
    triage = [json.loads(line) for line in (out / "triage.jsonl").read_text().splitlines()]
    assert sorted(t["id"] for t in triage) == sorted(r["id"] for r in POOL)
    assert {t["bucket"] for t in triage} == {"annotate", "weak", "discard"}
    annotate = [json.loads(line) for line in (out / "annotate.jsonl").read_text().splitlines()]
    assert {r["id"]: r["answer"] for r in annotate} == {r["id"]: r["answer"] for r in to_label}
    assert (out / "calibration.png").stat().st_size > 1000

    from oprd.rlvr.dataset import load_train_data

    data = load_train_data(selected=str(out))
    assert (data.n, data.n_labeled) == (7, 4)

    third = runner.invoke(app, shlex.split(command)[1:] + ["--calib", "threshold", "--overwrite"])
    assert third.exit_code == 0, third.output
    assert len(generate_calls) == 2  # other cuts reuse every cached rollout


def test_pool_answers_serve_as_probe_gold(tmp_path, model_dir, cache_dir):
    rows = [{**row, "answer": str(2 * i)} for i, row in enumerate(POOL)]
    result = CliRunner().invoke(app, _args(tmp_path, model_dir, cache_dir, "--tau-lo", "0.3", rows=rows))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tau_lo"] == 0.3 and len(manifest["probes"]) == 4
    assert all(p["gold_from"] == "pool" for p in manifest["probes"])


def _labels_error(tmp_path, model_dir, cache_dir, rows):
    runner = CliRunner()
    first = runner.invoke(app, _args(tmp_path, model_dir, cache_dir))
    assert first.exit_code == 0, first.output
    ids = [json.loads(line)["id"] for line in (tmp_path / "out" / "probes_to_label.jsonl").read_text().splitlines()]
    labels = _write_pool(tmp_path / "labels.jsonl", rows(ids))
    result = runner.invoke(app, _args(tmp_path, model_dir, cache_dir, "--probe-labels", str(labels)))
    assert result.exit_code == 2
    assert not (tmp_path / "out" / "manifest.json").exists()
    return ids, result.output.strip()


def test_labels_with_unknown_ids_are_named(tmp_path, model_dir, cache_dir):
    ids, error = _labels_error(tmp_path, model_dir, cache_dir,
                               lambda ids: [{"id": i, "answer": "1"} for i in ids] + [{"id": "nope", "answer": "2"}])
    assert error.startswith("error: probe labels file") and "not probes of this run: nope" in error
    assert len(error.splitlines()) == 1


def test_labels_missing_probes_are_named(tmp_path, model_dir, cache_dir):
    ids, error = _labels_error(tmp_path, model_dir, cache_dir, lambda ids: [{"id": i, "answer": "1"} for i in ids[1:]])
    assert f"no answer for 1 probe(s): {ids[0]}" in error


def test_labels_with_empty_answers_are_named(tmp_path, model_dir, cache_dir):
    ids, error = _labels_error(tmp_path, model_dir, cache_dir,
                               lambda ids: [{"id": i, "answer": "" if i == ids[2] else "3"} for i in ids])
    assert f"empty answers for: {ids[2]}" in error


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--probes", "11"], "'n_probes' parameter of PivotTrace must be None or an int in [1, 10]"),
        (["--tau-lo", "0.9", "--tau-hi", "0.8"], "tau_lo (0.9) must be below tau_hi (0.8)"),
        (["--fractions", "0.6,0.5"], "fractions 0.6,0.5 sum to 1.100 > 1"),
        (["--fractions", "half"], "--fractions must be two numbers"),
        (["--score", "vibes"], "'score' parameter of PivotTrace"),
    ],
)
def test_bad_options_exit_2_with_one_line_before_any_model_runs(tmp_path, model_dir, cache_dir, generate_calls,
                                                                 extra, message):
    result = CliRunner().invoke(app, _args(tmp_path, model_dir, cache_dir, *extra))
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert generate_calls == []


def test_a_model_without_rebuildable_attention_is_refused_before_generation(tmp_path, cache_dir, generate_calls):
    from transformers import GPT2Config, GPT2LMHeadModel

    from oprd.models.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    config = GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(tmp_path / "gpt2")
    tokenizer.save_pretrained(tmp_path / "gpt2")
    result = CliRunner().invoke(app, _args(tmp_path, tmp_path / "gpt2", cache_dir))
    assert result.exit_code == 2
    assert "cannot rebuild eager attention for GPT2LMHeadModel" in result.output
    assert len(result.output.strip().splitlines()) == 1 and generate_calls == []


@pytest.mark.parametrize("score", ["count", "lexical", "consistency", "token-entropy", "self-certainty"])
def test_every_score_triages_the_pool(tmp_path, model_dir, cache_dir, score):
    rows = [{**row, "answer": str(2 * i)} for i, row in enumerate(POOL)]
    result = CliRunner().invoke(app, _args(tmp_path, model_dir, cache_dir, "--score", score, "--fractions",
                                           "0.4,0.3", "--json", rows=rows))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["score"] == score and summary["buckets"] == {"annotate": 4, "weak": 3, "discard": 3}
    triage = [json.loads(line) for line in (tmp_path / "out" / "triage.jsonl").read_text().splitlines()]
    uncertainty = [t["uncertainty"] for t in triage]
    assert uncertainty == sorted(uncertainty, reverse=True) and all(u == u for u in uncertainty)


def test_triage_files_follow_format_and_the_trainer_reads_them(tmp_path, model_dir, cache_dir):
    from oprd.data import load_pool
    from oprd.rlvr.dataset import load_train_data

    rows = [{**row, "answer": str(2 * i)} for i, row in enumerate(POOL)]
    result = CliRunner().invoke(app, _args(tmp_path, model_dir, cache_dir, "--format", "parquet", rows=rows))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {manifest["files"][k] for k in ("triage", "annotate", "weak")} == {"triage.parquet", "annotate.parquet",
                                                                              "weak.parquet"}
    assert not list((tmp_path / "out").glob("*.jsonl"))
    triage = load_pool(tmp_path / "out" / "triage.parquet", prompt_key="id")
    assert sorted(triage.ids) == sorted(row["id"] for row in POOL)
    data = load_train_data(selected=str(tmp_path / "out"))
    annotated = load_pool(tmp_path / "out" / "annotate.parquet")
    assert data.n_labeled == annotated.n and set(annotated.ids) <= set(data.ids)
