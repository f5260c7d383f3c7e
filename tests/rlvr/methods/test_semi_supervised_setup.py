"""Self-rewards, the two-pool sampler, the label-fraction simulation and bad input."""

import json
import math

from dataclasses import fields

import pytest
import torch

from oprd.errors import OprdInputError
from oprd.generation.base import Rollout
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.dataset import TrainData, hide_labels
from oprd.rlvr.methods import default_hooks, method_options, parse_option_flags
from oprd.rlvr.methods.self_rewards import SelfReward, token_confidence
from oprd.rlvr.mixed_sampler import MixedSampler
from tests.helpers.batches import make_batch


def test_self_certainty_and_entropy_match_the_full_distribution(tiny):
    model, tokenizer = tiny
    rollouts = [Rollout(0, s, [5, 6, 7], response, "", "stop") for s, response in enumerate([[8, 9, 10], [11], []])]
    certainty, negative_entropy = token_confidence(model, rollouts, tokenizer.pad_token_id, temperature=0.7,
                                                   micro_batch_size=2)
    for rollout, sc, ne in zip(rollouts, certainty, negative_entropy):
        if not rollout.response_ids:
            assert sc == 0.0 and ne == 0.0
            continue
        ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, len(rollout.prompt_ids) - 1 : -1].double() / 0.7
        logp = torch.log_softmax(logits, dim=-1)
        kl = (-math.log(logp.shape[-1]) - logp.mean(-1)).mean()
        entropy = -(logp.exp() * logp).sum(-1).mean()
        assert sc == pytest.approx(float(kl), rel=1e-4) and ne == pytest.approx(-float(entropy), rel=1e-4)


def test_self_reward_replaces_unlabeled_rewards_and_trains_them(tiny):
    model, tokenizer = tiny
    batch = make_batch([["a", "b"], ["c", "d"]], ["1", None])
    batch.rewards = torch.tensor([1.0, 0.0, 0.0, 0.0])
    batch.weights = [1.0, 0.0]  # what the trainer gives an unlabeled prompt without a label
    SelfReward("entropy").after_rewards(batch, model, tokenizer.pad_token_id)
    assert batch.rewards[:2].tolist() == [1.0, 0.0] and batch.weights == [1.0, 1.0]
    assert torch.all(batch.rewards[2:] < 0) and "unlabeled/entropy_mean" in batch.metrics


def test_mixed_sampler_meets_the_ratio_deterministically_and_resumes():
    answers = ["1", None, None, "2", None, None, None, None, "3", None]
    sampler = MixedSampler.from_answers(answers, 0.25, seed=3)
    picks = [sampler.take(6) for _ in range(4)]
    labeled = {0, 3, 8}
    counts = [sum(row in labeled for row, _ in batch) for batch in picks]
    assert sum(counts) == 6 and counts == [2, 1, 2, 1]  # 6k * 0.25 rounded half up, minus those before
    again = MixedSampler.from_answers(answers, 0.25, seed=3)
    assert [again.take(6) for _ in range(4)] == picks
    resumed = MixedSampler.from_answers(answers, 0.25, seed=3)
    resumed.load_state_dict(json.loads(json.dumps(sampler.state_dict())))
    assert resumed.take(6) == sampler.take(6)
    with pytest.raises(OprdInputError, match="every row is labeled"):
        MixedSampler.from_answers(["1", "2"], 0.5)


def _data(n=6, answer=lambda i: str(i)):
    rows = [{"id": f"q{i}", "prompt": "p", "meta": {"gt": answer(i), "level": i}} for i in range(n)]
    return TrainData([r["id"] for r in rows], ["p"] * n, [answer(i) for i in range(n)], rows, "pool.jsonl", "0" * 64)


def test_label_fraction_hides_answers_but_keeps_them_for_metrics():
    data = _data()
    hidden = hide_labels(data, 0.5, seed=1, answer_key="meta.gt")
    assert hidden.n_labeled == 3 and data.n_labeled == 6
    for i in range(6):
        row = hidden.rows[i]
        if hidden.answers[i] is None:
            assert row["hidden_answer"] == str(i) and "gt" not in row["meta"] and row["meta"]["level"] == i
        else:
            assert "hidden_answer" not in row and row["meta"]["gt"] == str(i)
    assert hide_labels(data, 0.5, seed=1, answer_key="meta.gt").answers == hidden.answers
    assert hide_labels(data, 0.01).n_labeled == 1 and hide_labels(data, 1.0).answers == data.answers


