"""Liquidation accounting as the venues document it (issue 17 item 3): hand-built gap bars, every component
against its hand-computed value, components summing to the NAV change, and the old accounting kept bit for bit
(``liquidation_price`` close/high with ``rehedge_delay_bars`` = 0) against a frozen copy of the old kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, CostModel, run_backtest
from basisctl.backtest.data import BacktestData, align_funding
from basisctl.backtest.engine import kernel_args
from basisctl.backtest.kernel import (
    C_FORFEIT,
    C_LIQ_FEE,
    C_LIQ_KIND,
    C_LIQ_PRICE,
    C_PERP,
    C_REHEDGE_COST,
    C_RETURNED,
    C_SPOT,
    C_UNHEDGED,
    LIQ_KIND_BACKSTOP,
    LIQ_KIND_MARKET,
    PNL_COLUMNS,
    barrier_price_nb,
)
from tests.backtest import _kernel_frozen_ab70bf5 as frozen
from tests.backtest._bt_synth import T0, make_rule

D = 1.0  # capital [USD]: components are O(1), so 1e-12 is an absolute tolerance
A, TH = 0.2, 0.0125  # alpha_target, theta_F (Hyperliquid 40x)
U = (1.0 - A) * D / 100.0  # short units at entry (price 100)
M0 = A * D
P_STAR = (M0 + U * 100.0) / (U * (1.0 + TH))  # eq. 15: equity = theta_F |H| P
COST = CostModel.fixed(20.0)  # 20 bps per basis trade: the re-hedge pays 10 bps on each leg
TOL = 1e-12


def _bars(o: list[float], h: list[float], c: list[float]) -> BacktestData:
    """Hourly bars with explicit OHLC (spot = perp: both legs move together), no funding paid."""
    ts = pd.date_range(T0, periods=len(o), freq="1h")
    f = pd.DataFrame({"ts": ts[1:], "rate": 0.0, "interval_hours": 1.0})
    o_, h_, c_ = (np.asarray(x, float) for x in (o, h, c))
    return BacktestData("TST", ts, 1.0, o_, h_, c_, o_.copy(), c_.copy(), align_funding(f, ts, 1.0),
                        "synthetic", "synthetic")


def _cfg(**kw: object) -> BacktestConfig:
    base: dict[str, object] = {"capital_usd": D, "q_min_usd": 0.0, "buffer_bps": 0.0, "charge_entry": False,
                               "margin_tiers": ()}
    return BacktestConfig(**{**base, **kw})  # type: ignore[arg-type]


def _run(data: BacktestData, **kw: object):
    return run_backtest(data, make_rule(alpha_target=A, alpha_lower=0.1, alpha_upper=0.6, theta_f=TH), COST,
                        _cfg(**kw))


def _check_sum(res) -> None:
    """Per bar and in total, the P&L components sum to the NAV change (bar 0 from the capital D)."""
    d_nav = np.diff(np.r_[D, res.nav])
    np.testing.assert_allclose(res.components[:, list(PNL_COLUMNS)].sum(axis=1), d_nav, rtol=0, atol=TOL)


def _rehedge_cost(nav_at_open: float, px: float, margin: float = 0.0) -> tuple[float, float, float]:
    """Hand re-entry at an open: sell alpha V - margin of spot into the margin account (the margin returned by a
    market liquidation already counts toward alpha V), short the rest; 10 bps on each leg."""
    q_sell = A * nav_at_open - margin
    units = U - q_sell / px
    return 10e-4 * q_sell + 10e-4 * units * px, units, q_sell


def test_barrier_price_closed_form() -> None:
    assert barrier_price_nb(M0, U, 100.0, TH, np.zeros(0), np.zeros(0)) == pytest.approx(P_STAR, rel=1e-15)
    assert pytest.approx(100.0 / ((1 + TH) * (1 - A)), rel=1e-14) == P_STAR  # eq. 15 in price form
    # a stricter tier reached on the way: the requirement jumps at the tier bound (notional U * b)
    b = 110.0
    p = barrier_price_nb(M0, U, 100.0, TH, np.array([U * b]), np.array([0.5]))
    assert p == pytest.approx(b, rel=1e-15)  # equity at 110 (0.12 D) < 0.5 x notional (0.44 D): liquidated at b
    p2 = barrier_price_nb(M0, U, 100.0, TH, np.array([U * 121.0]), np.array([0.02]))
    assert p2 == pytest.approx((M0 + U * 100.0) / (U * 1.02), rel=1e-14) and p2 > 121.0


def test_hyperliquid_market_liquidation_on_a_gap() -> None:
    """The bar opens beyond the barrier (123.6 > 123.457) with equity >= 2/3 maintenance: closed at the OPEN, the
    rest of the margin returned, no fee; the spot rides naked to the next open (rehedge_delay_bars = 1)."""
    o1 = 123.6
    assert o1 > P_STAR
    data = _bars([100, o1, 124.0], [100, 126.0, 124.0], [100, 125.0, 124.0])
    res = _run(data)
    c = res.components
    e = M0 - U * (o1 - 100.0)  # equity at the open
    assert e >= 2.0 / 3.0 * TH * U * o1  # market, not backstop
    assert c[1, C_LIQ_KIND] == LIQ_KIND_MARKET and c[1, C_LIQ_PRICE] == o1
    assert abs(c[1, C_PERP] - (-U * (o1 - 100.0))) < TOL
    assert abs(c[1, C_SPOT] - U * (o1 - 100.0)) < TOL
    assert abs(c[1, C_RETURNED] - e) < TOL and c[1, C_FORFEIT] == 0.0 and c[1, C_LIQ_FEE] == 0.0
    assert abs(c[1, C_UNHEDGED] - U * (125.0 - o1)) < TOL
    assert abs(c[2, C_UNHEDGED] - U * (124.0 - 125.0)) < TOL  # the close-to-open gap before the re-hedge
    rc, units, _ = _rehedge_cost(U * 124.0 + e, 124.0, margin=e)
    assert abs(c[2, C_REHEDGE_COST] + rc) < TOL
    assert res.arrays[3][2] == pytest.approx(units, rel=1e-14)
    assert abs(res.nav[-1] - (D + U * (124.0 - o1) - rc)) < TOL  # hand NAV: only the naked ride and the cost
    _check_sum(res)
    m = res.metrics()
    assert m["liquidations"] == 1 and m["ret_liquidation"] <= 0.0
    assert c[:, C_LIQ_FEE].sum() + c[:, C_FORFEIT].sum() <= 0.0
    assert m["ret_unhedged"] == pytest.approx(U * (124.0 - o1) / D, abs=TOL)
    assert abs(m["components_residual"]) < TOL


def test_hyperliquid_backstop_liquidation_on_a_gap() -> None:
    """The bar opens where equity < 2/3 maintenance: backstop liquidation, the remaining margin is forfeited."""
    o1 = 124.5
    data = _bars([100, o1, 124.0], [100, 126.0, 124.0], [100, 125.0, 124.0])
    res = _run(data)
    c = res.components
    e = M0 - U * (o1 - 100.0)
    assert 0.0 < e < 2.0 / 3.0 * TH * U * o1
    assert c[1, C_LIQ_KIND] == LIQ_KIND_BACKSTOP
    assert abs(c[1, C_FORFEIT] - (-e)) < TOL and c[1, C_RETURNED] == 0.0 and c[1, C_LIQ_FEE] == 0.0
    assert abs(c[1, C_PERP] - (-U * (o1 - 100.0))) < TOL
    assert abs(c[1, C_UNHEDGED] - U * (125.0 - o1)) < TOL
    rc, _, _ = _rehedge_cost(U * 124.0, 124.0)
    assert abs(c[2, C_REHEDGE_COST] + rc) < TOL
    assert abs(res.nav[-1] - (D - e + U * (124.0 - o1) - rc)) < TOL
    _check_sum(res)
    m = res.metrics()
    assert m["ret_liquidation"] == pytest.approx(-e / D, abs=TOL) and m["ret_liquidation"] < 0.0


def test_binance_fee_on_an_intrabar_barrier_crossing() -> None:
    """No gap: the high crosses the barrier, the short is closed AT the barrier (equity = maintenance margin), the
    Binance liquidation fee (0.5 % of notional, capped at the equity) is paid, the rest returned; re-hedge at the
    same close (rehedge_delay_bars = 0)."""
    data = _bars([100, 110.0, 120.0], [100, 130.0, 120.0], [100, 120.0, 120.0])
    res = _run(data, liquidation_venue="binance", rehedge_delay_bars=0)
    c = res.components
    mm = TH * U * P_STAR
    fee = min(0.005 * U * P_STAR, mm)
    assert c[1, C_LIQ_PRICE] == pytest.approx(P_STAR, rel=1e-15)
    assert abs(c[1, C_PERP] - (-U * (P_STAR - 100.0))) < TOL
    assert abs(c[1, C_LIQ_FEE] + fee) < TOL and abs(c[1, C_RETURNED] - (mm - fee)) < TOL
    assert c[1, C_FORFEIT] == 0.0
    assert abs(c[1, C_UNHEDGED] - U * (120.0 - P_STAR)) < TOL
    _check_sum(res)
    assert res.metrics()["ret_liquidation"] == pytest.approx(-fee / D, abs=TOL)


def test_planted_45pct_gap_is_never_a_gain() -> None:
    """The issue's planted +45 % gap: the old accounting credited the negative equity at the high as a gain
    (ret_liquidation > 0); the venue accounting caps the perp's loss at its margin and forfeits nothing more."""
    data = _bars([100, 145.0, 145.0], [100, 150.0, 145.0], [100, 145.0, 145.0])
    old = _run(data, liquidation_price="high", rehedge_delay_bars=0).metrics()
    assert old["ret_liquidation"] == pytest.approx(0.2, abs=TOL)  # the flaw: +20 % of D, kept reachable for parity
    res = _run(data)
    m = res.metrics()
    assert m["ret_liquidation"] <= 0.0
    assert res.components[1, C_PERP] == pytest.approx(-M0, abs=TOL)  # loss capped at the posted margin
    _check_sum(res)


