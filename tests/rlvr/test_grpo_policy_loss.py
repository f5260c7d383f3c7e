"""The clipped surrogate, its aggregations, k3 KL and masks against hand-computed values.

The fixture: old log-probs 0, so each token's ratio is exp(logp) = the number written below.
Clip range [1 - 0.2, 1 + 0.28] = [0.8, 1.28].

  sequence 1, A = +1, ratios [1.0, 1.5, 0.5], all tokens kept
      -min(rA, clip(r)A): -1.0, -min(1.5, 1.28) = -1.28 (high clip), -min(0.5, 0.8) = -0.5 (no clip: A > 0)
  sequence 2, A = -2, ratios [1.0, 0.7, e^50], last token is padding
      2.0, -min(-1.4, -1.6) = 1.6 (low clip), padding ignored
  token sum = -1 - 1.28 - 0.5 + 2 + 1.6 = 0.82 over 5 tokens
"""

from __future__ import annotations

import math

import pytest
import torch

from oprd.errors import OprdInputError
from oprd.rlvr.grpo import policy_loss

LN2 = math.log(2.0)


def _inputs():
    logp = torch.log(torch.tensor([[1.0, 1.5, 0.5], [1.0, 0.7, 1.0]]))
    logp[1, 2] = 50.0  # padding with a ratio that would overflow if it were used
    old = torch.zeros(2, 3)
    advantages = torch.tensor([1.0, -2.0])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    return logp, old, advantages, mask


@pytest.mark.parametrize(
    ("aggregation", "max_len", "expected"),
    [
        ("token-mean", None, 0.82 / 5),
        ("seq-mean-token-mean", None, ((-1 - 1.28 - 0.5) / 3 + (2 + 1.6) / 2) / 2),
        ("dr-grpo", None, 0.82 / (2 * 3)),
        ("dr-grpo", 10, 0.82 / (2 * 10)),
    ],
)
def test_aggregations(aggregation, max_len, expected):
    logp, old, advantages, mask = _inputs()
    loss, stats = policy_loss(logp, old, advantages, mask, aggregation=aggregation, max_len=max_len)
    assert float(loss) == pytest.approx(expected, abs=1e-6)
    assert stats["pg_loss"] == pytest.approx(expected, abs=1e-6)
    assert stats["kl_loss"] == 0.0 and stats["kl"] == 0.0


def test_clip_fractions_and_ratio_mean():
    _, stats = policy_loss(*_inputs())
    assert stats["clip_fraction_low"] == pytest.approx(1 / 5)
    assert stats["clip_fraction_high"] == pytest.approx(1 / 5)
    assert stats["clip_fraction"] == pytest.approx(2 / 5)
    assert stats["ratio_mean"] == pytest.approx((1 + 1.5 + 0.5 + 1 + 0.7) / 5)
    assert all(isinstance(value, float) for value in stats.values())


def test_gradient_is_zero_where_the_clip_is_active():
    logp, old, advantages, mask = _inputs()
    logp.requires_grad_(True)
    loss, _ = policy_loss(logp, old, advantages, mask)
    loss.backward()
    # d/dlogp of -r A is -r A (dr/dlogp = r), divided by the 5 tokens; clipped and padded tokens get 0
    expected = torch.tensor([[-1.0 / 5, 0.0, -0.5 / 5], [2.0 / 5, 0.0, 0.0]])
    torch.testing.assert_close(logp.grad, expected)


def test_ratio_one_gives_the_plain_policy_gradient():
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], requires_grad=True)
    loss, stats = policy_loss(logp, logp.detach(), torch.tensor([0.5, -1.0]), torch.ones(2, 2))
    assert float(loss.detach()) == pytest.approx(-(0.5 + 0.5 - 1.0 - 1.0) / 4)
    loss.backward()
    torch.testing.assert_close(logp.grad, torch.tensor([[-0.5 / 4, -0.5 / 4], [1.0 / 4, 1.0 / 4]]))
    assert stats["ratio_mean"] == 1.0 and stats["clip_fraction"] == 0.0


def test_k3_kl_term():
    # k3 = exp(d) - d - 1 with d = ref - logp: d = ln 2 -> 1 - ln 2; d = -ln 2 -> ln 2 - 0.5; sum 0.5 over 5 tokens
    logp, old, advantages, mask = _inputs()
    diff = torch.tensor([[0.0, LN2, 0.0], [-LN2, 0.0, 7.0]])
    loss, stats = policy_loss(logp, old, advantages, mask, ref_logp=logp + diff, beta=0.1)
    assert stats["kl"] == pytest.approx(0.5 / 5, abs=1e-6)
    assert stats["kl_loss"] == pytest.approx(0.1 * 0.5 / 5, abs=1e-6)
    assert float(loss) == pytest.approx(0.82 / 5 + 0.01, abs=1e-6)
    assert float(loss) == pytest.approx(stats["pg_loss"] + stats["kl_loss"], abs=1e-7)