@pytest.mark.parametrize("value", [0.0, 1.5, -0.1])
def test_label_fraction_outside_zero_one_is_refused(value):
    with pytest.raises(OprdInputError, match="label_fraction"):
        GRPOConfig(data="x.jsonl", label_fraction=value).validate()


def test_unknown_reward_name_lists_the_menu():
    with pytest.raises(OprdInputError) as error:
        GRPOConfig(data="x.jsonl", unlabeled_reward="majority").validate()
    assert "geomin, ttrl, trapo, self-certainty, entropy, none" in str(error.value)


def test_geomin_without_labeled_rows_says_what_warm_up_needs():
    data = _data(answer=lambda i: None)
    config = GRPOConfig(data="x.jsonl", unlabeled_reward="geomin", group_size=8)
    with pytest.raises(OprdInputError, match=r"has none \(0 of 6 rows.*needs 64 correct and 64 incorrect"):
        default_hooks(config, data)


def test_menu_builds_the_right_hooks_and_checks_options():
    data = hide_labels(_data(), 0.5)
    names = {method: [c.name for c in default_hooks(GRPOConfig(data="x", unlabeled_reward=method), data)]
             for method in ("geomin", "trapo", "entropy", "ttrl")}
    assert names == {"geomin": ["geomin", "pseudo_label_audit"], "trapo": ["trapo", "pseudo_label_audit"],
                     "entropy": ["self_reward", "pseudo_label_audit"], "ttrl": ["ttrl", "pseudo_label_audit"]}
    assert method_options(GRPOConfig(data="x", unlabeled_reward="geomin", geomin_decay=0.8)).decay == 0.8
    assert method_options(GRPOConfig(data="x", unlabeled_reward="ttrl")) is None
    with pytest.raises(OprdInputError, match="unknown geomin option"):
        GRPOConfig(data="x", unlabeled_reward="geomin", unlabeled_options={"decai": 0.8}).validate()
    with pytest.raises(OprdInputError, match="takes no options"):
        GRPOConfig(data="x", unlabeled_reward="ttrl", unlabeled_options={"decay": 0.8}).validate()
    assert parse_option_flags(["decay=0.8", "boundary-only=false", "stats=fifo"]) == {
        "decay": 0.8, "boundary_only": False, "stats": "fifo"}
    with pytest.raises(OprdInputError, match="KEY=VALUE"):
        parse_option_flags(["decay"])


def test_method_knobs_are_flat_keys_mirroring_each_options_dataclass():
    from oprd.rlvr.methods.geomin.prior import GeoMinOptions
    from oprd.rlvr.methods.trapo import TraPOOptions

    config_defaults = {f.name: f.default for f in fields(GRPOConfig)}
    for cls, prefix in ((GeoMinOptions, "geomin"), (TraPOOptions, "trapo")):
        flat = {key[len(prefix) + 1:]: value for key, value in config_defaults.items() if key.startswith(prefix + "_")}
        assert flat == {f.name: f.default for f in fields(cls)}, prefix  # same knobs, same defaults
    # The older mapping lands on the flat keys, so a saved config has one shape.
    folded = GRPOConfig(data="x", unlabeled_reward="trapo", unlabeled_options={"top_fraction": 0.3}).validate()
    assert folded.trapo_top_fraction == 0.3 and folded.unlabeled_options == {}
    assert method_options(folded).top_fraction == 0.3
    with pytest.raises(OprdInputError, match="given twice"):
        GRPOConfig(data="x", unlabeled_reward="geomin", geomin_decay=0.7, unlabeled_options={"decay": 0.8}).validate()
    with pytest.raises(OprdInputError, match="geomin_decay set, but unlabeled_reward is 'trapo'"):
        GRPOConfig(data="x", unlabeled_reward="trapo", geomin_decay=0.7).validate()
    with pytest.raises(OprdInputError, match="decay"):
        GRPOConfig(data="x", unlabeled_reward="geomin", geomin_decay=0.0).validate()
