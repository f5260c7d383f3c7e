"""The unlabeled-reward menu on hand-computed groups: TTRL, TraPO, GeoMin's component, the audit."""


import numpy as np
import pytest
import torch

from oprd.rlvr.methods.geomin.hook import GeoMinReliability
from oprd.rlvr.methods.geomin.prior import GeoMinOptions
from oprd.rlvr.methods.pseudo_labels import PseudoLabelAudit
from oprd.rlvr.methods.trapo import (
    TrajectorySelection,
    TraPOOptions,
    select_reliable,
    trajectory_similarity,
)
from oprd.rlvr.methods.ttrl import MajorityVoteLabels
from oprd.rlvr.rewards import accuracy_reward
from tests.helpers.batches import boxed, make_batch


def test_ttrl_labels_and_rewards_on_hand_computed_groups():
    batch = make_batch([boxed(4, 4, 5, 4), boxed(1, 2, 1, 2), boxed(7, 7, 7, 7)], [None, None, "3"])
    MajorityVoteLabels().after_rollouts(batch)
    assert batch.labels == ["4", None, "3"]
    texts = [r.text for r in batch.rollouts]
    answers = [label for label in batch.labels for _ in range(4)]
    assert accuracy_reward(None, texts, answer=answers) == [1, 1, 0, 1] + [0] * 4 + [0] * 4


def test_trajectory_similarity_by_hand():
    bank = [[0.1, 0.2, 0.3, 0.4], [0.9, 0.5, 0.1], [0.5]]  # the last is too short to count
    assert trajectory_similarity([0.2, 0.4, 0.6], bank) == pytest.approx(0.0)  # +1 and -1
    assert trajectory_similarity([0.0, 0.5, 1.0], bank[:1]) == pytest.approx(1.0)
    assert trajectory_similarity([0.3, 0.3, 0.3], bank[:1]) == 0.0  # constant: no shape
    assert np.isnan(trajectory_similarity([0.3], bank))
    # cut to the shortest bank length (2): the last two visits only
    assert trajectory_similarity([0.9, 0.1, 0.8], [[0.0, 1.0]]) == pytest.approx(1.0)


def test_select_reliable_keeps_top_fraction_or_threshold():
    scores = [0.1, 0.35, float("nan"), 0.45, 0.2, 0.3, 0.0, -0.5, 0.15, 0.05, 0.38]
    keep = select_reliable(scores, top_fraction=0.1, threshold=0.4)
    assert keep.tolist() == [False, False, False, True, False, False, False, False, False, False, False]
    keep = select_reliable(scores, top_fraction=0.2, threshold=0.4)  # ceil(0.2 * 10) = 2
    assert np.flatnonzero(keep).tolist() == [3, 10]


def test_trapo_warm_up_then_keeps_the_prompt_that_learns_like_labeled_ones():
    trapo = TrajectorySelection(TraPOOptions(warmup_epochs=1, top_fraction=0.0, threshold=0.4))
    labeled_visits = [boxed(3, 9, 9, 9), boxed(3, 3, 9, 9), boxed(3, 3, 3, 9)]  # pass rate rises
    rising = [boxed(5, 5, 1, 2), boxed(5, 5, 5, 2), boxed(5, 5, 5, 5)]  # majority share rises
    falling = [boxed(6, 6, 6, 6), boxed(6, 6, 6, 1), boxed(6, 6, 1, 2)]
    for epoch in range(3):
        batch = make_batch([labeled_visits[epoch], rising[epoch], falling[epoch]], ["3", None, None],
                           ids=["lab", "up", "down"], epochs=[epoch] * 3)
        trapo.after_rollouts(batch)
        assert batch.labels[1:] == ["5", "6"]
        trapo.after_advantages(batch)
        if epoch == 0:
            assert batch.weights == [1.0, 0.0, 0.0] and batch.metrics["trapo/in_warmup"] == 2
    assert batch.weights == [1.0, 1.0, 0.0]
    assert trapo.labeled["lab"] == [0.25, 0.5, 0.75]
    assert trapo.unlabeled["up"] == [0.5, 0.75, 1.0]
    restored = TrajectorySelection()
    restored.load_state_dict(trapo.state_dict())
    assert restored.state_dict() == trapo.state_dict()


def _geomin_batch(rng, step):
    """Two labeled prompts (mixed) and two unlabeled ones; layer 2 features say correct / incorrect."""
    good, bad = "7", "8"
    groups = [boxed(good, good, bad, bad, good, bad, good, bad), boxed(bad, good, bad, good, bad, bad, good, good),
              boxed(4, 4, 4, 4, 4, 4, 1, 2), boxed(6, 6, 6, 6, 6, 6, 3, 5)]
    batch = make_batch(groups, [good, good, None, None], positions=[0, 1, 2, 3], ids=["a", "b", "c", "d"])
    looks_correct = np.array([t.endswith(f"{{{good}}}") for t in (r.text for r in batch.rollouts[:16])]
                             + [True] * 6 + [False] * 2 + [False] * 6 + [True] * 2)
    hidden = rng.standard_normal((32, 16))
    hidden[:, 0] += np.where(looks_correct, 2.0, -2.0)
    batch.hidden = {2: torch.tensor(hidden, dtype=torch.float32)}
    return batch


def test_geomin_component_warms_up_then_weights_by_the_prior():
    component = GeoMinReliability(GeoMinOptions(warmup_per_class=24))
    assert component.hidden_layers(2) == [2]
    rng = np.random.default_rng(0)
    for step in range(4):
        batch = _geomin_batch(rng, step)
        component.after_rollouts(batch)
        assert batch.labels == ["7", "7", "4", "6"]
        component.after_advantages(batch)
        m = batch.metrics
        if step < 2:  # 8 correct + 8 incorrect labeled rollouts per step
            assert m["geomin/warmup"] == 1.0 and batch.weights[2:] == [0.0, 0.0] and m["geomin/dropped"] == 2
    assert m["geomin/warmup"] == 0.0 and m["geomin/layer_1"] == 2.0 and m["geomin/auroc_1"] > 0.9
    assert batch.weights[:2] == [1.0, 1.0]
    assert batch.weights[2] == 1.0 and batch.weights[3] == 0.0  # majority looks right vs looks wrong
    assert (m["geomin/kept"], m["geomin/downweighted"], m["geomin/dropped"]) == (1.0, 0.0, 1.0)
    assert m["geomin/mean_weight"] == 0.5
    fresh = GeoMinReliability(GeoMinOptions(warmup_per_class=24))
    fresh.load_state_dict(component.state_dict())  # before hidden_layers, as the trainer resumes
    fresh.hidden_layers(2)
    assert fresh.state_dict() == component.state_dict()


def test_audit_splits_pseudo_label_accuracy_by_kept_and_dropped():
    batch = make_batch([boxed(4, 4, 5, 4), boxed(6, 6, 6, 1), boxed(2, 2, 2, 2), boxed(1, 2, 1, 2)],
                       [None, None, None, None])
    MajorityVoteLabels().after_rollouts(batch)
    batch.weights = [1.0, 0.5, 0.0, 0.0]
    rows = [{"hidden_answer": "4"}, {"hidden_answer": "7"}, {"hidden_answer": "2"}, {"hidden_answer": "1"}]
    PseudoLabelAudit(rows).after_advantages(batch)
    m = batch.metrics
    assert m["unlabeled/pseudo_acc_kept"] == 0.5 and m["unlabeled/pseudo_acc_dropped"] == 1.0
    assert m["unlabeled/pseudo_acc"] == pytest.approx(2 / 3) and m["unlabeled/audited_prompts"] == 3
