"""Engine against hand calculations, closed forms and an independent reference simulator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from basisctl.backtest import BacktestConfig, CostModel, run_backtest
from basisctl.model.policy import Action, BandPolicy, CostCurve, decide
from tests.backtest._bt_synth import make_data, make_rule

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

NOCOST = CostModel.fixed(0.0)
CFG0 = BacktestConfig(capital_usd=1_000_000.0, q_min_usd=0.0, buffer_bps=0.0, charge_entry=False)


def test_constant_price_funding_hand_calc() -> None:
    """Flat price, hourly funding r: NAV = D + (n-1) r (1-alpha) D, minus the entry cost."""
    n, r, a, d = 100, 1e-5, 0.2, 1_000_000.0
    data = make_data(np.full(n, 50_000.0), rate=r)
    res = run_backtest(data, make_rule(alpha_target=a), CostModel.fixed(20.0),
                       BacktestConfig(capital_usd=d, q_min_usd=0.0, buffer_bps=0.0))
    entry = 20e-4 * (1 - a) * d
    expected_funding = (n - 1) * r * (1 - a) * d
    assert res.nav[-1] == pytest.approx(d - entry + expected_funding, rel=1e-12)
    m = res.metrics()
    assert m["ret_funding"] == pytest.approx(expected_funding / d, rel=1e-12)
    assert m["ret_costs"] == pytest.approx(-entry / d, rel=1e-12)
    assert m["ret_mtm"] == pytest.approx(0.0, abs=1e-12)
    days = n / 24.0
    assert m["funding_apy"] == pytest.approx(expected_funding / d * 365 / days, rel=1e-12)
    assert m["rebalances"] == 0 and m["liquidations"] == 0


def test_negative_funding_costs_the_short() -> None:
    data = make_data(np.full(10, 100.0), rate=-1e-4)
    res = run_backtest(data, make_rule(), NOCOST, CFG0)
    assert res.nav[-1] == pytest.approx(1e6 * (1 - 9 * 1e-4 * 0.8), rel=1e-12)


def test_delta_neutral_without_funding() -> None:
    """No funding, no costs, in-band moves: NAV stays at D on any path (spot gain = short loss)."""
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, 500)))
    res = run_backtest(make_data(close), make_rule(alpha_lower=0.01, alpha_upper=0.98), NOCOST, CFG0)
    assert res.metrics()["rebalances"] == 0
    np.testing.assert_allclose(res.nav, 1e6, rtol=1e-12)
    # eq. 31: alpha_t = 1 - (1 - alpha_0) p_t / p_0 when funding is suppressed
    np.testing.assert_allclose(res.alpha, 1 - 0.8 * close / close[0], rtol=1e-10)


@pytest.mark.parametrize("factor,liquidated", [(0.999, False), (1.001, True)])
def test_liquidation_at_closed_form_barrier(factor: float, liquidated: bool) -> None:
    """eq. 15: liquidation iff p/p0 >= 1/((1+theta)(1-alpha)); the check uses the bar high. The loss figures are
    those of the OLD accounting (``liquidation_price="high"``, re-hedge at the close: whole margin equity at the
    high forfeited), pinned deliberately; the venue accounting (the default since issue 17) closes at the barrier
    and returns the maintenance margin (Hyperliquid market liquidation, no fee): nothing forfeited."""
    a, th, p0 = 0.2, 0.0125, 100.0
    z = 1.0 / ((1 + th) * (1 - a))
    close = np.full(5, p0)
    high = close.copy()
    high[2] = p0 * z * factor  # a wick, close unchanged
    rule = make_rule(alpha_target=a, alpha_lower=0.013, alpha_upper=0.9, theta_f=th)
    res = run_backtest(make_data(close, high), rule, NOCOST, replace(CFG0, liquidation_price="high",
                                                                     rehedge_delay_bars=0))
    assert res.metrics()["liquidations"] == int(liquidated)
    new = run_backtest(make_data(close, high), rule, NOCOST, replace(CFG0, margin_tiers=()))
    assert new.metrics()["liquidations"] == int(liquidated)
    if liquidated:
        fn = new.to_frame()
        p_star = p0 * z
        assert fn["liquidation_loss_usd"].iloc[2] == 0.0
        assert fn["liq_price"].iloc[2] == pytest.approx(p_star, rel=1e-14)
        assert fn["margin_returned_usd"].iloc[2] == pytest.approx(th * 0.8e6 / p0 * p_star, rel=1e-12)
        # margin forfeited = margin equity at the liquidation price = theta |H| high (just below it)
        f = res.to_frame()
        q = 0.8e6 / p0
        loss = 0.2e6 - q * (high[2] - p0)
        assert f["liquidation_loss_usd"].iloc[2] == pytest.approx(loss, rel=1e-9)
        assert f["action"].iloc[2] == "liquidation_reentry"
        # NAV after: spot value at close minus short loss to the high minus nothing else (no costs)
        assert res.nav[2] == pytest.approx(q * p0 + 0.2e6 - q * (high[2] - p0) - loss, rel=1e-9)
    stop = run_backtest(make_data(close, high), rule, NOCOST,
                        BacktestConfig(q_min_usd=0.0, charge_entry=False, reenter_after_liquidation=False,
                                       rehedge_delay_bars=0))
    if liquidated:
        assert np.all(stop.to_frame()["hedge_qty"].iloc[2:] == 0.0)
        assert np.all(stop.nav[2:] == stop.nav[2])


def test_liquidation_at_close_mode_ignores_wick() -> None:
    close = np.full(5, 100.0)
    high = close.copy()
    high[2] = 130.0
    rule = make_rule(alpha_lower=0.013, alpha_upper=0.9)
    res = run_backtest(make_data(close, high), rule, NOCOST, BacktestConfig(q_min_usd=0, liq_at_high=False))
    assert res.metrics()["liquidations"] == 0


def test_lower_breach_restores_target_exactly_without_cost() -> None:
    close = np.array([100.0, 101.0, 110.0, 110.0])  # alpha at 110: 1 - 0.8 * 1.1 = 0.12 < 0.15
    rule = make_rule(alpha_target=0.2, alpha_lower=0.15, alpha_upper=0.9)
    res = run_backtest(make_data(close), rule, NOCOST, CFG0)
    f = res.to_frame()
    assert list(f["action"]) == ["none", "none", "raise_collateral", "none"]
    assert f["alpha"].iloc[2] == pytest.approx(0.2, abs=1e-12)
    v = 1e6  # NAV unchanged by a delta-neutral move without funding
    assert f["traded_usd"].iloc[2] == pytest.approx((0.2 - 0.12) * v, rel=1e-10)
    assert f["spot_qty"].iloc[2] == pytest.approx(-f["hedge_qty"].iloc[2], rel=1e-12)


def test_upper_breach_needs_carry_over_cost_eq47() -> None:
    close = np.array([100.0, 90.0, 60.0, 60.0])  # alpha at 60: 1 - 0.8 * 0.6 = 0.52 > 0.5
    base = dict(alpha_target=0.2, alpha_lower=0.1, alpha_upper=0.5, k_reb_fix=0.002)
    hold = run_backtest(make_data(close), make_rule(kappa_14d=0.002, **base), NOCOST, CFG0)  # 0.32*0.002 < 0.002
    assert hold.metrics()["rebalances"] == 0
    act = run_backtest(make_data(close), make_rule(kappa_14d=0.01, **base), NOCOST, CFG0)  # 0.0032 >= 0.002
    f = act.to_frame()
    assert f["action"].iloc[2] == "lower_collateral"
    assert f["alpha"].iloc[2] == pytest.approx(0.2, abs=1e-12)


def test_emergency_when_below_qmin_executes_full_target() -> None:
    close = np.array([100.0, 110.0, 110.0])
    rule = make_rule(alpha_target=0.2, alpha_lower=0.15, alpha_upper=0.9)
    res = run_backtest(make_data(close), rule, CostModel.fixed(30.0),
                       BacktestConfig(q_min_usd=1e9, charge_entry=False))
    f = res.to_frame()
    assert f["action"].iloc[1] == "emergency"
    m = res.metrics()
    assert m["emergencies"] == 1 and m["rebalances"] == 1
    q = (0.2 - 0.12) * 1e6
    assert f["cost_usd"].iloc[1] == pytest.approx(30e-4 * q, rel=1e-10)


def test_finite_budget_and_buffer_block_then_escalate() -> None:
    """C(q) + b > budget -> Q^max = 0 -> lower breach escalates to EMERGENCY (Table VI step 4)."""
    close = np.array([100.0, 110.0, 110.0])
    rule = make_rule(alpha_target=0.2, alpha_lower=0.15, alpha_upper=0.9)
    ok = run_backtest(make_data(close), rule, CostModel.fixed(20.0, budget_bps=35.0),
                      BacktestConfig(q_min_usd=0.0, buffer_bps=10.0))
    assert ok.to_frame()["action"].iloc[1] == "raise_collateral"
    blocked = run_backtest(make_data(close), rule, CostModel.fixed(20.0, budget_bps=25.0),
                           BacktestConfig(q_min_usd=0.0, buffer_bps=10.0))
    assert blocked.to_frame()["action"].iloc[1] == "emergency"


def test_delay_fills_later_at_later_close() -> None:
    close = np.array([100.0, 110.0, 111.0, 112.0, 112.0])
    rule = make_rule(alpha_target=0.2, alpha_lower=0.15, alpha_upper=0.9)
    res = run_backtest(make_data(close), rule, NOCOST, BacktestConfig(q_min_usd=0, charge_entry=False, delay_bars=2))
    f = res.to_frame()
    assert list(f["action"]) == ["none", "none", "none", "raise_collateral", "none"]
    assert f["traded_usd"].iloc[3] == pytest.approx((0.2 - 0.12) * 1e6, rel=1e-10)  # size decided at bar 1


def _reference_sim(close: np.ndarray, rate: np.ndarray, rule, cost_bps: float, d: float) -> np.ndarray:
    """Independent bookkeeping: entry-price accounting, realised PnL on reductions, policy via ``decide``."""
    pol = BandPolicy(rule.alpha_target, rule.alpha_lower, rule.alpha_upper, rule.kappa_14d, rule.k_reb_fix,
                     0.0, 0.0, float("inf"), float("inf"))
    cc = CostCurve.flat(cost_bps)
    p0 = close[0]
    q = (1 - rule.alpha_target) * d / p0
    size, entry = -q, p0
    collateral = rule.alpha_target * d - cost_bps * 1e-4 * (1 - rule.alpha_target) * d
    navs = []
    for i, p in enumerate(close):
        if i > 0:
            collateral += -size * rate[i] * close[i - 1]  # funding at the open = previous close
        upnl = size * (p - entry)
        v = q * p + collateral + upnl
        dec = decide((collateral + upnl) / v, v, pol, cc, cc)
        if dec.action in (Action.RAISE_COLLATERAL, Action.EMERGENCY):
            u = dec.q_hat_usd / p if dec.action is Action.RAISE_COLLATERAL else dec.q_target_usd / p
            collateral += u * (entry - p)  # realised loss on the bought-back short units
            size += u
            q -= u
            collateral += u * p - cost_bps * 1e-4 * u * p
        elif dec.action is Action.LOWER_COLLATERAL:
            u = dec.q_hat_usd / p
            entry = (size * entry - u * p) / (size - u)  # average entry of the enlarged short
            size -= u
            q += u
            collateral -= u * p + cost_bps * 1e-4 * u * p
        navs.append(q * p + collateral + size * (p - entry))
    return np.array(navs)


def test_matches_independent_reference_on_random_paths() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3):
        n = 3000
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
        rate = rng.normal(2e-5, 3e-5, n)
        rule = make_rule(alpha_target=0.2, alpha_lower=0.15, alpha_upper=0.3, kappa_14d=0.05, k_reb_fix=0.002)
        data = make_data(close, rate=rate)
        res = run_backtest(data, rule, CostModel.fixed(20.0), BacktestConfig(q_min_usd=0.0, buffer_bps=0.0))
        assert res.metrics()["rebalances"] > 5  # the path exercises both sides of the band
        assert res.metrics()["lower_collateral"] > 0 and res.metrics()["raise_collateral"] > 0
        np.testing.assert_allclose(res.nav, _reference_sim(close, rate, rule, 20.0, 1e6), rtol=1e-9)


def test_metrics_hand_checked() -> None:
    close = np.full(24 * 4, 100.0)
    data = make_data(close, rate=np.r_[np.zeros(30), [-0.01], np.zeros(65)])
    res = run_backtest(data, make_rule(), NOCOST, CFG0)
    m = res.metrics()
    # one loss of 1% of the 800k short notional at bar 30 (day 2)
    assert m["acc_return"] == pytest.approx(-0.008, rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(-0.008, rel=1e-12)
    assert m["apy"] == pytest.approx(-0.008 * 365 / 4, rel=1e-12)
    r = res.daily_returns()
    assert len(r) == 4 and r.iloc[1] == pytest.approx(-0.008) and r.iloc[0] == 0.0
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(365), rel=1e-12)
    lev_after = 0.8e6 / (0.2e6 - 8000.0)  # short notional over the margin left after the loss
    assert m["avg_leverage"] == pytest.approx((30 * 4.0 + 66 * lev_after) / 96, rel=1e-12)
    parts = m["ret_funding"] + m["ret_costs"] + m["ret_mtm"]
    assert parts == pytest.approx(m["acc_return"], abs=1e-15)


def test_margin_tier_above_notional_bound_liquidates_earlier() -> None:
    """A wick between the two barriers z(theta=0.05) = 1.1905 and z(theta=0.0125) = 1.2346 (alpha 0.2)."""
    close = np.full(4, 100.0)
    high = close.copy()
    high[2] = 121.0
    rule = make_rule(alpha_target=0.2, alpha_lower=0.013, alpha_upper=0.9, theta_f=0.0125)
    base = BacktestConfig(q_min_usd=0.0, charge_entry=False, margin_tiers=())
    assert run_backtest(make_data(close, high), rule, NOCOST, base).metrics()["liquidations"] == 0
    below = BacktestConfig(q_min_usd=0.0, charge_entry=False, margin_tiers=((0.0, 0.0125), (2e6, 0.05)))
    assert run_backtest(make_data(close, high), rule, NOCOST, below).metrics()["liquidations"] == 0
    above = BacktestConfig(q_min_usd=0.0, charge_entry=False, margin_tiers=((0.0, 0.0125), (5e5, 0.05)))
    assert run_backtest(make_data(close, high), rule, NOCOST, above).metrics()["liquidations"] == 1
    # the shipped Hyperliquid BTC table (20x above $150M notional) is used by default
    lo, th = BacktestConfig().tiers_for("BTC")
    assert lo.tolist() == [150e6] and th.tolist() == [1 / 40]