@pytest.mark.parametrize("mode", ["close", "high"])
def test_legacy_modes_are_the_old_kernel_bit_for_bit_synthetic(mode: str) -> None:
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 3000)))
    op = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.004, 3000))
    hi = np.maximum(op, close) * (1 + np.abs(rng.normal(0, 0.01, 3000)))
    data = _bars(list(op), list(hi), list(close))
    _assert_bit_identical(data, make_rule(alpha_target=0.08, alpha_lower=0.05, alpha_upper=0.3, theta_f=0.02),
                          mode, expect_liquidations=True)


def _assert_bit_identical(data: BacktestData, rule, mode: str, expect_liquidations: bool = False,
                          costs: CostModel = COST, **cfg: object) -> None:
    new = run_backtest(data, rule, costs, BacktestConfig(liquidation_price=mode, rehedge_delay_bars=0,
                                                         **{"margin_tiers": (), **cfg}))  # type: ignore[arg-type]
    args = list(kernel_args(data, rule, costs, new.config))
    args[26] = mode == "high"  # the old signature: liq_at_high instead of the mode code, no venue parameters
    old = frozen.backtest_nb(*args[:32])
    assert len(old) == len(new.arrays) == 12
    for a, b in zip(new.arrays, old, strict=True):
        assert np.array_equal(a, b)  # exact, not approximate
    if expect_liquidations:
        assert np.count_nonzero(old[7]) > 0


