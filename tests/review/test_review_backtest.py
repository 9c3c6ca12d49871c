"""Second-opinion checks of the backtest against an independent re-implementation and closed forms.

The reference below shares no code with ``basisctl.backtest`` or ``basisctl.model.policy``: it keeps an
entry-price ledger for the short (realised P&L on reductions, average entry on additions) instead of the
kernel's incremental mark-to-market, and it applies Table VI written out by hand for flat costs.
Spot and perp prices differ (a moving basis) and the two sides have different costs, so a spot/perp or
buy/sell mix-up cannot cancel out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, BacktestData, CostModel, align_funding, run_backtest
from basisctl.backtest import kernel as bt_kernel
from basisctl.model import policy as model_policy
from tests.backtest._bt_synth import T0, make_rule

D = 1_000_000.0


def _scenario(n: int = 120) -> dict[str, np.ndarray]:
    """Perp path: a rise (lower-band breaches), a fall (upper-band breaches), then noise; spot = perp with
    a small time-varying basis; funding with both signs."""
    i = np.arange(n)
    up = np.linspace(100.0, 135.0, 40)
    down = np.linspace(135.0, 68.0, 40)[1:]
    rng = np.random.default_rng(3)
    rest = 68.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n - up.size - down.size)))
    close = np.r_[up, down, rest]
    op = np.r_[close[0] * 0.999, close[:-1] * (1 + 0.0005 * np.cos(i[1:]))]  # opens gap from prior closes
    high = np.maximum(op, close) * 1.001
    basis = 1.0 + 0.002 * np.sin(i / 7.0)
    s_close = close / basis
    s_open = op / (1.0 + 0.002 * np.sin((i - 0.5) / 7.0))
    rate = 3e-5 + 8e-5 * np.sin(i / 5.0)
    return {"p_open": op, "p_high": high, "p_close": close, "s_open": s_open, "s_close": s_close, "rate": rate}


def _data(sc: dict[str, np.ndarray]) -> BacktestData:
    n = sc["p_close"].size
    ts = pd.date_range(T0, periods=n, freq="1h")
    f = pd.DataFrame({"ts": ts[1:], "rate": sc["rate"][1:], "interval_hours": 1.0})
    al = align_funding(f, ts, 1.0)
    return BacktestData("TST", ts, 1.0, sc["p_open"], sc["p_high"], sc["p_close"], sc["s_open"], sc["s_close"],
                        al, "synthetic", "synthetic")


def _reference(sc: dict[str, np.ndarray], a_t: float, a_l: float, a_u: float, kappa: float, k_reb: float,
               buy_bps: float, sell_bps: float, q_min: float, delay: int, split: bool) -> dict[str, np.ndarray]:
    """Entry-price ledger + hand-written Table VI (flat costs, unlimited budgets, no buffer)."""
    po, pc, sopen, scl, rate = sc["p_open"], sc["p_close"], sc["s_open"], sc["s_close"], sc["rate"]
    n = pc.size
    cb, cs = buy_bps * 1e-4, sell_bps * 1e-4
    q0 = (1 - a_t) * D
    if split:
        spot = q0 * (1 - cb / 2) / sopen[0]
        cash = a_t * D - cb / 2 * spot * po[0]
    else:
        spot = q0 / sopen[0]
        cash = a_t * D - cb * q0
    short, entry = spot, po[0]  # short units (> 0) and their average entry price
    out = {k: np.zeros(n) for k in ("nav", "alpha", "fund", "traded", "act", "spot", "short")}
    pending: tuple[int, int, float] | None = None
    for i in range(n):
        if i > 0:  # settlement at this bar's open, on the short carried in, priced at the open
            f = short * rate[i] * po[i]
            cash += f
            out["fund"][i] = f
        p, s = pc[i], scl[i]
        perp_eq = cash - short * (p - entry)
        v = spot * s + perp_eq
        a = perp_eq / v
        act, q = 0, 0.0
        if pending is not None:
            if pending[0] == i:
                act, q = pending[1], pending[2]
                pending = None
        else:
            if a < a_l:
                q_star = (a_t - a) * v
                act, q = (1 if q_star >= q_min else 3), q_star
            elif a > a_u:
                q_star = (a - a_t) * v
                if (a - a_t) * kappa >= k_reb and q_star >= q_min:
                    act, q = 2, q_star
            if act and delay:
                pending, act = (i + delay, act, q), 0
        if act in (1, 3):  # sell-basis: sell spot, buy back perp, USD into margin
            q = min(q, spot * s)
            u = q / s
            spot -= u
            cash += -u * (p - entry)  # realised P&L of the bought-back short units
            short -= u
            cash += q
            cash -= (cs / 2 * q + cs / 2 * u * p) if split else cs * q
        elif act == 2:  # buy-basis: margin out, buy spot, add to the short
            q = min(q, cash - short * (p - entry))
            if split:
                u = q * (1 - cb / 2) / s
                cash -= q + cb / 2 * u * p
            else:
                u = q / s
                cash -= q + cb * q
            spot += u
            entry = (short * entry + u * p) / (short + u)
            short += u
        perp_eq = cash - short * (p - entry)
        out["nav"][i] = spot * s + perp_eq
        out["alpha"][i] = perp_eq / out["nav"][i]
        out["traded"][i] = q if act else 0.0
        out["act"][i] = act
        out["spot"][i], out["short"][i] = spot, short
    return out


CASES = [
    dict(buy_bps=10.0, sell_bps=35.0, q_min=10_000.0, delay=0, split=False),
    dict(buy_bps=10.0, sell_bps=35.0, q_min=10_000.0, delay=0, split=True),
    dict(buy_bps=15.0, sell_bps=25.0, q_min=0.0, delay=2, split=False),
    dict(buy_bps=20.0, sell_bps=20.0, q_min=85_000.0, delay=0, split=False),  # q_min bites: emergencies
]


@pytest.mark.parametrize("case", CASES)
def test_nav_matches_independent_ledger_bar_by_bar(case: dict) -> None:
    sc = _scenario()
    rule = make_rule(alpha_target=0.2, alpha_lower=0.12, alpha_upper=0.3, kappa_14d=0.01, k_reb_fix=0.0005)
    costs = CostModel.fixed(case["buy_bps"], sell_bps=case["sell_bps"])
    cfg = BacktestConfig(capital_usd=D, q_min_usd=case["q_min"], buffer_bps=0.0, delay_bars=case["delay"],
                         split_legs=case["split"], margin_tiers=())
    res = run_backtest(_data(sc), rule, costs, cfg)
    ref = _reference(sc, 0.2, 0.12, 0.3, 0.01, 0.0005, case["buy_bps"], case["sell_bps"], case["q_min"],
                     case["delay"], case["split"])
    f = res.to_frame()
    acts = f["action"].map({"none": 0, "raise_collateral": 1, "lower_collateral": 2, "emergency": 3}).to_numpy()
    # the scenario must exercise both sides of the band
    assert (ref["act"] == 2).sum() >= 1 and np.isin(ref["act"], (1, 3)).sum() >= 2
    np.testing.assert_array_equal(acts, ref["act"])
    np.testing.assert_allclose(res.nav, ref["nav"], rtol=1e-11)
    np.testing.assert_allclose(res.alpha, ref["alpha"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f["funding_usd"].to_numpy(), ref["fund"], rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(f["traded_usd"].to_numpy(), ref["traded"], rtol=1e-11, atol=1e-6)
    assert res.metrics()["liquidations"] == 0
    if case["q_min"] > 50_000:
        assert res.metrics()["emergencies"] >= 1


def test_metrics_from_independent_nav() -> None:
    """APY, funding APY, max DD, daily Sharpe, turnover, avg leverage and the decomposition recomputed from
    the reference ledger's series with pandas."""
    sc = _scenario(24 * 5)
    rule = make_rule(alpha_target=0.2, alpha_lower=0.12, alpha_upper=0.3, kappa_14d=0.01, k_reb_fix=0.0005)
    cfg = BacktestConfig(capital_usd=D, q_min_usd=10_000.0, buffer_bps=0.0, margin_tiers=())
    res = run_backtest(_data(sc), rule, CostModel.fixed(10.0, sell_bps=35.0), cfg)
    ref = _reference(sc, 0.2, 0.12, 0.3, 0.01, 0.0005, 10.0, 35.0, 10_000.0, 0, False)
    m = res.metrics()
    nav = pd.Series(ref["nav"], index=pd.date_range(T0 + pd.Timedelta(hours=1), periods=nav_len(ref), freq="1h"))
    days = 5.0
    acc = nav.iloc[-1] / D - 1
    assert m["acc_return"] == pytest.approx(acc, rel=1e-10)
    assert m["apy"] == pytest.approx(acc * 365 / days, rel=1e-10)
    assert m["funding_apy"] == pytest.approx(ref["fund"].sum() / D * 365 / days, rel=1e-10)
    peak = np.maximum.accumulate(np.r_[D, nav.to_numpy()])
    assert m["max_drawdown"] == pytest.approx(float(np.min(np.r_[D, nav.to_numpy()] / peak - 1)), rel=1e-9)
    # daily NAV at 24:00 UTC (the close of the 23:00 bar), D before the first day
    daily = pd.concat([pd.Series([D]), pd.Series(nav.to_numpy()[23::24])], ignore_index=True)
    r = daily.pct_change().dropna()
    assert len(r) == 5
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(365), rel=1e-8)
    reb = np.isin(ref["act"], (1, 2, 3))
    assert m["rebalances"] == int(reb.sum())
    assert m["turnover_pct"] == pytest.approx(ref["traded"][reb].sum() / D, rel=1e-10)
    lev = (1 - ref["alpha"]) / ref["alpha"]
    assert m["avg_leverage"] == pytest.approx(lev.mean(), rel=1e-9)
    # decomposition: funding + costs + spot-perp MTM = accumulated return, costs = entry + side costs
    cost_ref = 10e-4 * 0.8 * D + sum(
        (35e-4 if a in (1, 3) else 10e-4) * q for a, q in zip(ref["act"], ref["traded"], strict=True) if a)
    assert m["ret_costs"] == pytest.approx(-cost_ref / D, rel=1e-10)
    assert m["ret_funding"] + m["ret_costs"] + m["ret_mtm"] == pytest.approx(acc, abs=1e-14)
    # the MTM term is the spot-perp price P&L itself: units held over each bar times the price changes
    s_prev = np.r_[sc["s_open"][0], sc["s_close"][:-1]]
    p_prev = np.r_[sc["p_open"][0], sc["p_close"][:-1]]
    held_s = np.r_[0.8 * D / sc["s_open"][0], ref["spot"][:-1]]  # units carried into each bar
    held_n = np.r_[0.8 * D / sc["s_open"][0], ref["short"][:-1]]
    mtm = np.sum(held_s * (sc["s_close"] - s_prev) - held_n * (sc["p_close"] - p_prev))
    assert m["ret_mtm"] == pytest.approx(mtm / D, rel=1e-9, abs=1e-12)
    assert abs(mtm / D) > 1e-5  # the moving basis makes the MTM term non-trivial


