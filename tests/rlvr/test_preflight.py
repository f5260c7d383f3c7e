"""Class 7: every input is checked before the first expensive step (model load, rollout)."""

import json
import sys
import types

import pytest

from oprd.data import Pool
from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer
from oprd.selectors.pipeline import SelectionConfig, run_selection


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture
def no_model_load(monkeypatch):
    """Any model load fails the test: the checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr("oprd.models.loading.load_model", refuse)


def _config(tmp_path, **overrides):
    data = _write(tmp_path / "train.jsonl", [{"id": f"q{i}", "prompt": f"{i}+{i}?", "answer": str(2 * i)} for i in range(4)])
    return GRPOConfig(**{**dict(model="tiny-random-llama", data=data, out=str(tmp_path / "run"), max_steps=1,
                                batch_size=2, group_size=2, max_new_tokens=4), **overrides})


def test_eval_data_without_answers_is_refused_before_training(tmp_path, no_model_load):
    eval_data = _write(tmp_path / "eval.jsonl", [{"prompt": "1+1?"}, {"prompt": "2+2?"}])
    with pytest.raises(OprdInputError, match="--eval-data .* has no rows with answers"):
        GRPOTrainer(_config(tmp_path, eval_data=eval_data), progress=False)


def test_no_labeled_rows_with_unlabeled_reward_none_is_refused(tmp_path, no_model_load):
    data = _write(tmp_path / "unlabeled.jsonl", [{"prompt": "1+1?"}, {"prompt": "2+2?"}])
    with pytest.raises(OprdInputError, match="every gradient would be zero"):
        GRPOTrainer(_config(tmp_path, data=data, unlabeled_reward="none"), progress=False)


def test_training_prompt_longer_than_the_context_is_refused(tmp_path, no_model_load):
    data = _write(tmp_path / "long.jsonl", [{"id": "long", "prompt": "x" * 3000, "answer": "1"}])
    with pytest.raises(OprdInputError, match="do not fit the model's context of 2048 tokens.*id 'long'"):
        GRPOTrainer(_config(tmp_path, data=data), progress=False)


def test_vllm_backend_without_vllm_is_refused_before_the_model(tmp_path, no_model_load, monkeypatch):
    monkeypatch.setattr("oprd.generation.vllm_backend.vllm_available", lambda: False)
    with pytest.raises(OprdInputError, match="needs the vllm package"):
        GRPOTrainer(_config(tmp_path, generation_backend="vllm"), progress=False)


def test_selection_checks_settings_even_when_features_are_cached(tmp_path):
    pool = Pool.from_rows([{"id": str(i), "prompt": f"{i}*3?"} for i in range(3)])
    base = dict(method="random", budget=2, model="tiny-random-llama", max_new_tokens=3,
                cache_dir=str(tmp_path / "cache"))
    run_selection(pool, SelectionConfig(**{**base, "method": "shift"}), progress=False)  # fills the cache
    with pytest.raises(OprdInputError, match="'generation_backend' parameter of SelectionConfig must be one of hf, vllm"):
        run_selection(pool, SelectionConfig(**{**base, "method": "shift", "generation_backend": "vlm"}), progress=False)


def test_selection_prompt_longer_than_the_context_fails_before_the_model(tmp_path, no_model_load):
    pool = Pool.from_rows([{"id": "big", "prompt": "y" * 2100}])
    with pytest.raises(OprdInputError, match="id 'big'"):
        run_selection(pool, SelectionConfig(budget=1, model="tiny-random-llama", max_new_tokens=3,
                                            cache_dir=str(tmp_path / "cache")), progress=False)


def test_vllm_options_may_not_turn_on_remote_code_or_swap_workers(tmp_path):
    for key in ("trust_remote_code", "worker_cls"):
        with pytest.raises(OprdInputError, match=f"vllm_options may not set {key}"):
            _config(tmp_path, generation_backend="vllm", vllm_options={key: True}).validate()


def test_vllm_engine_gets_the_trust_flag_from_the_caller(monkeypatch):
    seen = {}

    class FakeLLM:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def get_tokenizer(self):
            return None

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=FakeLLM))
    monkeypatch.setattr("oprd.generation.vllm_backend.vllm_available", lambda: True)
    from oprd.generation.vllm_backend import VLLMGenerator

    VLLMGenerator("some/dir")
    assert seen["trust_remote_code"] is False
    VLLMGenerator("some/dir", trust_remote_code=True)
    assert seen["trust_remote_code"] is True
