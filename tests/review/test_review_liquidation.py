"""Independent review of issue 17 items 3-5 (liquidation accounting, APY conventions, Sharpe caveats): defects
found by a reviewer's own bar loop and hostile inputs, each pinned by a test that failed before its fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.backtest import BacktestConfig, CostModel, run_backtest
from basisctl.backtest.data import BacktestData, align_funding
from basisctl.backtest.kernel import C_LIQ_KIND, C_REHEDGE_COST, C_RETURNED, LIQ_KIND_MARKET, PNL_COLUMNS
from basisctl.backtest.sweep import SWEEP_METRICS, SweepGrid, run_sweep
from tests.backtest._bt_synth import T0, make_rule

A, TH = 0.2, 0.0125
TOL = 1e-12


def _bars(o: list[float], h: list[float], c: list[float], rate: float = 0.0) -> BacktestData:
    """Hourly bars with explicit OHLC, spot = perp, hourly funding ``rate`` at every open after the first."""
    ts = pd.date_range(T0, periods=len(o), freq="1h")
    f = pd.DataFrame({"ts": ts[1:], "rate": rate, "interval_hours": 1.0})
    o_, h_, c_ = (np.asarray(x, float) for x in (o, h, c))
    return BacktestData("TST", ts, 1.0, o_, h_, c_, o_.copy(), c_.copy(), align_funding(f, ts, 1.0),
                        "synthetic", "synthetic")


def _run(data: BacktestData, delay: int) -> object:
    cfg = BacktestConfig(capital_usd=1.0, q_min_usd=0.0, buffer_bps=0.0, charge_entry=False, margin_tiers=(),
                         rehedge_delay_bars=delay)
    # alpha_L below alpha_liq and alpha_U near 1: the policy never trades, only the liquidation path acts
    rule = make_rule(alpha_target=A, alpha_lower=1e-4, alpha_upper=0.999, theta_f=TH)
    return run_backtest(data, rule, CostModel.fixed(20.0), cfg)


# --- CLI: an integer option beyond int64 is a one-line error (exit 2), not a numba OverflowError traceback ------

@pytest.mark.parametrize("flag", ["--rehedge-delay-bars", "--delay-bars"])
def test_cli_int_option_beyond_int64_is_a_one_line_error(flag: str) -> None:
    from basisctl.cli.main import app

    r = CliRunner().invoke(app, ["backtest", "--asset", "BTC", "--from", "2024-01-01", "--to", "2024-01-08",
                                 flag, "99999999999999999999"])
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    msg = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(msg) == 1 and msg[0].startswith("error:") and flag in msg[0], r.output


# --- sweep rows carry both APY conventions and the Sharpe proxy caveat (issue 17 item 5) ----------------------

def test_sweep_rows_carry_cagr_short_window_and_sharpe_caveat() -> None:
    n = 24 * 40
    c = 100.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.002, n)))
    data = _bars(list(np.r_[c[0], c[:-1]]), list(np.maximum(np.r_[c[0], c[:-1]], c)), list(c), rate=1e-5)
    assert data.basis_proxy
    rule = make_rule(alpha_target=A, alpha_lower=0.1, alpha_upper=0.6, theta_f=TH)
    df = run_sweep(data, rule, SweepGrid(), executor="serial")
    assert {"cagr", "short_window", "sharpe_caveat"} <= set(SWEEP_METRICS)
    row = df.iloc[0]
    days = data.days
    acc = row["apy"] * days / 365.0  # apy is the simple convention: acc_return x 365 / days
    assert row["cagr"] == pytest.approx((1.0 + acc) ** (365.0 / days) - 1.0, rel=1e-12)
    assert bool(row["short_window"]) is True
    assert "proxy" in str(row["sharpe_caveat"])


# --- re-entry after a market liquidation restores alpha_target, counting the margin returned -------------------

@pytest.mark.parametrize("delay", [0, 1])
def test_reentry_after_market_liquidation_restores_alpha_target(delay: int) -> None:
    """The docs: "re-enter at alpha_target (sell alpha_target V of spot into margin, re-short the rest)". After a
    market liquidation the returned margin E is already in the account, so only alpha V - E of spot is sold; before
    the fix alpha V was sold on top of E (alpha = alpha_target + E/V after re-entry, extra spot sold and charged).
    Flat bars after the re-entry, no funding: alpha at those closes is the post-re-entry alpha exactly."""
    data = _bars([100, 110, 112, 112, 112], [100, 124, 112, 112, 112], [100, 112, 112, 112, 112])
    res = _run(data, delay)
    c = res.components
    assert c[1, C_LIQ_KIND] == LIQ_KIND_MARKET and c[1, C_RETURNED] > 0.0
    e = c[1, C_RETURNED]
    k = 1 + delay  # the bar of the re-entry (close of bar 1, or open of bar 2)
    # hand cost: 10 bps on the spot sold (alpha V - E) and 10 bps on the new short's notional
    u = (1.0 - A) / 100.0
    v = u * 112.0 + e  # spot value at 112 plus the returned margin (V before costs)
    q_sell = A * v - e
    units = u - q_sell / 112.0
    cost = 10e-4 * q_sell + 10e-4 * units * 112.0
    assert c[k, C_REHEDGE_COST] == pytest.approx(-cost, abs=TOL)
    # margin after re-entry = alpha V minus the cost paid from it (as at entry / the old forfeit-all re-entry)
    alpha = res.arrays[1]
    assert alpha[k] == pytest.approx((A * v - cost) / (v - cost), abs=TOL)
    assert alpha[-1] == pytest.approx(alpha[k], abs=TOL) and abs(alpha[k] - A) < 2e-3
    d_nav = np.diff(np.r_[1.0, res.nav])
    np.testing.assert_allclose(c[:, list(PNL_COLUMNS)].sum(axis=1), d_nav, rtol=0, atol=TOL)


# --- the report's Table X carries both APY conventions and the short-window flag (issue 17 item 5) -------------

def test_experiment_table_x_carries_cagr_and_short_window() -> None:
    from basisctl.backtest.experiment import ExperimentResult

    n = 24 * 30
    c = 100.0 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.002, n)))
    data = _bars(list(np.r_[c[0], c[:-1]]), list(np.maximum(np.r_[c[0], c[:-1]], c)), list(c), rate=1e-5)
    res = _run(data, 1)
    tx = ExperimentResult(results={("p", "TST", "binance"): res}).table_x()
    assert {"apy", "cagr", "short_window", "basis_proxy"} <= set(tx.columns)
    m = res.metrics()
    assert tx["cagr"].iloc[0] == pytest.approx((1.0 + m["acc_return"]) ** (365.0 / m["days"]) - 1.0, rel=1e-12)
    assert bool(tx["short_window"].iloc[0]) and bool(tx["basis_proxy"].iloc[0])