def nav_len(ref: dict[str, np.ndarray]) -> int:
    return ref["nav"].size


def test_backtest_calls_the_shared_policy() -> None:
    """One policy, two drivers: the kernel's decide_nb is the model's object, not a copy."""
    assert bt_kernel.decide_nb is model_policy.decide_nb
    assert bt_kernel.cost_at_nb is model_policy.cost_at_nb


@pytest.mark.parametrize("theta", [0.0125, 0.05])
@pytest.mark.parametrize("alpha", [0.15, 0.3])
def test_liquidation_barrier_eq15_both_sides(theta: float, alpha: float) -> None:
    """No funding, no costs: a wick to p0 z (1 -/+ 1e-6) is survived / liquidates, z = 1/((1+theta)(1-alpha))."""
    z = 1.0 / ((1 + theta) * (1 - alpha))
    p0 = 250.0
    for factor, liq in ((1 - 1e-6, 0), (1 + 1e-6, 1)):
        close = np.full(4, p0)
        high = close.copy()
        high[2] = p0 * z * factor
        n = close.size
        ts = pd.date_range(T0, periods=n, freq="1h")
        f = pd.DataFrame({"ts": ts[1:], "rate": 0.0, "interval_hours": 1.0})
        data = BacktestData("TST", ts, 1.0, close, high, close, close, close.copy(), align_funding(f, ts, 1.0),
                            "s", "s")
        rule = make_rule(alpha_target=alpha, alpha_lower=min(0.01, alpha), alpha_upper=0.95, theta_f=theta)
        res = run_backtest(data, rule, CostModel.fixed(0.0),
                           BacktestConfig(capital_usd=D, q_min_usd=0.0, buffer_bps=0.0, charge_entry=False,
                                          margin_tiers=()))
        assert res.metrics()["liquidations"] == liq


