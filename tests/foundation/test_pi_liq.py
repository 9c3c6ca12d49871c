"""Pi_liq against an exact Monte Carlo of the running maximum and against numerical integration of the
first-passage-time density: two references that share no code with the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from basisctl.errors import ModelDomainError
from basisctl.model.static import alpha_liq, barrier_z, log_barrier, pi_liq


def mc_running_max_hit(b: float, sigma: float, h: float, mu: float, n: int, seed: int) -> tuple[float, float]:
    """Exact sampling of max_{t<=h} X_t for X = (mu - sigma^2/2) t + sigma W_t: draw X_h, then the maximum of
    the Brownian bridge from 0 to X_h: M = (X_h + sqrt(X_h^2 - 2 sigma^2 h ln U)) / 2."""
    rng = np.random.default_rng(seed)
    m = mu - 0.5 * sigma**2
    x = m * h + sigma * np.sqrt(h) * rng.standard_normal(n)
    u = rng.random(n)
    mx = 0.5 * (x + np.sqrt(x * x - 2.0 * sigma**2 * h * np.log(u)))
    p = float(np.mean(mx >= b))
    return p, float(np.sqrt(max(p * (1 - p), 1e-300) / n))


def first_passage_integral(b: float, sigma: float, h: float, mu: float) -> float:
    """Integrate the inverse-Gaussian first-passage density of level b > 0 over [0, h]."""
    m = mu - 0.5 * sigma**2

    def dens(t: float) -> float:
        return b / (sigma * np.sqrt(2 * np.pi * t**3)) * np.exp(-((b - m * t) ** 2) / (2 * sigma**2 * t))

    val, _ = integrate.quad(dens, 0.0, h, epsabs=1e-14, epsrel=1e-11, limit=200)
    return float(val)


CASES = [
    # alpha, sigma (stressed), theta, horizon [yr], mu
    (0.12, 0.72, 0.008, 1 / 365, 0.0),
    (0.05, 0.60, 0.0125, 1 / 365, 0.0),
    (0.20, 1.20, 0.05, 1 / 365, 0.3),
    (0.10, 0.90, 0.02, 3 / 8760, -0.5),
    (0.30, 0.80, 0.0125, 30 / 365, 0.1),
]


@pytest.mark.parametrize(("alpha", "sigma", "theta", "h", "mu"), CASES)
def test_pi_liq_matches_first_passage_density_integral(alpha, sigma, theta, h, mu):
    b = float(log_barrier(alpha, theta))
    expected = first_passage_integral(b, sigma, h, mu)
    got = float(pi_liq(alpha, sigma, theta, h, mu))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-15)


@pytest.mark.parametrize(("alpha", "sigma", "theta", "h", "mu"), CASES)
def test_pi_liq_matches_exact_monte_carlo(alpha, sigma, theta, h, mu):
    b = float(log_barrier(alpha, theta))
    p_mc, se = mc_running_max_hit(b, sigma, h, mu, n=400_000, seed=7)
    got = float(pi_liq(alpha, sigma, theta, h, mu))
    assert abs(got - p_mc) <= 4 * se + 1e-6


def test_barrier_matches_eq16_and_liquidation_threshold():
    # eq. (15): liquidation iff p/p0 >= 1/((1+theta)(1-alpha)); at alpha_liq the barrier is exactly 1
    th = 0.0125
    a_liq = float(alpha_liq(th))
    assert a_liq == pytest.approx(th / (1 + th))
    assert float(barrier_z(a_liq, th)) == pytest.approx(1.0)
    # hand check: alpha 0.2, theta 0.05 -> z = 1/(1.05*0.8)
    assert float(barrier_z(0.2, 0.05)) == pytest.approx(1 / 0.84)


def test_pi_liq_is_one_inside_the_liquidation_region_and_decreasing_above():
    th, sig, h = 0.02, 0.8, 1 / 365
    a = np.linspace(0.001, 0.6, 500)
    p = pi_liq(a, sig, th, h)
    assert np.all(p[a <= th / (1 + th)] == 1.0)
    above = p[a > th / (1 + th)]
    assert np.all(np.diff(above) <= 0)
    assert above[-1] < 1e-12


def test_driftless_limit_is_twice_the_normal_tail():
    # for sigma^2 h -> 0 the log drift -sigma^2/2 vanishes and Pi -> 2 Phi(-b / (sigma sqrt h))
    from scipy.stats import norm

    b, sig, h = 0.05, 0.2, 1e-4
    a = 1 - np.exp(-b) / 1.01
    assert float(pi_liq(a, sig, 0.01, h)) == pytest.approx(2 * norm.cdf(-b / (sig * np.sqrt(h))), rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"alpha": 0.1, "sigma": 0.0, "theta_f": 0.01, "horizon_years": 1 / 365}, "sigma"),
        ({"alpha": 0.1, "sigma": -1.0, "theta_f": 0.01, "horizon_years": 1 / 365}, "sigma"),
        ({"alpha": 1.0, "sigma": 0.5, "theta_f": 0.01, "horizon_years": 1 / 365}, "alpha"),
        ({"alpha": 0.1, "sigma": 0.5, "theta_f": 0.0, "horizon_years": 1 / 365}, "theta_f"),
        ({"alpha": 0.1, "sigma": np.nan, "theta_f": 0.01, "horizon_years": 1 / 365}, "sigma"),
        ({"alpha": 0.1, "sigma": 0.5, "theta_f": 0.01, "horizon_years": 0.0}, "horizon"),
    ],
)
def test_domain_errors_are_clear(kwargs, msg):
    with pytest.raises(ModelDomainError, match=msg):
        pi_liq(**kwargs)