@pytest.mark.needs_data
@pytest.mark.parametrize("mode", ["close", "high"])
def test_legacy_modes_are_the_old_kernel_bit_for_bit_real_data(mode: str) -> None:
    """Real data (DOGE 2024, Binance funding, the window with liquidations), the data dir's tier table."""
    from basisctl.backtest import calibrate_rule, prepare

    rule = calibrate_rule("DOGE", "2023-01-01", "2024-01-01", cost_bps=30)
    data = prepare("DOGE", "2024-01-01", "2025-01-01", funding_venue="binance")
    new = run_backtest(data, rule, CostModel.paper("DOGE"),
                       BacktestConfig(liquidation_price=mode, rehedge_delay_bars=0))
    args = list(kernel_args(data, rule, CostModel.paper("DOGE"), new.config))
    args[26] = mode == "high"
    old = frozen.backtest_nb(*args[:32])
    for a, b in zip(new.arrays, old, strict=True):
        assert np.array_equal(a, b)
    assert np.count_nonzero(old[7]) >= 1
    d_nav = np.diff(np.r_[new.config.capital_usd, new.nav])
    np.testing.assert_allclose(new.components[:, list(PNL_COLUMNS)].sum(axis=1), d_nav, rtol=0, atol=1e-6)


def test_deprecated_liq_at_high_is_the_old_kernel() -> None:
    cfg = BacktestConfig(liq_at_high=True)
    assert (cfg.liq_mode, cfg.rehedge_bars) == ("high", 0)
    assert (BacktestConfig(liq_at_high=False).liq_mode, BacktestConfig().liq_mode) == ("close", "barrier")
    assert BacktestConfig().rehedge_bars == 1


