"""Bootstrap alpha_L^boot (eq. 40) on pools with exactly known path laws, and the closed-form boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from basisctl.errors import ModelDomainError
from basisctl.model.bands import (
    ALPHA_UPPER_CAP,
    RebalanceCost,
    alpha_lower,
    alpha_upper,
    upper_delta,
    upper_rule_fires,
)
from basisctl.model.static import pi_liq
from basisctl.simulate.bootstrap import alpha_lower_bootstrap, clopper_pearson, required_paths

THETA = 0.0125


def alpha_at(b: float, theta: float = THETA) -> float:
    return 1 - math.exp(-b) / (1 + theta)


def test_required_paths_formula() -> None:
    # z_0.975^2 (1 - eps) / (eps r^2) = 3.8415 * 0.9999 / (1e-4 * 0.01)
    assert required_paths(1e-4, 0.1) == math.ceil(stats.norm.ppf(0.975) ** 2 * 0.9999 / 1e-6)
    assert 3_840_000 < required_paths(1e-4, 0.1) < 3_842_000
    assert required_paths(0.5, 0.5, minimum=10) == 16  # 3.84 * 0.5 / (0.5 * 0.25) = 15.4 -> 16
    with pytest.raises(ModelDomainError):
        required_paths(0.0)


def test_clopper_pearson_edges() -> None:
    assert clopper_pearson(0, 100)[0] == 0.0 and clopper_pearson(100, 100)[1] == 1.0
    lo, hi = clopper_pearson(10, 100)
    assert lo < 0.1 < hi and hi - lo < 0.15


@pytest.mark.parametrize(("eps", "k_max"), [(0.3, 1), (0.2, 2), (0.1, 3)])
def test_two_point_pool_gives_the_exact_quantile(eps: float, k_max: int) -> None:
    # pool {+d, -d}, 3 bars: P(M >= 3d) = 1/8, P(M >= 2d) = 2/8, P(M >= d) = 5/8 (enumerate the 8 paths).
    # smallest barrier with hit frequency <= eps is b -> k_max d from above: eps 0.3 -> d (freq 2/8 above d),
    # 0.2 -> 2d (freq 1/8 above 2d), 0.1 -> 3d (nothing above 3d).
    # demeaning centres the pool at -v/2 = -d^2/2 (zero price drift): steps a = d - d^2/2 and -d - d^2/2, the
    # same ranking of the 8 paths with d replaced by a ("-++" now ends at a - d^2, just below a).
    d = 0.02
    a = d - 0.5 * d * d
    res = alpha_lower_bootstrap(np.array([d, -d]), THETA, 3.0, eps, 1.0, paths=200_000, seed=3)
    assert res.alpha_lower_boot == pytest.approx(alpha_at(k_max * a), abs=1e-12)
    expected_freq = {1: 2 / 8, 2: 1 / 8, 3: 0.0}[k_max]
    assert abs(res.hit_freq - expected_freq) < 4 * math.sqrt(expected_freq * (1 - expected_freq) / 2e5) + 1e-12
    assert res.hit_freq <= eps
    assert res.hit_freq_ci[0] <= res.hit_freq <= res.hit_freq_ci[1]


def test_demean_and_stress_move_the_answer_as_expected() -> None:
    d, m = 0.02, 0.005
    shifted = np.array([d + m, -d + m])
    a = alpha_lower_bootstrap(shifted, THETA, 3.0, 0.2, 1.0, paths=100_000, seed=1, demean=True)
    assert a.alpha_lower_boot == pytest.approx(alpha_at(2 * (d - d * d / 2)), abs=1e-12)  # demeaning removes m
    b = alpha_lower_bootstrap(shifted, THETA, 3.0, 0.2, 1.0, paths=100_000, seed=1, demean=False)
    assert b.alpha_lower_boot == pytest.approx(alpha_at(2 * (d + m)), abs=1e-12)
    c = alpha_lower_bootstrap(shifted, THETA, 3.0, 0.2, 1.5, paths=100_000, seed=1)
    sd = 1.5 * d  # stress scales the demeaned returns, then the -v/2 centring
    assert c.alpha_lower_boot == pytest.approx(alpha_at(2 * (sd - sd * sd / 2)), abs=1e-12)


def test_gaussian_pool_approaches_discrete_monitoring_closed_form() -> None:
    # a large i.i.d. normal pool: eps = 1e-2 over 3 hourly bars. Reference: the exact discrete-monitoring
    # probability of a 3-step Gaussian walk, by Monte Carlo with scipy's generator (independent code path).
    sig_h = 0.01
    rng = np.random.default_rng(0)
    pool = rng.standard_normal(200_000) * sig_h
    res = alpha_lower_bootstrap(pool, THETA, 3.0, 1e-2, 1.0, rel_halfwidth=0.05, seed=2)
    ref_paths = np.cumsum(np.random.default_rng(1).standard_normal((1_000_000, 3)) * sig_h, axis=1).max(axis=1)
    b_ref = float(np.quantile(ref_paths, 1 - 1e-2))
    assert res.alpha_ci[0] - 2e-3 <= alpha_at(b_ref) <= res.alpha_ci[1] + 2e-3
    assert res.alpha_ci[0] <= res.alpha_lower_boot <= res.alpha_ci[1]
    # and the continuous-monitoring closed form is more conservative than the discrete bootstrap
    a_closed = float(alpha_lower(sig_h * math.sqrt(8760), THETA, 3.0, 1e-2))
    assert a_closed > res.alpha_lower_boot
    assert res.paths == required_paths(1e-2, 0.05)


def test_bootstrap_is_reproducible_and_validates_inputs() -> None:
    pool = np.random.default_rng(5).standard_normal(1000) * 0.01
    a = alpha_lower_bootstrap(pool, THETA, 3.0, 1e-3, 1.5, paths=300_000, seed=9)
    b = alpha_lower_bootstrap(pool, THETA, 3.0, 1e-3, 1.5, paths=300_000, seed=9)
    assert a.alpha_lower_boot == b.alpha_lower_boot and a.to_dict()["paths"] == 300_000
    for bad in (dict(theta_f=1.5), dict(h_liq_hours=2.5), dict(eps_liq=0.0), dict(stress=-1.0)):
        kw = dict(returns=pool, theta_f=THETA, h_liq_hours=3.0, eps_liq=1e-3, stress=1.0, paths=100) | bad
        with pytest.raises(ModelDomainError):
            alpha_lower_bootstrap(**kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ closed-form bands
def test_alpha_lower_meets_its_budget_exactly() -> None:
    sig = 0.47 * 1.5
    a_l = float(alpha_lower(sig, THETA, 3.0, 1e-4))
    assert pi_liq(a_l, sig, THETA, 3.0 / 8760) == pytest.approx(1e-4, rel=1e-6)
    assert pi_liq(a_l - 1e-4, sig, THETA, 3.0 / 8760) > 1e-4  # the smallest feasible alpha
    assert float(alpha_lower(sig, 0.05, 3.0, 1e-4)) > a_l  # theta_F up -> alpha_L up (eq. 27)


def test_upper_boundary_by_hand() -> None:
    # Delta_U = K / (D kappa): 10 bps of capital over 25 bps of 14-day carry -> 0.4
    assert float(upper_delta(10e-4, 25e-4)) == pytest.approx(0.4)
    assert float(alpha_upper(0.15, 10e-4, 25e-4)) == pytest.approx(0.55)
    assert float(alpha_upper(0.15, 30e-4, 25e-4)) == ALPHA_UPPER_CAP  # 1.35 clipped at 0.99
    assert float(upper_delta(-1e-4, 25e-4)) == 0.0  # K <= 0: always rebalance
    assert np.isinf(float(upper_delta(1e-4, -2e-4)))  # no carry: never worth it
    assert float(upper_delta(20e-4, 25e-4, capital=2.0)) == pytest.approx(0.4)
    grid = alpha_upper(np.array([0.1, 0.2]), np.array([[5e-4], [10e-4]]), 25e-4)
    assert grid.shape == (2, 2) and grid[1, 0] == pytest.approx(0.5)


def test_rebalance_cost_components_and_practical_rule() -> None:
    k = RebalanceCost(fee_bps=5, impact_bps=8, gas_bps=1, exec_bps=2, basis_captured_bps=6)
    assert k.total_bps == 10
    assert RebalanceCost(fee_bps=1, basis_captured_bps=3).total_bps < 0
    assert upper_rule_fires(0.6, 0.2, 0.5, 30e-4, 10e-4)  # 0.4 * 30 = 12 >= 10 bps
    assert not upper_rule_fires(0.5, 0.2, 0.4, 30e-4, 10e-4)  # 9 < 10 bps
    assert not upper_rule_fires(0.45, 0.2, 0.5, 1.0, 0.0)  # inside the band