def test_binance_8h_and_hyperliquid_1h_cadence_same_carry() -> None:
    """Same daily carry paid as 3 x 8h (Binance) or 24 x 1h (Hyperliquid): identical funding cash on a flat
    price, each settlement paid on the bar whose open is the settlement time, positive pays the short."""
    n = 24 * 3
    ts = pd.date_range(T0, periods=n, freq="1h")
    close = np.full(n, 100.0)
    r8 = 3e-4
    f8 = pd.DataFrame({"ts": pd.date_range(T0, periods=10, freq="8h"), "rate": r8, "interval_hours": 8.0})
    f1 = pd.DataFrame({"ts": ts, "rate": r8 / 8, "interval_hours": 1.0})
    cfg = BacktestConfig(capital_usd=D, q_min_usd=0.0, buffer_bps=0.0, charge_entry=False, margin_tiers=())
    rule = make_rule(alpha_target=0.2, alpha_lower=0.01, alpha_upper=0.95)
    out = {}
    for name, f in (("8h", f8), ("1h", f1)):
        data = BacktestData("TST", ts, 1.0, close, close, close, close, close.copy(), align_funding(f, ts, 1.0),
                            "s", "s")
        out[name] = run_backtest(data, rule, CostModel.fixed(0.0), cfg).to_frame()["funding_usd"]
    # 8h: settlements at 08, 16, 24, ..., 64 h on those bars; the one at the start is not owed
    paid8 = out["8h"][out["8h"] != 0]
    assert [int((t - T0) / pd.Timedelta(hours=1)) for t in paid8.index] == list(range(8, 72, 8))
    assert paid8.iloc[0] == pytest.approx(0.8 * D * r8, rel=1e-12)  # short earns r * notional
    # over whole 8h periods the two cadences pay the same
    assert out["8h"].iloc[:65].sum() == pytest.approx(out["1h"].iloc[:65].sum(), rel=1e-12)
    assert out["1h"].iloc[1] == pytest.approx(0.8 * D * r8 / 8, rel=1e-12) and out["1h"].iloc[0] == 0.0


