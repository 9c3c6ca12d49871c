"""Second-opinion checks of the band Monte Carlo: GBM hit rates with drift against the exact first-passage
law written independently with scipy, the eq. 31 alpha <-> log-price mapping, and a brute-force discrete
simulation of alpha_t itself; bootstrap alpha_L against exhaustive enumeration of a three-point pool."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from basisctl.simulate import GBM, simulate_hits
from basisctl.simulate.bootstrap import alpha_lower_bootstrap
from basisctl.simulate.models import log_barriers

A0, AU, AL = 0.2, 0.33, 0.1
SIGMA, MU = 0.7, -0.4
T_H = 10 * 24.0


def _first_passage(b: float, nu: float, sigma: float, t: float) -> float:
    """P(sup_{s<=t} X_s >= b), X = nu s + sigma W, b > 0 (reflection principle with drift)."""
    s = sigma * math.sqrt(t)
    up = stats.norm.cdf((-b + nu * t) / s)
    return float(up + math.exp(2 * nu * b / sigma**2) * stats.norm.cdf((-b - nu * t) / s))


def test_eq31_mapping() -> None:
    bu, bl = log_barriers(A0, [AU], [AL])
    # alpha_t = 1 - (1 - alpha_0) p_t / p_0 reaches alpha_U when p/p0 = (1-aU)/(1-a0) (a fall)
    assert bu[0] == pytest.approx(math.log((1 - AU) / (1 - A0))) and bu[0] < 0
    assert bl[0] == pytest.approx(math.log((1 - AL) / (1 - A0))) and bl[0] > 0
    alpha_at_upper = 1 - (1 - A0) * math.exp(bu[0])
    alpha_at_lower = 1 - (1 - A0) * math.exp(bl[0])
    assert alpha_at_upper == pytest.approx(AU)
    assert alpha_at_lower == pytest.approx(AL)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gbm_hit_rates_with_drift_match_exact_law(backend: str) -> None:
    t = T_H / 8760.0
    nu = MU - 0.5 * SIGMA**2  # log drift
    bu = math.log((1 - AU) / (1 - A0))
    bl = math.log((1 - AL) / (1 - A0))
    exact_u = _first_passage(-bu, -nu, SIGMA, t)  # a fall of ln p to bu = a rise of -ln p to -bu
    exact_l = _first_passage(bl, nu, SIGMA, t)
    assert 0.05 < exact_u < 0.6 and 0.05 < exact_l < 0.6
    r = simulate_hits(GBM(SIGMA, MU), A0, [AU], [AL], horizon_hours=T_H, step_hours=6.0, paths=40_000, seed=11,
                      backend=backend, monitoring="continuous")  # type: ignore[arg-type]
    assert abs(r.upper_hit_rate[0] - exact_u) < 4 * r.upper_hit_rate_se[0]
    assert abs(r.lower_hit_rate[0] - exact_l) < 4 * r.lower_hit_rate_se[0]


def test_discrete_monitoring_matches_brute_force_alpha_paths() -> None:
    """Simulate alpha_t = 1 - (1-a0) p_t/p0 directly on the same grid and count first exits."""
    step, n_paths = 6.0, 40_000
    n = int(T_H / step)
    dt = step / 8760.0
    rng = np.random.default_rng(123)
    logp = np.cumsum((MU - 0.5 * SIGMA**2) * dt + SIGMA * math.sqrt(dt) * rng.standard_normal((n_paths, n)), 1)
    alpha = 1 - (1 - A0) * np.exp(logp)
    bf_u = float(np.mean((alpha >= AU).any(axis=1)))
    bf_l = float(np.mean((alpha <= AL).any(axis=1)))
    r = simulate_hits(GBM(SIGMA, MU), A0, [AU], [AL], horizon_hours=T_H, step_hours=step, paths=n_paths, seed=5,
                      backend="numpy", monitoring="discrete")
    se_u = math.sqrt(bf_u * (1 - bf_u) / n_paths) * math.sqrt(2)
    se_l = math.sqrt(bf_l * (1 - bf_l) / n_paths) * math.sqrt(2)
    assert abs(r.upper_hit_rate[0] - bf_u) < 4 * se_u
    assert abs(r.lower_hit_rate[0] - bf_l) < 4 * se_l


def test_bootstrap_alpha_lower_by_enumeration() -> None:
    """Pool {+2%, -1%, +0.5%}, 3 steps: 27 equally likely paths. eps = 0.2: the infimum alpha sits at the
    running-maximum level m with P(M > m) <= 0.2 < P(M >= m)."""
    pool = [0.02, -0.01, 0.005]
    theta = 0.05
    m = sorted((max(0.0, *np.cumsum(p)) for p in itertools.product(pool, repeat=3)), reverse=True)
    levels = sorted(set(m), reverse=True)
    tail = {lv: sum(x >= lv - 1e-15 for x in m) / 27 for lv in levels}
    b_star = next(lv for lv in levels if tail[lv] > 0.2)
    assert sum(x > b_star + 1e-15 for x in m) / 27 <= 0.2
    expected = 1 - math.exp(-b_star) / (1 + theta)
    res = alpha_lower_bootstrap(np.array(pool), theta, h_liq_hours=3.0, eps_liq=0.2, stress=1.0, demean=False,
                                paths=200_000, seed=3)
    assert res.alpha_lower_boot == pytest.approx(expected, abs=1e-12)
