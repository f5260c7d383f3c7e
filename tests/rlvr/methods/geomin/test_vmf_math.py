"""vMF log-density against scipy (and mpmath where scipy's normaliser underflows), kappa fits."""

import mpmath
import numpy as np
import pytest
from scipy.stats import vonmises_fisher

from oprd.rlvr.methods.geomin.prior import fit_vmf, vmf_log_density
from oprd.rlvr.methods.geomin.vmf import log_vmf_normaliser

# scipy's own normaliser needs ive(d/2 - 1, kappa) > 0, so each dimension gets kappas where it is exact.
CASES = [(3, k) for k in (0.05, 0.5, 5.0, 50.0, 500.0)] + [(64, k) for k in (1.0, 10.0, 100.0, 1000.0)] + [
    (576, k) for k in (100.0, 1000.0, 10000.0, 100000.0)]


def _unit(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("d,kappa", CASES)
def test_log_density_matches_scipy(d, kappa):
    rng = np.random.default_rng(d)
    mu = _unit(rng, 1, d)[0]
    near = mu + np.array([[0.02], [0.1], [0.5]]) * rng.standard_normal((3, d))  # points up to the mode
    z = np.vstack([_unit(rng, 5, d), mu, near / np.linalg.norm(near, axis=1, keepdims=True)])
    expected = vonmises_fisher(mu, kappa).logpdf(z)
    got = vmf_log_density(z, mu, kappa)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("d,kappa", [(576, 1e-6), (576, 0.3), (576, 8.0), (576, 40.0), (64, 1e-9), (4096, 600.0)])
def test_normaliser_where_scipy_underflows_matches_mpmath(d, kappa):
    mpmath.mp.dps = 40
    v = mpmath.mpf(d) / 2 - 1
    exact = v * mpmath.log(kappa) - mpmath.mpf(d) / 2 * mpmath.log(2 * mpmath.pi) - mpmath.log(mpmath.besseli(v, kappa))
    assert float(log_vmf_normaliser(d, kappa)) == pytest.approx(float(exact), rel=1e-9)


@pytest.mark.parametrize("d", [3, 64, 576])
def test_kappa_zero_is_the_uniform_density(d):
    area = np.log(2.0) + d / 2 * np.log(np.pi) - float(mpmath.loggamma(d / 2))
    z = _unit(np.random.default_rng(0), 3, d)
    np.testing.assert_allclose(vmf_log_density(z, z[0], 0.0), -area, rtol=1e-12)
    assert float(log_vmf_normaliser(d, 1e-7)) == pytest.approx(-area, rel=1e-10)


@pytest.mark.parametrize("d,kappa", [(3, 5.0), (3, 50.0), (64, 20.0), (64, 200.0)])
def test_fit_recovers_mean_and_kappa_from_scipy_samples(d, kappa):
    rng = np.random.default_rng(7)
    mu = _unit(rng, 1, d)[0]
    z = vonmises_fisher(mu, kappa).rvs(4000, random_state=3)
    mu_hat, kappa_hat = fit_vmf(z)
    assert kappa_hat == pytest.approx(kappa, rel=0.08)  # Banerjee is ~5% high at d=3, kappa=5
    assert float(mu_hat @ mu) > 0.99


def test_fit_of_no_spread_is_finite_and_empty_is_uniform():
    mu, kappa = fit_vmf(np.tile([[0.0, 1.0, 0.0]], (4, 1)))
    assert np.isfinite(kappa) and kappa > 1e6 and mu.tolist() == [0.0, 1.0, 0.0]
    mu, kappa = fit_vmf(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert kappa == 0.0 and not mu.any()
