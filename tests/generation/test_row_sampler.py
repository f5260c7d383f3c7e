import math

import pytest
import torch

from oprd.generation.row_sampler import RowSeededSampler


def test_gumbel_argmax_draws_follow_the_tempered_distribution():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    temperature = 0.7
    expected = torch.softmax(logits[0] / temperature, dim=-1)
    counts = torch.zeros(4)
    for seed in range(4000):
        sampler = RowSeededSampler([seed], temperature=temperature, top_p=1.0, device="cpu")
        counts[sampler(None, logits).argmax(-1)] += 1
    assert torch.allclose(counts / counts.sum(), expected, atol=0.025)


def test_top_p_keeps_only_the_nucleus_and_logprobs_are_of_the_filtered_distribution():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    seen = set()
    for seed in range(300):
        sampler = RowSeededSampler([seed], temperature=1.0, top_p=0.7, device="cpu", record_logprobs=True)
        pick = int(sampler(None, logits).argmax(-1))
        seen.add(pick)
        expected = {0: 0.5 / 0.8, 1: 0.3 / 0.8}[pick]
        assert sampler.chosen_logprobs[0][0] == pytest.approx(math.log(expected), abs=1e-5)
    assert seen == {0, 1}


def test_rows_with_equal_seeds_draw_equal_tokens_and_other_rows_do_not_matter():
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    both = RowSeededSampler([5, 5, 9], temperature=1.0, top_p=1.0, device="cpu")(None, logits).argmax(-1)
    alone = RowSeededSampler([9], temperature=1.0, top_p=1.0, device="cpu")(None, logits[2:]).argmax(-1)
    same_logits = torch.stack([logits[0], logits[0]])
    twins = RowSeededSampler([5, 5], temperature=1.0, top_p=1.0, device="cpu")(None, same_logits).argmax(-1)
    assert int(both[2]) == int(alone[0])
    assert int(twins[0]) == int(twins[1]) == int(both[0])


def test_rejects_greedy_temperature():
    with pytest.raises(ValueError, match="temperature > 0"):
        RowSeededSampler([0], temperature=0.0, top_p=1.0, device="cpu")
