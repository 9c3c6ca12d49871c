"""Cost functions (eqs. 55-64): leg sums, fixed layer, policy curves, smoothing, admissible sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basisctl.data.snapshots import default_pool, synthetic_book_from_depth
from basisctl.errors import ModelDomainError
from basisctl.execution.costs import (
    INFEASIBLE_BPS,
    CostHistory,
    FixedCostBudget,
    FixedFrictions,
    FlatLeg,
    InstantCost,
    OrderBookPerpLeg,
    ParametricSpotLeg,
    UniswapV3SpotLeg,
    admissible_set,
    build_instant_costs,
    feasible,
    q_max,
    smoothed_cost,
)
from basisctl.model.policy import Action, BandPolicy, CostCurve, decide

pytestmark = pytest.mark.needs_data  # reads market data from the data dir


@pytest.fixture(scope="module")
def eth_costs() -> dict[str, InstantCost]:
    spot = UniswapV3SpotLeg(default_pool("ETH"), "WETH")
    perp = OrderBookPerpLeg(synthetic_book_from_depth("ETH"))
    return build_instant_costs(spot, perp, FixedFrictions(gas_usd=1.0, withdrawal_usd=1.0))


def test_leg_decomposition_hand_values() -> None:
    spot = ParametricSpotLeg(fee_bps=5.0, impact_bps_at_1m=10.0, half_spread_bps=1.0, sell_multiplier=2.0)
    ic = InstantCost("sell-basis", spot, FlatLeg(4.5), FixedFrictions(gas_usd=0.5, withdrawal_usd=1.5))
    b = ic.breakdown(250_000.0)
    assert b.spot_bps == pytest.approx(2.0 * (5.0 + 1.0 + 10.0 * 0.5))
    assert b.perp_bps == 4.5
    assert b.fixed_bps == pytest.approx(2.0 / 250_000 * 1e4)
    assert b.total_bps == pytest.approx(22.0 + 4.5 + 0.08)
    assert ic(250_000.0) == pytest.approx(b.total_bps)
    assert b.to_dict()["total_bps"] == pytest.approx(b.total_bps)


def test_fixed_cost_budget_gives_paper_q_min() -> None:
    assert FixedCostBudget(FixedFrictions(gas_usd=1.0, withdrawal_usd=1.0), max_fixed_bps=2.0).q_min_usd == \
        pytest.approx(10_000.0)


def test_spot_leg_matches_exact_path(eth_costs: dict[str, InstantCost]) -> None:
    spot = eth_costs["buy-basis"].spot
    assert isinstance(spot, UniswapV3SpotLeg)
    for side in ("buy-basis", "sell-basis"):
        for q in (5e3, 2e5, 3e6):
            exact, r = spot.exact(side, q)  # type: ignore[arg-type]
            assert r.complete
            assert spot.cost_bps(side, q)[0] == pytest.approx(exact, abs=1e-4)  # type: ignore[arg-type]
    # the LP fee alone: a tiny trade costs ~5 bps on a 0.05% pool
    assert spot.cost_bps("buy-basis", 10.0)[0] == pytest.approx(5.0, abs=0.05)


@given(st.lists(st.floats(min_value=100.0, max_value=3e7), min_size=2, max_size=30))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_costs_non_decreasing_in_size(eth_costs: dict[str, InstantCost], sizes: list[float]) -> None:
    """The admissible-size definitions (eqs. 59-60) need C_s(q) non-decreasing in q for each leg."""
    q = np.sort(np.array(sizes))
    for side, ic in eth_costs.items():
        for leg in (ic.spot, ic.perp):
            c = leg.cost_bps(side, q)  # type: ignore[arg-type]
            fin = np.isfinite(c)
            assert np.all(np.diff(c[fin]) >= -1e-7)
            assert np.all(fin[:-1] >= fin[1:])  # once unfillable, always unfillable


def test_cost_curve_is_conservative_envelope(eth_costs: dict[str, InstantCost]) -> None:
    ic = eth_costs["sell-basis"]
    curve = ic.to_cost_curve(2e7, points=80, q_min_usd=10_000.0)
    assert isinstance(curve, CostCurve)
    qs = curve.notional_usd[:-1]
    true = np.where(np.isfinite(ic.cost_bps(qs)), ic.cost_bps(qs), INFEASIBLE_BPS)
    assert np.all(curve.cost_bps[:-1] >= true - 1e-9)
    assert np.all(np.diff(curve.cost_bps) >= 0)
    assert curve(3e7) == INFEASIBLE_BPS  # nothing claimed beyond the sampled range
    # Q^max from the curve vs brute force on the true cost: the true crossing lies within one grid cell
    budget = 25.0
    qm = q_max(curve, budget)
    fine = np.geomspace(1e4, 2e7, 20001)
    c = ic.cost_bps(fine)
    brute = fine[np.argmax(c > budget) - 1]
    k = np.searchsorted(qs, brute)
    assert qs[max(k - 1, 0)] <= qm <= qs[min(k + 1, qs.size - 1)]
    assert ic(qm) <= budget + 1e-6 or curve(qm) <= budget + 1e-9


def test_unfillable_sizes_are_inadmissible(eth_costs: dict[str, InstantCost]) -> None:
    ic = eth_costs["buy-basis"]
    depth = ic.perp.book.depth_usd("sell")  # type: ignore[attr-defined]
    curve = ic.to_cost_curve(5 * depth, q_min_usd=10_000.0)
    assert q_max(curve, 1e5) <= depth * 1.001


def test_policy_consumes_the_curves(eth_costs: dict[str, InstantCost]) -> None:
    sell = eth_costs["sell-basis"].to_cost_curve(2e7, q_min_usd=10_000.0)
    buy = eth_costs["buy-basis"].to_cost_curve(2e7, q_min_usd=10_000.0)
    pol = BandPolicy(alpha_target=0.173, alpha_lower=0.10, alpha_upper=0.40, kappa_fix=0.01, k_reb_fix=0.0020,
                     buffer_bps=5.0, sell_budget_bps=40.0, buy_budget_bps=25.0)
    d = decide(0.09, 5e6, pol, sell, buy)
    assert d.action is Action.RAISE_COLLATERAL
    assert d.q_max_usd == pytest.approx(q_max(sell, 40.0, 5.0))
    assert d.q_hat_usd == pytest.approx(min((0.173 - 0.09) * 5e6, d.q_max_usd))


def test_q_max_monotone_in_budget(eth_costs: dict[str, InstantCost]) -> None:
    curve = eth_costs["buy-basis"].to_cost_curve(2e7, q_min_usd=1e4)
    vals = [q_max(curve, b) for b in (10, 12, 15, 20, 40, 100)]
    assert vals == sorted(vals) and vals[0] == 0.0 < vals[-1]


# ------------------------------------------------------------------------------------------------ smoothing
def _hist() -> CostHistory:
    grid = np.array([1e4, 1e5, 1e6])
    rows = np.array([[10.0, 12.0, 20.0], [14.0, 15.0, 40.0], [11.0, 13.0, 25.0], [50.0, 60.0, 90.0]])
    return CostHistory("sell-basis", np.array([0, 1000, 2000, 9000]), grid, rows)


def test_rolling_median_and_quantile_hand_values() -> None:
    h = _hist()
    med = smoothed_cost(h, asof_ms=2000, window_ms=2000, method="median")
    assert [med(q) for q in (1e4, 1e5, 1e6)] == [11.0, 13.0, 25.0]
    q9 = smoothed_cost(h, asof_ms=2000, window_ms=2000, method="quantile", quantile=0.9)
    assert q9(1e6) == pytest.approx(25.0 + 0.8 * (40.0 - 25.0))  # numpy linear quantile of [20, 25, 40]


def test_smoothing_has_no_look_ahead() -> None:
    h = _hist()
    a = smoothed_cost(h, asof_ms=2500, window_ms=10_000)
    assert a(1e5) == 13.0  # the t=9000 observation is in the future and ignored
    b = smoothed_cost(h, asof_ms=9000, window_ms=1000)  # window [8000, 9000]: only the last row
    assert b(1e5) == 60.0
    with pytest.raises(ModelDomainError, match="no sell-basis cost observations"):
        smoothed_cost(h, asof_ms=5000, window_ms=1000)


def test_parametric_fit_recovers_square_root_law() -> None:
    grid = np.geomspace(1e4, 5e6, 12)
    truth = 6.0 + 20.0 * np.sqrt(grid / 1e6)
    rows = np.vstack([truth, truth + 1.0, truth - 1.0])
    h = CostHistory("buy-basis", np.array([0, 1, 2]), grid, rows)
    fit = smoothed_cost(h, asof_ms=2, window_ms=10, method="parametric")
    for q, c in zip(grid, truth, strict=True):
        assert fit(q) == pytest.approx(c, abs=1e-9)


# ------------------------------------------------------------------------------------- admissible + feasible
def test_admissible_sets_and_feasibility() -> None:
    curve = CostCurve(np.array([0.0, 1e6]), np.array([5.0, 25.0]))  # 5 + 2 bps per $100k
    s = admissible_set("sell-basis", curve, budget_bps=20.0, q_min_usd=1e4, buffer_bps=5.0)
    assert s.q_max_usd == pytest.approx(5e5) and not s.empty  # 5 + 20 q/1e6 <= 15
    assert 2e5 in s and 5e3 not in s and 6e5 not in s
    empty = admissible_set("buy-basis", curve, budget_bps=5.5, q_min_usd=1e5)
    assert empty.empty and 1e5 not in empty
    f = feasible(0.08, 0.10, 0.40, 2e5, s, empty)
    assert f.region == "lower" and f.side == "sell-basis" and f.feasible
    g = feasible(0.45, 0.10, 0.40, 2e5, s, empty)
    assert g.region == "upper" and g.side == "buy-basis" and not g.feasible
    assert feasible(0.2, 0.10, 0.40, 2e5, s, empty).side is None
