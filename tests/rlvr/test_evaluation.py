"""Held-out evaluation: greedy pass@1, sampled avg@k and pass@k, against a scripted generator."""

import json

import pytest

from oprd.data import load_pool
from oprd.generation.base import Rollout
from oprd.models import load_tokenizer
from oprd.rlvr.evaluate import evaluate, pass_at_k


class ScriptedGenerator:
    """Greedy calls answer ``greedy[i]`` for prompt i; sampled calls answer ``samples[i][s]``."""

    def __init__(self, greedy: list[str], samples: list[list[str]]) -> None:
        self.greedy, self.samples = greedy, samples

    def generate(self, prompts, sampling, progress=None):
        texts = ([[g] for g in self.greedy] if sampling.temperature == 0 else self.samples)
        return [Rollout(p, s, list(ids), [], f"\\boxed{{{texts[p][s]}}}", "stop")
                for p, ids in enumerate(prompts) for s in range(sampling.n)]


@pytest.fixture()
def pool(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps({"id": f"e{i}", "prompt": f"{i} + 1", "answer": str(i + 1)}) + "\n"
                            for i in range(4)))
    return load_pool(str(path))


def test_greedy_and_sampled_figures_are_kept_apart(pool):
    tokenizer = load_tokenizer("tiny-random-llama")
    greedy = ["1", "2", "0", "0"]  # 2 of 4 right
    samples = [["1", "0"], ["0", "0"], ["3", "3"], ["0", "4"]]  # 1 + 0 + 2 + 1 = 4 of 8 right
    result = evaluate(ScriptedGenerator(greedy, samples), tokenizer, pool, k=2, max_new_tokens=4)
    assert result.pass_at_1 == 0.5
    assert result.avg_at_k == 0.5
    assert result.pass_at_k == 0.75  # prompts 0, 2 and 3 have a right sample
    assert result.as_dict() == {"n": 4, "k": 2, "pass@1": 0.5, "avg@2": 0.5, "pass@2": 0.75}


def test_at_k_1_the_sampled_figure_does_not_overwrite_greedy_pass_at_1(pool):
    tokenizer = load_tokenizer("tiny-random-llama")
    result = evaluate(ScriptedGenerator(["1", "2", "3", "4"], [["0"], ["0"], ["3"], ["0"]]), tokenizer, pool, k=1,
                      max_new_tokens=4)
    assert result.as_dict() == {"n": 4, "k": 1, "pass@1": 1.0, "avg@1": 0.25}


def test_unbiased_pass_at_k_matches_hand_values():
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)
    assert pass_at_k(4, 3, 2) == 1.0
