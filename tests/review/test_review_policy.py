"""Second-opinion checks of Table VI (policy.decide / decide_nb) and the band formulas (eqs. 38, 45, 47)
against hand calculations and an independent scipy closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from basisctl.model.bands import alpha_lower, alpha_upper, upper_delta, upper_rule_fires
from basisctl.model.policy import Action, BandPolicy, CostCurve, Reason, decide

V = 1_000_000.0
FLAT_CHEAP = CostCurve.flat(5.0)
FLAT_DEAR = CostCurve.flat(45.0)
# sell-basis curve: 10 bps at $0 rising linearly to 50 bps at $100k; with budget 40 and buffer 10,
# Q^max = sup{q : C(q) <= 30} = $50k by hand
SLOPED = CostCurve(np.array([0.0, 100_000.0]), np.array([10.0, 50.0]))


def pol(**kw: float) -> BandPolicy:
    base = dict(alpha_target=0.2, alpha_lower=0.12, alpha_upper=0.4, kappa_fix=0.004, k_reb_fix=0.001,
                q_min_usd=10_000.0, buffer_bps=10.0, sell_budget_bps=40.0, buy_budget_bps=40.0)
    base.update(kw)
    return BandPolicy(**base)  # type: ignore[arg-type]


def test_in_band_and_boundaries_do_nothing() -> None:
    p = pol()
    for a in (0.12, 0.2, 0.4):  # the band is closed: alpha_L and alpha_U themselves are inside
        d = decide(a, V, p, FLAT_CHEAP, FLAT_CHEAP)
        assert d.action is Action.NONE and d.reason_code is Reason.IN_BAND


def test_lower_breach_is_sell_basis_sized_to_restore_target() -> None:
    d = decide(0.1, V, pol(), sell_basis_cost=FLAT_CHEAP, buy_basis_cost=FLAT_DEAR)
    assert d.action is Action.RAISE_COLLATERAL and d.basis_side == "sell-basis"
    assert d.q_target_usd == pytest.approx(0.1 * V)  # q* = |alpha - alpha_target| V
    assert d.q_hat_usd == pytest.approx(0.1 * V)
    # the lower breach is priced on the SELL-basis curve: an expensive sell side blocks it (Q^max = 0)
    d2 = decide(0.1, V, pol(), sell_basis_cost=FLAT_DEAR, buy_basis_cost=FLAT_CHEAP)
    assert d2.action is Action.EMERGENCY and d2.reason_code is Reason.LOWER_BREACH_BELOW_QMIN
    assert d2.q_max_usd == 0.0 and d2.q_target_usd == pytest.approx(0.1 * V)


def test_q_max_from_size_dependent_curve_and_buffer() -> None:
    d = decide(0.1, V, pol(), sell_basis_cost=SLOPED, buy_basis_cost=FLAT_CHEAP)
    assert d.q_max_usd == pytest.approx(50_000.0, rel=1e-12)
    assert d.action is Action.RAISE_COLLATERAL and d.q_hat_usd == pytest.approx(50_000.0, rel=1e-12)
    # q_hat below q_min on a lower breach escalates (Table VI step 4)
    d2 = decide(0.1, V, pol(q_min_usd=60_000.0), sell_basis_cost=SLOPED, buy_basis_cost=FLAT_CHEAP)
    assert d2.action is Action.EMERGENCY
    # without the buffer the admissible size is sup{C <= 40} = $75k
    d3 = decide(0.1, V, pol(buffer_bps=0.0), sell_basis_cost=SLOPED, buy_basis_cost=FLAT_CHEAP)
    assert d3.q_max_usd == pytest.approx(75_000.0, rel=1e-12)


def test_upper_breach_eq47_carry_vs_cost_and_buy_side() -> None:
    # (0.5 - 0.2) * 0.003 = 9 bps of capital < K = 10 bps -> hold
    d = decide(0.5, V, pol(kappa_fix=0.003), FLAT_DEAR, FLAT_CHEAP)
    assert d.action is Action.NONE and d.reason_code is Reason.UPPER_BREACH_CARRY_BELOW_COST
    # (0.5 - 0.2) * 0.004 = 12 bps >= 10 bps -> lower collateral (buy-basis), priced on the buy curve
    d = decide(0.5, V, pol(kappa_fix=0.004), sell_basis_cost=FLAT_DEAR, buy_basis_cost=FLAT_CHEAP)
    assert d.action is Action.LOWER_COLLATERAL and d.basis_side == "buy-basis"
    assert d.q_target_usd == pytest.approx(0.3 * V) and d.q_hat_usd == pytest.approx(0.3 * V)
    d = decide(0.5, V, pol(kappa_fix=0.004), sell_basis_cost=FLAT_CHEAP, buy_basis_cost=FLAT_DEAR)
    assert d.action is Action.NONE and d.reason_code is Reason.UPPER_BREACH_BELOW_QMIN
    # equality in eq. 47 fires (>=); binary-exact numbers
    d = decide(0.75, V, pol(alpha_target=0.25, alpha_upper=0.5, kappa_fix=0.5, k_reb_fix=0.25), FLAT_CHEAP,
               FLAT_CHEAP)
    assert d.action is Action.LOWER_COLLATERAL


def test_upper_band_eq45_units() -> None:
    # K_reb 20 bps of capital, kappa_14d 30 bps cumulative: Delta_U = 0.002 / 0.003
    assert float(upper_delta(0.002, 0.003)) == pytest.approx(2 / 3, rel=1e-12)
    assert float(alpha_upper(0.2, 0.002, 0.003)) == pytest.approx(0.2 + 2 / 3, rel=1e-12)
    assert float(alpha_upper(0.2, 0.003, 0.003)) == 0.99  # Fig. 5 clipping
    # USD form: K = $2,000 on D = $1M is the same band
    assert float(upper_delta(2_000.0, 0.003, capital=1e6)) == pytest.approx(2 / 3, rel=1e-12)
    assert float(upper_delta(-1.0, 0.003)) == 0.0 and math.isinf(float(upper_delta(0.002, 0.0)))
    assert upper_rule_fires(0.9, 0.2, 0.8, 0.003, 0.002) and not upper_rule_fires(0.79, 0.2, 0.8, 0.003, 0.002)


def _pi_liq_scipy(alpha: float, sigma: float, theta: float, h_years: float) -> float:
    """Independent eq. 17 with mu = 0 via scipy.stats.norm."""
    b = math.log(1.0 / ((1.0 + theta) * (1.0 - alpha)))
    m = -0.5 * sigma**2
    s = sigma * math.sqrt(h_years)
    return float(stats.norm.cdf((-b + m * h_years) / s)
                 + math.exp(2 * m * b / sigma**2) * stats.norm.cdf((-b - m * h_years) / s))


@pytest.mark.parametrize("sigma,theta", [(0.9, 0.0125), (1.4, 0.05)])
def test_alpha_lower_eq38_against_scipy_root(sigma: float, theta: float) -> None:
    h = 3.0 / 8760.0
    ref = optimize.brentq(lambda a: _pi_liq_scipy(a, sigma, theta, h) - 1e-4, theta / (1 + theta) + 1e-9,
                          0.99, xtol=1e-13)
    assert float(alpha_lower(sigma, theta, 3.0, 1e-4)) == pytest.approx(ref, abs=1e-8)
