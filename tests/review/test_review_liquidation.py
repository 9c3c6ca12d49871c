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