def test_components_sum_on_a_random_path_with_delays() -> None:
    """Random path with gaps, liquidations, re-hedges after 3 bars and policy trades: per-bar sums exact."""
    rng = np.random.default_rng(9)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 2000)))
    op = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.01, 2000))
    hi = np.maximum(op, close) * (1 + np.abs(rng.normal(0, 0.01, 2000)))
    data = _bars(list(op), list(hi), list(close))
    rule = make_rule(alpha_target=0.08, alpha_lower=0.05, alpha_upper=0.3, theta_f=0.02)
    for delay in (0, 1, 3):
        res = run_backtest(data, rule, COST, _cfg(rehedge_delay_bars=delay, charge_entry=True))
        _check_sum(res)
        c = res.components
        assert np.count_nonzero(c[:, C_LIQ_KIND]) > 0
        assert (c[:, C_LIQ_FEE] + c[:, C_FORFEIT] <= 0.0).all()


@pytest.mark.needs_data
def test_cli_liquidation_flags_and_apy_conventions() -> None:
    """--liquidation-price/--rehedge-delay-bars reach the kernel; both APY conventions, the short-window flag and
    the trigger series are in the JSON; a bad mode is one line, exit 2."""
    import json

    from typer.testing import CliRunner

    from basisctl.cli.main import app

    runner = CliRunner()
    base = ["backtest", "--asset", "BTC", "--from", "2025-09-01", "--to", "2025-11-01", "--json"]
    res = runner.invoke(app, base)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["liquidation_price"], out["rehedge_delay_bars"]) == ("barrier", 1)
    assert "mark" in out["liquidation_trigger_series"] and "trade candles" in out["liquidation_trigger_series"]
    days = out["days"]
    assert out["short_window"] is True and days < 365
    assert out["apy_simple"] == out["apy"] == pytest.approx(out["acc_return"] * 365 / days, rel=1e-12)
    assert out["cagr"] == pytest.approx((1 + out["acc_return"]) ** (365 / days) - 1, rel=1e-12)
    assert out["sharpe_caveat"] == ("" if not out["basis_proxy"] else out["sharpe_caveat"])
    old = json.loads(runner.invoke(app, [*base, "--liquidation-price", "close", "--rehedge-delay-bars", "0"]).stdout)
    assert (old["liquidation_price"], old["rehedge_delay_bars"]) == ("close", 0)
    bad = runner.invoke(app, [*base, "--liquidation-price", "wick"])
    assert bad.exit_code == 2 and "--liquidation-price" in bad.output
    neg = runner.invoke(app, [*base, "--rehedge-delay-bars", "-1"])
    assert neg.exit_code == 2


def test_proxy_spot_sharpe_is_caveated() -> None:
    data = _bars([100.0] * 30, [100.0] * 30, [100.0] * 30)
    m = _run(data).metrics()
    assert data.basis_proxy and "spot = perp proxy" in m["sharpe_caveat"]
    assert "proxy" in _run(data).summary()


def test_undocumented_venue_forfeits_the_rest_with_a_warning() -> None:
    """A venue without a documented procedure: the conservative reading (everything left is forfeited), said in a
    warning, never a silent default."""
    from basisctl.warnings import SubstitutionWarning

    data = _bars([100, 110.0, 120.0], [100, 130.0, 120.0], [100, 120.0, 120.0])
    with pytest.warns(SubstitutionWarning, match="no documented liquidation procedure for venue 'dydx'"):
        res = _run(data, liquidation_venue="dydx", rehedge_delay_bars=0)
    c = res.components
    assert c[1, C_RETURNED] == 0.0 and abs(c[1, C_FORFEIT] + TH * U * P_STAR) < TOL
    assert "whole remaining margin forfeited" in res.metrics()["liquidation_rule"]
    _check_sum(res)
