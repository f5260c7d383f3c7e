"""Group-relative advantages and zero-variance groups against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from oprd.errors import OprdInputError
from oprd.rlvr.grpo import group_advantages, zero_variance_groups

# Two groups of G = 4.
# group 1: [1, 0, 0, 0]  mean 0.25, deviations [0.75, -0.25, -0.25, -0.25],
#          sample variance (0.5625 + 3 * 0.0625) / 3 = 0.25, std 0.5
# group 2: [1, 1, 0, 0]  mean 0.5, deviations [0.5, 0.5, -0.5, -0.5], sample variance 1 / 3
# whole batch: mean 3/8, squared deviations 3 * 0.625^2 + 5 * 0.375^2 = 1.875, sample variance 1.875 / 7
REWARDS = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
DEVIATIONS = [0.75, -0.25, -0.25, -0.25, 0.5, 0.5, -0.5, -0.5]


def test_group_scale_uses_the_unbiased_group_std():
    half_root3 = 0.5 / math.sqrt(1 / 3)  # = sqrt(3) / 2
    expected = [1.5, -0.5, -0.5, -0.5, half_root3, half_root3, -half_root3, -half_root3]
    assert group_advantages(REWARDS, 4, eps=0.0).tolist() == pytest.approx(expected, abs=1e-6)


def test_group_scale_adds_eps_to_the_std():
    out = group_advantages(REWARDS, 4)  # eps 1e-4 by default, as in TRL
    assert float(out[0]) == pytest.approx(0.75 / (0.5 + 1e-4), rel=1e-6)


def test_batch_scale_keeps_group_means_and_uses_the_batch_std():
    batch_std = math.sqrt(1.875 / 7)
    expected = [d / batch_std for d in DEVIATIONS]
    assert group_advantages(REWARDS, 4, scale="batch", eps=0.0).tolist() == pytest.approx(expected, abs=1e-6)


def test_no_scale_is_the_centred_reward():
    assert group_advantages(REWARDS, 4, scale="none").tolist() == pytest.approx(DEVIATIONS, abs=1e-7)


def test_pairs_use_sample_not_population_std():
    # [1, 0]: deviations +-0.5, sample std sqrt(0.5) (population std would be 0.5 and give +-1)
    out = group_advantages(torch.tensor([1.0, 0.0]), 2, eps=0.0)
    assert out.tolist() == pytest.approx([0.5 / math.sqrt(0.5), -0.5 / math.sqrt(0.5)], abs=1e-6)


def test_equal_rewards_give_zero_advantage_under_every_scale():
    rewards = torch.tensor([0.7, 0.7, 0.7, 1.0, 0.0, 0.0])
    for scale in ("group", "batch", "none"):
        assert group_advantages(rewards, 3, scale=scale)[:3].abs().max() < 1e-6


def test_integer_rewards_are_accepted():
    assert group_advantages(torch.tensor([1, 0]), 2, scale="none").tolist() == [0.5, -0.5]


def test_zero_variance_groups():
    rewards = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    assert zero_variance_groups(rewards, 4).tolist() == [False, True, True]
    assert zero_variance_groups(torch.tensor([0.3, 0.1 + 0.2]), 2).tolist() == [True]


@pytest.mark.parametrize("group_size", [1, 0, 2.0, True])
def test_bad_group_size(group_size):
    with pytest.raises(OprdInputError, match="'group_size' parameter of group_advantages"):
        group_advantages(torch.zeros(4), group_size)


def test_length_not_a_multiple_of_the_group_size():
    with pytest.raises(ValueError, match="multiple of group_size=4"):
        group_advantages(torch.zeros(6), 4)
    with pytest.raises(ValueError, match="1-D"):
        zero_variance_groups(torch.zeros(2, 4), 4)


def test_unknown_scale():
    with pytest.raises(OprdInputError, match="'scale' parameter of group_advantages must be one of group, batch, none"):
        group_advantages(torch.zeros(4), 2, scale="global")