def _bars(opens: pd.DatetimeIndex) -> pd.DataFrame:
    px = np.full(len(opens), 100.0)
    return pd.DataFrame({"ts": opens, "open": px, "high": px, "low": px, "close": px, "volume": 1.0})


def test_missing_last_bar_of_window_is_refused_not_truncated() -> None:
    """A window [T0, T0 + 10 h) of 1 h bars needs the bar opening at T0 + 9 h; without it the window would
    silently shrink (the bar-coverage rule: gaps are refused, never bridged or dropped)."""
    from basisctl.backtest.data import select_window
    from basisctl.errors import DataCoverageError

    full = _bars(pd.date_range(T0, periods=10, freq="1h"))
    end = T0 + pd.Timedelta(hours=10)
    assert len(select_window(full, T0, end, 1.0, "t")) == 10
    with pytest.raises(DataCoverageError, match="last bar opens"):
        select_window(full.iloc[:9], T0, end, 1.0, "t")
    # an end that is not on the bar grid needs the bar opening before it: [T0, T0 + 9.5 h) -> bars 0..9
    with pytest.raises(DataCoverageError, match="last bar opens"):
        select_window(full.iloc[:9], T0, end - pd.Timedelta(minutes=30), 1.0, "t")
    assert len(select_window(full, T0, end - pd.Timedelta(minutes=30), 1.0, "t")) == 10
