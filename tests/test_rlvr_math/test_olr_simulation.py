"""The no-model OLR simulation meets the issue's bar at rho = 0.5 inactive noise."""

from __future__ import annotations

from oprd.rlvr.methods.olr.refiner import OnlineLabelRefiner
from oprd.rlvr.olr_simulation import simulate


def test_olr_recovers_noisy_labels_without_replacing_clean_ones():
    result = simulate(400, rho=0.5, epochs=10, k=8, seed=0)
    assert (result.n_noisy, result.n_clean) == (200, 200)
    assert result.recovered_share >= 0.90
    assert result.replaced_share < 0.05
    assert result.recovered_by_epoch[:5] == [0.0] * 5  # nothing before the start epoch (4, exclusive)
    assert result.recovered_by_epoch[-1] > result.recovered_by_epoch[5]


def test_without_refinement_nothing_is_recovered():
    never = OnlineLabelRefiner(start_epoch=99)
    result = simulate(40, rho=0.5, epochs=3, seed=1, refiner=never)
    assert result.noisy_recovered == 0 and result.clean_replaced == 0
