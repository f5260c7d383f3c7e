"""calibration.png: probe pass rates along the ranking, the smoothed curves and the bucket cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oprd.selectors.pivottrace.triage import PivotTrace


def plot_calibration(path: Path, selector: PivotTrace, *, title: str) -> Path:
    """Probe pass rates along the ranking, their smoothed curve, the taus and the bucket cuts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = selector.n_samples_in_
    cuts = selector.cuts_
    fig, axis = plt.subplots(figsize=(8, 4.5))
    axis.axvspan(0, cuts["annotate_end"], color="#fdd0a2", alpha=0.6, label=f"annotate ({cuts['n_annotate']})")
    axis.axvspan(cuts["discard_start"], n, color="#d9d9d9", alpha=0.8, label=f"discard ({cuts['n_discard']})")
    if selector.probe_pass_rates_ is not None:
        axis.scatter(selector.probe_positions_, selector.probe_pass_rates_, s=14, c="#3182bd", label="probe pass rate")
    if selector.calibration_ is not None:
        axis.plot(np.arange(n), selector.calibration_, c="#08519c", lw=2, label="smoothed pass rate")
    if selector.accuracy_curve_ is not None:
        axis.plot(np.arange(n), selector.accuracy_curve_, c="#54278f", lw=1.5, ls="--",
                  label="smoothed majority accuracy")
    if selector.calib == "threshold":
        axis.axhline(selector.tau_lo, c="#e6550d", ls=":", lw=1, label=f"tau_lo = {selector.tau_lo}")
    if selector.calib == "pseudo_label":
        axis.axhline(selector.pseudo_label_threshold, c="#54278f", ls=":", lw=1,
                     label=f"majority accuracy threshold = {selector.pseudo_label_threshold}")
    if selector.calib != "fractions":
        axis.axhline(selector.tau_hi, c="#636363", ls=":", lw=1, label=f"tau_hi = {selector.tau_hi}")
    axis.set(xlim=(0, n), ylim=(-0.03, 1.03), xlabel="rank by uncertainty (0 = most uncertain)",
             ylabel="pass rate", title=title)
    axis.legend(loc="best", fontsize=8)
    fig.tight_layout()
    from oprd.data.atomic import atomic_savefig

    atomic_savefig(path, fig, dpi=110)
    plt.close(fig)
    return path
