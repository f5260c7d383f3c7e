"""``selection.png``: where the chosen items sit in feature space and along the utility axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_selection(path: Path, phi: np.ndarray, utility: np.ndarray, selected: np.ndarray, *, title: str) -> Path:
    """Left: a 2-D PCA of phi with the selected points marked. Right: utility histogram with the
    selected items' utilities marked as a rug."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centered = phi - phi.mean(axis=0, keepdims=True)
    _, _, components = np.linalg.svd(centered[: min(len(centered), 20000)], full_matrices=False)
    xy = centered @ components[:2].T if len(components) >= 2 else np.c_[centered[:, :1], np.zeros(len(centered))]
    mask = np.zeros(len(phi), dtype=bool)
    mask[selected] = True
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.scatter(xy[~mask, 0], xy[~mask, 1], s=8, c="#b0b0b0", label="pool")
    left.scatter(xy[mask, 0], xy[mask, 1], s=28, c="#d62728", edgecolors="black", linewidths=0.4, label="selected")
    left.set(title="PCA of phi = [s; e - s] / norm", xlabel="PC 1", ylabel="PC 2")
    left.legend(loc="best", fontsize=8)
    right.hist(utility, bins=min(40, max(5, len(utility) // 5)), color="#9ecae1", edgecolor="white", label="pool")
    low, high = right.get_ylim()
    right.vlines(utility[mask], 0, high * 0.08, colors="#d62728", linewidth=1.0, label="selected")
    right.set(title="utility q = log(1 + ||e - s||)", xlabel="q", ylabel="count")
    right.legend(loc="best", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    from oprd.data.atomic import atomic_savefig

    atomic_savefig(path, fig, dpi=110)
    plt.close(fig)
    return path
