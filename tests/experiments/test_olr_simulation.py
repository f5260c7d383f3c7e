"""The no-model OLR simulation (experiments/olr_simulation.py): at rho = 0.5 inactive noise OLR
recovers at least 90% of the noisy labels and replaces under 5% of the clean ones."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from oprd.rlvr.methods.olr.refiner import OnlineLabelRefiner

_SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "olr_simulation.py"
_spec = importlib.util.spec_from_file_location("olr_simulation", _SCRIPT)
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module  # dataclasses look their module up while the file runs
_spec.loader.exec_module(_module)
simulate = _module.simulate


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
