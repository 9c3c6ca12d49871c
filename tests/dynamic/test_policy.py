"""Table VI band policy: every branch, Q^max on piecewise cost curves by hand, and properties of q_hat."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.errors import ModelDomainError
from basisctl.model.policy import (
    BASIS_SIDE,
    Action,
    BandPolicy,
    CostCurve,
    Reason,
    cost_at_nb,
    decide,
    decide_nb,
)

# alpha_L = 0.10 < alpha_target = 0.20 < alpha_U = 0.40; kappa_fix 30 bps, K_reb^fix 10 bps of capital
POLICY = BandPolicy(alpha_target=0.20, alpha_lower=0.10, alpha_upper=0.40, kappa_fix=30e-4, k_reb_fix=10e-4,
                    q_min_usd=10_000.0, buffer_bps=10.0, sell_budget_bps=50.0, buy_budget_bps=30.0)
FLAT = CostCurve.flat(5.0)
EQUITY = 1_000_000.0


def test_in_band_no_action_at_both_edges_and_inside() -> None:
    for a in (0.10, 0.20, 0.40):  # the band is closed: [alpha_L, alpha_U] means no rebalance (eq. 37)
        d = decide(a, EQUITY, POLICY, FLAT, FLAT)
        assert d.action is Action.NONE and d.reason_code is Reason.IN_BAND
        assert d.q_hat_usd == 0.0 and d.basis_side is None
        assert "no rebalance" in d.reason


def test_lower_breach_executes_sell_basis_with_target_size() -> None:
    d = decide(0.05, EQUITY, POLICY, FLAT, FLAT)
    assert d.action is Action.RAISE_COLLATERAL and d.reason_code is Reason.LOWER_BREACH_EXECUTE
    assert d.basis_side == "sell-basis"  # sell spot, buy back perp, USDC into margin
    assert d.q_target_usd == pytest.approx((0.20 - 0.05) * EQUITY)  # 150k
    assert d.q_hat_usd == pytest.approx(150_000.0)
    assert np.isinf(d.q_max_usd)  # flat 5 bps + 10 buffer <= 50: any size is admissible
    assert "raise collateral" in d.reason and "sell-basis" in d.reason


def test_lower_breach_capped_by_qmax_of_sell_curve() -> None:
    # sell-basis cost: 20 bps at 0, 40 bps at $100k, 60 bps at $200k; budget 50 - buffer 10 = 40 bps -> $100k
    sell = CostCurve(np.array([0.0, 100_000.0, 200_000.0]), np.array([20.0, 40.0, 60.0]))
    d = decide(0.05, EQUITY, POLICY, sell, FLAT)
    assert d.action is Action.RAISE_COLLATERAL
    assert d.q_max_usd == pytest.approx(100_000.0)
    assert d.q_hat_usd == pytest.approx(100_000.0)  # min(150k, 100k)


def test_lower_breach_below_qmin_escalates_to_emergency() -> None:
    # sell cost 45 bps from size 0: 45 + 10 buffer > 50 budget -> Q^max = 0 < q_min -> emergency
    d = decide(0.05, EQUITY, POLICY, CostCurve.flat(45.0), FLAT)
    assert d.action is Action.EMERGENCY and d.reason_code is Reason.LOWER_BREACH_BELOW_QMIN
    assert d.q_max_usd == 0.0 and d.q_hat_usd == 0.0
    assert d.q_target_usd == pytest.approx(150_000.0)  # the emergency path restores the full target
    assert d.basis_side == "sell-basis"
    assert "EMERGENCY" in d.reason


def test_lower_breach_small_target_below_qmin_is_emergency_too() -> None:
    # tiny book: q* = (0.2 - 0.09) * 50k = 5.5k < q_min = 10k although any size is affordable
    d = decide(0.09, 50_000.0, POLICY, FLAT, FLAT)
    assert d.action is Action.EMERGENCY and d.q_hat_usd == pytest.approx(5_500.0)


def test_upper_breach_executes_buy_basis() -> None:
    d = decide(0.50, EQUITY, POLICY, FLAT, FLAT)
    # carry gain (0.5 - 0.2) * 30 bps = 9 bps of capital < K_reb_fix 10 bps -> hold; use a higher alpha
    assert d.action is Action.NONE and d.reason_code is Reason.UPPER_BREACH_CARRY_BELOW_COST
    d = decide(0.60, EQUITY, POLICY, FLAT, FLAT)  # gain 0.4 * 30 = 12 bps >= 10 bps
    assert d.action is Action.LOWER_COLLATERAL and d.reason_code is Reason.UPPER_BREACH_EXECUTE
    assert d.basis_side == "buy-basis"
    assert d.q_target_usd == pytest.approx(400_000.0) and d.q_hat_usd == pytest.approx(400_000.0)


def test_upper_breach_carry_exactly_at_cost_fires() -> None:
    # eq. 47 uses >=: (alpha - alpha_t) kappa = K exactly -> rebalance (alpha chosen so the product is exact)
    p = BandPolicy(0.25, 0.125, 0.375, kappa_fix=0.0625, k_reb_fix=0.03125, q_min_usd=0.0, buffer_bps=0.0,
                   buy_budget_bps=100.0)
    d = decide(0.75, EQUITY, p, FLAT, FLAT)  # (0.75 - 0.25) * 0.0625 = 0.03125 exactly in binary
    assert d.action is Action.LOWER_COLLATERAL


def test_upper_breach_below_qmin_holds_instead_of_emergency() -> None:
    # buy cost 25 bps + 10 buffer > 30 budget -> Q^max = 0 -> no action on the upper side (never emergency)
    d = decide(0.60, EQUITY, POLICY, FLAT, CostCurve.flat(25.0))
    assert d.action is Action.NONE and d.reason_code is Reason.UPPER_BREACH_BELOW_QMIN
    assert d.q_hat_usd == 0.0 and "hold" in d.reason


def test_upper_breach_capped_by_qmax_of_buy_curve() -> None:
    # buy: 0 bps at 0, 40 bps at 400k -> linear 1 bp per 10k; limit 30 - 10 = 20 bps -> Q^max = 200k
    buy = CostCurve(np.array([0.0, 400_000.0]), np.array([0.0, 40.0]))
    d = decide(0.60, EQUITY, POLICY, FLAT, buy)
    assert d.action is Action.LOWER_COLLATERAL
    assert d.q_max_usd == pytest.approx(200_000.0)
    assert d.q_hat_usd == pytest.approx(200_000.0)


def test_side_specific_curves_are_not_swapped() -> None:
    cheap, dear = CostCurve.flat(0.0), CostCurve.flat(100.0)
    assert decide(0.05, EQUITY, POLICY, cheap, dear).action is Action.RAISE_COLLATERAL  # uses the sell curve
    assert decide(0.05, EQUITY, POLICY, dear, cheap).action is Action.EMERGENCY
    assert decide(0.60, EQUITY, POLICY, dear, cheap).action is Action.LOWER_COLLATERAL  # uses the buy curve
    assert decide(0.60, EQUITY, POLICY, cheap, dear).action is Action.NONE


def test_basis_side_mapping_is_explicit() -> None:
    assert BASIS_SIDE[Action.RAISE_COLLATERAL] == "sell-basis"
    assert BASIS_SIDE[Action.EMERGENCY] == "sell-basis"
    assert BASIS_SIDE[Action.LOWER_COLLATERAL] == "buy-basis"
    assert BASIS_SIDE[Action.NONE] is None


def test_qmax_piecewise_by_hand() -> None:
    # points (0, 8), (50k, 12), (150k, 30), (300k, 60): constant 60 beyond 300k
    c = CostCurve(np.array([0.0, 50_000.0, 150_000.0, 300_000.0]), np.array([8.0, 12.0, 30.0, 60.0]))
    assert c.max_size(7.9) == 0.0  # even C(0) is above the budget
    assert c.max_size(8.0) == pytest.approx(0.0)  # flat start at exactly the budget: sup is 0 (C rises after)
    assert c.max_size(10.0) == pytest.approx(25_000.0)  # 8 + 4 * q/50k = 10
    assert c.max_size(12.0) == pytest.approx(50_000.0)
    assert c.max_size(21.0) == pytest.approx(50_000.0 + 100_000.0 * 9.0 / 18.0)  # 100k
    assert c.max_size(45.0) == pytest.approx(150_000.0 + 150_000.0 * 15.0 / 30.0)  # 225k
    assert np.isinf(c.max_size(60.0))  # the curve never exceeds 60 bps
    assert c.max_size(60.0, cap_usd=1e6) == 1e6
    assert c.max_size(21.0, cap_usd=80_000.0) == 80_000.0
    # and the cost curve itself
    assert c(25_000.0) == pytest.approx(10.0)
    assert c(150_000.0) == pytest.approx(30.0)
    assert c(1e9) == pytest.approx(60.0)
    assert float(cost_at_nb(c.notional_usd, c.cost_bps, -5.0)) == pytest.approx(8.0)


def test_qmax_inside_decide_uses_budget_minus_buffer() -> None:
    c = CostCurve(np.array([0.0, 50_000.0, 150_000.0, 300_000.0]), np.array([8.0, 12.0, 30.0, 60.0]))
    p = BandPolicy(0.2, 0.1, 0.4, 30e-4, 10e-4, q_min_usd=10_000.0, buffer_bps=10.0, sell_budget_bps=31.0)
    d = decide(0.0001, 10_000_000.0, p, c, FLAT)  # limit 21 bps -> Q^max 100k by hand
    assert d.q_max_usd == pytest.approx(100_000.0) and d.q_hat_usd == pytest.approx(100_000.0)


def test_default_budgets_follow_k_reb_fix() -> None:
    p = BandPolicy(0.2, 0.1, 0.4, kappa_fix=30e-4, k_reb_fix=25e-4, buffer_bps=10.0)
    assert p.sell_budget == pytest.approx(25.0) and p.buy_budget == pytest.approx(25.0)
    # 14 + 10 > 25 -> Q^max 0 -> emergency on the lower side
    assert decide(0.05, EQUITY, p, CostCurve.flat(16.0), FLAT).action is Action.EMERGENCY
    assert decide(0.05, EQUITY, p, CostCurve.flat(15.0), FLAT).action is Action.RAISE_COLLATERAL


def test_decision_to_dict_is_serialisable() -> None:
    d = decide(0.05, EQUITY, POLICY, FLAT, FLAT).to_dict()
    assert d["action"] == "raise_collateral" and d["basis_side"] == "sell-basis"
    assert d["reason_code"] == "lower_breach_execute"


@pytest.mark.parametrize("kwargs", [
    {"alpha_target": 0.05, "alpha_lower": 0.1, "alpha_upper": 0.4},
    {"alpha_target": 0.5, "alpha_lower": 0.1, "alpha_upper": 0.4},
    {"alpha_target": 0.2, "alpha_lower": 0.0, "alpha_upper": 0.4},
    {"alpha_target": 0.2, "alpha_lower": 0.1, "alpha_upper": 1.0},
])
def test_band_policy_rejects_unordered_bands(kwargs: dict[str, float]) -> None:
    with pytest.raises(ModelDomainError):
        BandPolicy(kappa_fix=1e-3, k_reb_fix=1e-3, **kwargs)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ModelDomainError):
        decide(float("nan"), EQUITY, POLICY, FLAT, FLAT)
    with pytest.raises(ModelDomainError):
        decide(0.2, 0.0, POLICY, FLAT, FLAT)
    with pytest.raises(ModelDomainError):
        CostCurve(np.array([0.0, 1.0]), np.array([5.0, 4.0]))  # decreasing cost
    with pytest.raises(ModelDomainError):
        CostCurve(np.array([1.0, 1.0]), np.array([5.0, 6.0]))  # sizes not increasing
    with pytest.raises(ModelDomainError):
        BandPolicy(0.2, 0.1, 0.4, 1e-3, 1e-3, q_min_usd=-1.0)


def test_from_function_matches_the_function_on_its_grid() -> None:
    c = CostCurve.from_function(lambda q: 5.0 + 1e-4 * q, max_notional_usd=200_000.0, points=32)
    for q in (0.0, 1_000.0, 123_456.0, 200_000.0):
        assert c(q) == pytest.approx(5.0 + 1e-4 * q, rel=1e-9)  # linear: interpolation is exact
    assert c.max_size(15.0) == pytest.approx(100_000.0, rel=1e-9)


def test_decide_nb_is_the_core_of_decide() -> None:
    args = (0.60, EQUITY, 0.2, 0.1, 0.4, 30e-4, 10e-4, 10_000.0, 10.0,
            FLAT.notional_usd, FLAT.cost_bps, 50.0, FLAT.notional_usd, FLAT.cost_bps, 30.0, 0.2, 0.2, False)
    act, rc, qt, qm, qh = decide_nb(*args)
    d = decide(0.60, EQUITY, POLICY, FLAT, FLAT)
    assert (int(act), int(rc)) == (int(d.action), int(d.reason_code))
    assert (qt, qm, qh) == (d.q_target_usd, d.q_max_usd, d.q_hat_usd)


# ----------------------------------------------------------------------------------- properties
curves = st.lists(st.tuples(st.floats(1.0, 1e6), st.floats(0.0, 80.0)), min_size=1, max_size=6).map(
    lambda pts: CostCurve(np.cumsum([p[0] for p in pts]) - pts[0][0], np.cumsum([p[1] for p in pts]) / 3.0))


@settings(max_examples=300, deadline=None)
@given(alpha=st.floats(0.001, 0.999), equity=st.floats(1e3, 1e8), sell=curves, buy=curves,
       q_min=st.floats(0.0, 5e4), sell_budget=st.floats(0.0, 100.0), buy_budget=st.floats(0.0, 100.0))
def test_properties_q_hat_bounded_and_action_matches_region(
    alpha: float, equity: float, sell: CostCurve, buy: CostCurve, q_min: float, sell_budget: float,
    buy_budget: float,
) -> None:
    p = BandPolicy(0.2, 0.1, 0.4, 30e-4, 10e-4, q_min_usd=q_min, buffer_bps=10.0,
                   sell_budget_bps=sell_budget, buy_budget_bps=buy_budget)
    d = decide(alpha, equity, p, sell, buy)
    assert d.q_hat_usd <= d.q_target_usd + 1e-9
    assert d.q_hat_usd <= d.q_max_usd + 1e-9
    assert d.q_hat_usd >= 0.0
    if d.action in (Action.RAISE_COLLATERAL, Action.LOWER_COLLATERAL):
        assert d.q_hat_usd >= q_min and d.q_hat_usd > 0
        curve, budget = (sell, sell_budget) if d.action is Action.RAISE_COLLATERAL else (buy, buy_budget)
        assert curve(d.q_hat_usd) + 10.0 <= budget + 1e-6  # the executed size is affordable
    if alpha < 0.1:
        assert d.action in (Action.RAISE_COLLATERAL, Action.EMERGENCY)  # never inaction below alpha_L
        assert d.q_target_usd == pytest.approx((0.2 - alpha) * equity)
    elif alpha > 0.4:
        assert d.action in (Action.LOWER_COLLATERAL, Action.NONE)  # never an emergency above alpha_U
    else:
        assert d.action is Action.NONE


@settings(max_examples=200, deadline=None)
@given(curve=curves, budget=st.floats(-10.0, 100.0))
def test_property_qmax_is_the_sup_of_the_admissible_set(curve: CostCurve, budget: float) -> None:
    qm = curve.max_size(budget)
    if curve(0.0) > budget:
        assert qm == 0.0
        return
    if np.isfinite(qm):
        assert curve(qm) <= budget + 1e-7
        assert curve(qm * (1 + 1e-6) + 1e-3) > budget - 1e-7  # just above Q^max the cost exceeds the budget
    else:
        assert curve(1e12) <= budget
