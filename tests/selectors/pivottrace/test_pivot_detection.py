"""Step segmentation, the change-point pivot rule, density/count and the lexical baseline."""

import numpy as np
import pytest

from oprd.errors import OprdInputError
from oprd.selectors.pivottrace.pivots import (
    PivotConfig,
    average_over_trajectories,
    detect_pivots,
    lexical_score,
    segment_steps,
    step_signals,
    trace_pivots,
)


def _trace(n_steps=20, step_len=20, spikes=(), late_spikes=()):
    """A per-token signal whose baseline alternates 0.10 / 0.11 between steps; ``spikes`` raise a
    step's first 16 tokens, ``late_spikes`` only the tokens after them. Each step ends with a line break."""
    signal = np.repeat(0.10 + 0.01 * (np.arange(n_steps) % 2), step_len)
    for k in spikes:
        signal[k * step_len : k * step_len + 16] += 0.2
    for k in late_spikes:
        signal[k * step_len + 16 : (k + 1) * step_len] += 0.5
    breaks = np.zeros(n_steps * step_len, dtype=bool)
    breaks[step_len - 1 :: step_len] = True
    return signal, breaks


def test_synthetic_attention_jumps_are_the_pivots():
    signal, breaks = _trace(spikes=(10, 15))
    result = trace_pivots(signal, breaks)
    assert result.n_steps == 20
    assert np.flatnonzero(result.pivots).tolist() == [10, 15]
    assert result.score("density") == pytest.approx(2 / 20)
    assert result.score("count") == 2.0


def test_jumps_without_enough_history_or_outside_the_step_head_are_not_pivots():
    signal, breaks = _trace(spikes=(3,), late_spikes=(12,))
    assert trace_pivots(signal, breaks).n_pivots == 0
    signal, breaks = _trace(spikes=(5,))
    assert np.flatnonzero(trace_pivots(signal, breaks).pivots).tolist() == [5]


def test_change_point_rule_needs_more_than_half_a_window_of_history():
    base = np.array([0.1, 0.12] * 10)
    for k, expected in ((4, []), (5, [5]), (13, [13])):
        r = base.copy()
        r[k] = 0.5
        assert np.flatnonzero(detect_pivots(r, window=8, kappa=2.0)).tolist() == expected
    shifted = np.r_[np.full(6, 0.1), np.full(30, 0.5)]
    flags = np.flatnonzero(detect_pivots(shifted, window=8, kappa=2.0))
    assert flags[0] == 6 and flags[-1] < 14  # a lasting level shift becomes the new normal
    assert not detect_pivots(np.full(20, 0.3)).any()


def test_segmentation_merges_short_lines_forward_and_a_short_tail_back():
    breaks = np.zeros(40, dtype=bool)
    breaks[[9, 12, 30, 35]] = True
    assert segment_steps(breaks, 8) == [(0, 10), (10, 31), (31, 40)]
    breaks = np.zeros(34, dtype=bool)
    breaks[[9, 30]] = True
    assert segment_steps(breaks, 8) == [(0, 10), (10, 34)]
    assert segment_steps(np.zeros(5, dtype=bool), 8) == [(0, 5)]
    assert segment_steps([], 8) == []
    assert trace_pivots(np.zeros(0), []).score("density") == 0.0


def test_step_signal_is_the_mean_over_the_first_tokens():
    signal = np.arange(40, dtype=float)
    assert step_signals(signal, [(0, 30), (30, 40)], head_tokens=16).tolist() == [7.5, 34.5]


def test_lexical_baseline_counts_whole_word_markers_per_step():
    steps = ["Wait, let me check the sum.", "So 2 + 2 = 4.", "But actually, hmm... await the butter."]
    assert lexical_score(steps) == pytest.approx(5 / 3)
    assert lexical_score([]) == 0.0
    assert lexical_score(["LET ME\nCHECK again"]) == 1.0


def test_trajectory_averaging_and_config_checks():
    assert average_over_trajectories([0.1, 0.3, 0.0, 1.0], 2).tolist() == pytest.approx([0.2, 0.5])
    with pytest.raises(ValueError):
        average_over_trajectories([1.0, 2.0, 3.0], 2)
    with pytest.raises(OprdInputError, match="'kappa' parameter of PivotConfig"):
        PivotConfig(kappa=-1).validate()
    with pytest.raises(OprdInputError, match="'score' parameter"):
        trace_pivots(*_trace()).score("entropy")