def test_kl_is_logged_without_entering_the_loss_when_beta_is_zero():
    logp, old, advantages, mask = _inputs()
    diff = torch.tensor([[0.0, LN2, 0.0], [-LN2, 0.0, 0.0]])
    loss, stats = policy_loss(logp, old, advantages, mask, ref_logp=logp + diff)
    assert stats["kl"] == pytest.approx(0.1, abs=1e-6)
    assert float(loss) == pytest.approx(0.82 / 5, abs=1e-6)


def test_kl_aggregates_like_the_loss():
    # seq-mean-token-mean of k3: sequence means (1 - ln 2) / 3 and (ln 2 - 0.5) / 2
    logp, old, advantages, mask = _inputs()
    diff = torch.tensor([[0.0, LN2, 0.0], [-LN2, 0.0, 0.0]])
    _, stats = policy_loss(logp, old, advantages, mask, ref_logp=logp + diff, beta=1.0,
                           aggregation="seq-mean-token-mean")
    assert stats["kl_loss"] == pytest.approx(((1 - LN2) / 3 + (LN2 - 0.5) / 2) / 2, abs=1e-6)


def test_clip_higher_bounds_are_separate():
    logp = torch.log(torch.tensor([[1.25, 0.75]]))
    _, wide = policy_loss(logp, torch.zeros(1, 2), torch.tensor([1.0]), torch.ones(1, 2))
    _, narrow = policy_loss(logp, torch.zeros(1, 2), torch.tensor([1.0]), torch.ones(1, 2), eps_high=0.2)
    assert wide["clip_fraction_high"] == 0.0  # 1.25 < 1.28
    assert narrow["clip_fraction_high"] == 0.5  # 1.25 > 1.2
    assert narrow["pg_loss"] == pytest.approx(-(1.2 + 0.75) / 2)


def test_fully_masked_sequences_do_not_count_as_sequences():
    logp, old, advantages, mask = _inputs()
    logp3 = torch.cat([logp, torch.tensor([[0.3, 0.3, 0.3]])])
    old3 = torch.cat([old, torch.zeros(1, 3)])
    mask3 = torch.cat([mask, torch.zeros(1, 3)])
    adv3 = torch.cat([advantages, torch.tensor([5.0])])
    for aggregation in ("token-mean", "seq-mean-token-mean", "dr-grpo"):
        with_dropped, _ = policy_loss(logp3, old3, adv3, mask3, aggregation=aggregation)
        without, _ = policy_loss(logp, old, advantages, mask, aggregation=aggregation)
        assert float(with_dropped) == pytest.approx(float(without), abs=1e-7)


def test_padding_with_infinite_log_probs_stays_finite():
    logp, old, advantages, mask = _inputs()
    logp = logp.clone()
    logp[1, 2] = -math.inf
    logp.requires_grad_(True)
    ref = logp.detach().clone()
    ref[1, 2] = 0.0
    loss, stats = policy_loss(logp, old, advantages, mask, ref_logp=ref, beta=0.5)
    loss.backward()
    assert math.isfinite(float(loss.detach())) and all(math.isfinite(v) for v in stats.values())
    assert torch.isfinite(logp.grad).all()


def test_empty_mask_gives_a_zero_loss_that_still_backpropagates():
    logp = torch.zeros(2, 3, requires_grad=True)
    for aggregation in ("token-mean", "seq-mean-token-mean", "dr-grpo"):
        loss, stats = policy_loss(logp, logp.detach(), torch.ones(2), torch.zeros(2, 3), aggregation=aggregation)
        loss.backward()
        assert float(loss.detach()) == 0.0 and stats["ratio_mean"] == 0.0
    assert logp.grad.abs().sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aggregation": "sum"}, "'aggregation' parameter of policy_loss must be one of token-mean"),
        ({"beta": 0.1}, "'ref_logp' parameter of policy_loss"),
        ({"beta": -1.0}, "'beta' parameter"),
        ({"eps_low": 1.0}, "'eps_low' parameter"),
        ({"eps_high": -0.1}, "'eps_high' parameter"),
        ({"max_len": 0}, "'max_len' parameter"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(OprdInputError, match=message):
        policy_loss(*_inputs(), **kwargs)


def test_shape_mismatches():
    logp, old, advantages, mask = _inputs()
    with pytest.raises(ValueError, match="mask has shape"):
        policy_loss(logp, old, advantages, mask[:, :2])
    with pytest.raises(ValueError, match="advantages must be"):
        policy_loss(logp, old, advantages.unsqueeze(1), mask)


def test_bfloat16_log_probs_are_computed_in_float32():
    logp, old, advantages, mask = _inputs()
    logp = logp.to(torch.bfloat16).requires_grad_(True)
    loss, _ = policy_loss(logp, old.to(torch.bfloat16), advantages, mask)
    loss.backward()
    assert loss.dtype == torch.float32 and logp.grad.dtype == torch.bfloat16
    assert float(loss.detach()) == pytest.approx(0.82 / 5, abs=2e-3)
