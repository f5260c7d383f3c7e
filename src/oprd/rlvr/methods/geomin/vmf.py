"""von Mises-Fisher math on the unit sphere: a stable log-normaliser, the log-density and a fit.

``log f(z; mu, kappa) = kappa mu.z + log C_d(kappa)`` with
``log C_d(kappa) = (d/2 - 1) log kappa - (d/2) log 2pi - log I_{d/2-1}(kappa)``.

The Bessel term is the numerically hard part: ``I_v`` overflows for large kappa and underflows
for large order v = d/2 - 1 (d = 576 gives v = 287). Three regions keep it accurate everywhere:

* small kappa (``kappa^2 < 0.4 (v + 1)``): the power series of ``I_v``, written so that the
  ``(d/2 - 1) log kappa`` terms cancel analytically; kappa = 0 gives the uniform density exactly;
* order v < 50: ``log I_v(k) = log ive(v, k) + k`` (scipy's exponentially scaled Bessel);
* order v >= 50: the uniform asymptotic (Debye) expansion of ``I_v(v x)`` with four correction
  terms (Abramowitz & Stegun 9.3.7-9.3.10), relative error below 1e-10 for v >= 50.

The fit is the Banerjee et al. (2005) approximation ``kappa = rbar (d - rbar^2) / (1 - rbar^2)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, ive

_LOG_2PI = math.log(2.0 * math.pi)
_SERIES_RATIO = 0.4
_DEBYE_MIN_ORDER = 50.0
_SERIES_TERMS = 30
_MAX_RBAR = 1.0 - 1e-9


def log_vmf_normaliser(d: int, kappa) -> np.ndarray:
    """``log C_d(kappa)`` for dimension ``d >= 2`` and ``kappa >= 0`` (scalar or array)."""
    if d < 2:
        raise ValueError(f"the von Mises-Fisher distribution needs d >= 2; got d={d}")
    k = np.asarray(kappa, dtype=np.float64)
    if np.any(k < 0) or not np.all(np.isfinite(k)):
        raise ValueError("kappa must be finite and >= 0")
    v = d / 2.0 - 1.0
    flat = np.atleast_1d(k).ravel()
    out = np.empty_like(flat)
    small = flat * flat < _SERIES_RATIO * (v + 1.0)
    out[small] = v * math.log(2.0) + gammaln(v + 1.0) - (d / 2.0) * _LOG_2PI - _log_series(v, flat[small])
    large = ~small
    out[large] = v * np.log(flat[large]) - (d / 2.0) * _LOG_2PI - log_bessel_iv(v, flat[large])
    return out.reshape(k.shape) if k.ndim else out[0]


def log_bessel_iv(v: float, k) -> np.ndarray:
    """``log I_v(k)`` for ``v >= 0`` and ``k > 0`` without overflow or underflow."""
    x = np.asarray(k, dtype=np.float64)
    if v < _DEBYE_MIN_ORDER:
        with np.errstate(divide="ignore"):
            scaled = np.log(ive(v, x)) + x
        bad = ~np.isfinite(scaled)
        if np.any(bad):  # ive underflows only for tiny k at moderate v: the series is exact there
            scaled = np.where(bad, v * np.log(np.where(bad, x, 1.0) / 2.0) - gammaln(v + 1.0)
                              + _log_series(v, np.where(bad, x, 0.0)), scaled)
        return scaled
    return _log_iv_debye(v, x)


def _log_series(v: float, k: np.ndarray) -> np.ndarray:
    """``log sum_m (k^2/4)^m / (m! (v+1)_m)``: ``I_v(k) = (k/2)^v / Gamma(v+1)`` times this sum."""
    quarter = np.asarray(k, dtype=np.float64) ** 2 / 4.0
    term = np.ones_like(quarter)
    total = np.ones_like(quarter)
    for m in range(1, _SERIES_TERMS + 1):
        term = term * quarter / (m * (v + m))
        total = total + term
    return np.log(total)


def _log_iv_debye(v: float, k: np.ndarray) -> np.ndarray:
    """Uniform asymptotic expansion of ``log I_v(v x)``, x = k / v."""
    x = k / v
    root = np.sqrt(1.0 + x * x)
    t = 1.0 / root
    eta = root + np.log(x / (1.0 + root))
    t2 = t * t
    u1 = t * (3.0 - 5.0 * t2) / 24.0
    u2 = t2 * (81.0 - 462.0 * t2 + 385.0 * t2 * t2) / 1152.0
    u3 = t * t2 * (30375.0 - 369603.0 * t2 + 765765.0 * t2**2 - 425425.0 * t2**3) / 414720.0
    u4 = t2 * t2 * (4465125.0 - 94121676.0 * t2 + 349922430.0 * t2**2 - 446185740.0 * t2**3
                    + 185910725.0 * t2**4) / 39813120.0
    correction = u1 / v + u2 / v**2 + u3 / v**3 + u4 / v**4
    return -0.5 * np.log(2.0 * math.pi * v) + v * eta - 0.5 * np.log(root) + np.log1p(correction)


def vmf_log_density(z, mu, kappa: float) -> np.ndarray:
    """Log-density of unit vectors ``z`` (n, d) under vMF(mu, kappa); ``kappa = 0`` is uniform."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    mu = np.asarray(mu, dtype=np.float64)
    return float(kappa) * (z @ mu) + float(log_vmf_normaliser(z.shape[1], float(kappa)))


def kappa_from_resultant(rbar: float, d: int) -> float:
    """Banerjee et al. (2005): ``kappa ~ rbar (d - rbar^2) / (1 - rbar^2)``; rbar is clipped below 1."""
    r = min(max(float(rbar), 0.0), _MAX_RBAR)
    return r * (d - r * r) / (1.0 - r * r)


def vmf_from_stats(resultant: np.ndarray, count: float) -> tuple[np.ndarray, float]:
    """``(mu, kappa)`` from sufficient statistics: the resultant ``S = sum z`` and the (weighted) count.

    With no data (count 0 or S = 0) the mean direction is the zero vector and kappa 0 (uniform).
    """
    resultant = np.asarray(resultant, dtype=np.float64)
    norm = float(np.linalg.norm(resultant))
    if count <= 0 or norm == 0.0:
        return np.zeros_like(resultant), 0.0
    return resultant / norm, kappa_from_resultant(norm / count, resultant.shape[0])


def fit_vmf(z) -> tuple[np.ndarray, float]:
    """Fit ``(mu, kappa)`` to unit vectors ``z`` of shape (n, d) (Banerjee approximation)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    return vmf_from_stats(z.sum(axis=0), float(z.shape[0]))


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
