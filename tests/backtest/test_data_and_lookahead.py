"""Funding alignment, coverage errors and the no-look-ahead guarantees of calibration and replay."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, CostModel, align_funding, calibrate_rule, prepare, run_backtest
from basisctl.data import locator
from basisctl.errors import DataCoverageError
from tests.backtest._bt_synth import T0, make_data, make_rule

pytestmark = pytest.mark.needs_data  # reads market data from the data dir


def _ts(n: int, h: float = 1.0) -> pd.DatetimeIndex:
    return pd.date_range(T0, periods=n, freq=f"{h:g}h")


def test_eight_hour_funding_pairs_with_bar_whose_open_is_settlement() -> None:
    ts = _ts(48)
    f = pd.DataFrame({"ts": pd.date_range(T0, periods=7, freq="8h"), "rate": np.arange(7) * 1e-5 + 1e-5,
                      "interval_hours": 8.0})
    al = align_funding(f, ts, 1.0)
    # settlement at T0 is excluded (before the position existed); 08, 16, 24, 32, 40 h land on those bars
    assert np.flatnonzero(al.rate).tolist() == [8, 16, 24, 32, 40]
    assert al.rate[8] == pytest.approx(2e-5)
    assert al.n_settlements == 5 and al.missing_settlements == 0 and al.off_grid == 0


def test_missing_settlements_counted_not_filled() -> None:
    ts = _ts(100)
    full = pd.DataFrame({"ts": ts[1:], "rate": 1e-5, "interval_hours": 1.0})
    holed = full.drop(index=[10, 11, 12, 50]).reset_index(drop=True)
    al = align_funding(holed, ts, 1.0)
    assert al.missing_settlements == 4
    assert al.rate.sum() == pytest.approx(1e-5 * (99 - 4))
    # leading and trailing holes
    al2 = align_funding(full.iloc[3:-2], ts, 1.0)
    assert al2.missing_settlements == 5


def test_hourly_funding_on_four_hour_bars_accrues_inside_its_bar() -> None:
    ts = _ts(10, 4.0)
    f = pd.DataFrame({"ts": pd.date_range(T0 + pd.Timedelta(hours=1), periods=36, freq="1h"), "rate": 1e-5,
                      "interval_hours": 1.0})
    al = align_funding(f, ts, 4.0)
    # hours 1-3 settle inside bar 0 (credited at its close), hour 4 at bar 1's open, hours 5-7 inside bar 1
    assert al.rate[0] == 0.0 and al.rate_in[0] == pytest.approx(3e-5)
    assert al.rate[1] == pytest.approx(1e-5) and al.rate_in[1] == pytest.approx(3e-5)
    assert al.rate_total.sum() == pytest.approx(36e-5)
    assert al.off_grid == 27  # every settlement not exactly on a 4h open


def test_intra_bar_funding_is_paid_on_the_position_held_during_the_bar() -> None:
    """A rebalance at a 4h bar's close must not change the funding of the hours inside that bar."""
    from basisctl.backtest.data import BacktestData

    from ._bt_synth import make_rule

    close = np.array([100.0, 100.0, 111.0, 111.0, 111.0])  # the rise at bar 2's close breaches alpha_L
    op = np.r_[close[0], close[:-1]]
    ts = _ts(close.size, 4.0)
    f = pd.DataFrame({"ts": pd.date_range(T0 + pd.Timedelta(hours=1), periods=19, freq="1h"), "rate": 1e-4,
                      "interval_hours": 1.0})
    data = BacktestData("TST", ts, 4.0, op, np.maximum(op, close), close, op, close.copy(),
                        align_funding(f, ts, 4.0), "synthetic", "synthetic")
    res = run_backtest(data, make_rule(alpha_target=0.2, alpha_lower=0.15), CostModel.fixed(0.0), BacktestConfig())
    fr = res.to_frame()
    traded = np.flatnonzero(fr["traded_usd"].to_numpy() > 0)
    assert traded.size and traded[0] == 2
    units_before = 0.8 * 1e6 / 100.0  # the short held through bar 2 (entry: (1 - alpha) D / p0)
    # bar 2: settlement at its open (hour 8, price 100) and three inside it (hours 9-11, paid at the close, 111)
    expected = units_before * (1e-4 * 100.0 + 3e-4 * 111.0)
    assert fr["funding_usd"].iloc[2] == pytest.approx(expected, rel=1e-12)


def test_no_funding_in_window_is_an_error() -> None:
    f = pd.DataFrame({"ts": [T0 - pd.Timedelta(days=3)], "rate": [1e-4], "interval_hours": [8.0]})
    with pytest.raises(DataCoverageError, match="refusing to run with zero funding"):
        align_funding(f, _ts(10), 1.0)


def test_hourly_gap_falls_back_to_4h_or_refuses(gappy_hourly_data_dir: object) -> None:
    d = prepare("BTC", "2024-07-01", "2024-08-01", funding_venue="hyperliquid")
    assert d.bar_hours == 4.0 and d.prices_source.endswith("_4h")
    with pytest.raises(DataCoverageError, match="gap"):
        prepare("BTC", "2024-06-01", "2024-07-01", funding_venue="hyperliquid", bar="1h")


def test_calibration_ignores_everything_after_calib_to() -> None:
    """Perturb every price bar and funding row at/after calib_to: the frozen rule is bit-identical."""
    c_to = pd.Timestamp("2025-03-10", tz="UTC")
    c1 = locator.load_candles("binance_perp", "BTC", "4h")
    f = locator.load_funding("binance", "BTC")
    base = calibrate_rule("BTC", c_to - pd.DateOffset(years=2), c_to, 20.0, candles=c1, candles_bar_hours=4.0,
                          funding=f)
    c2 = c1.copy()
    late = c2["ts"] >= c_to
    for col in ("open", "high", "low", "close"):
        c2.loc[late, col] *= np.exp(np.random.default_rng(0).normal(0, 0.2, late.sum()))
    f2 = f.copy()
    f2.loc[f2["ts"] > c_to, "rate"] = 0.01
    pert = calibrate_rule("BTC", c_to - pd.DateOffset(years=2), c_to, 20.0, candles=c2, candles_bar_hours=4.0,
                          funding=f2)
    assert pert == base
    # ... and the perturbation reaches the rule when calibration is allowed to see it
    later = calibrate_rule("BTC", c_to, c_to + pd.DateOffset(months=9), 20.0, candles=c2, candles_bar_hours=4.0,
                           funding=f2)
    assert later.sigma_annual != base.sigma_annual and later.kappa_14d != base.kappa_14d


def test_replay_past_nav_unchanged_by_future_prices_and_funding() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    rate = rng.normal(1e-5, 2e-5, 2000)
    rule = make_rule(alpha_lower=0.15, alpha_upper=0.3, kappa_14d=0.05)
    cfg = BacktestConfig(q_min_usd=0.0)
    a = run_backtest(make_data(close, rate=rate), rule, CostModel.fixed(20.0), cfg)
    k = 1200
    close2, rate2 = close.copy(), rate.copy()
    close2[k + 1:] *= 1.3
    rate2[k + 1:] = -1e-3
    b = run_backtest(make_data(close2, rate=rate2), rule, CostModel.fixed(20.0), cfg)
    np.testing.assert_array_equal(a.nav[: k + 1], b.nav[: k + 1])
    np.testing.assert_array_equal(a.alpha[: k + 1], b.alpha[: k + 1])
    assert not np.array_equal(a.nav[k + 2:], b.nav[k + 2:])


def test_numba_kernel_matches_pure_python_twin() -> None:
    """BASISCTL_DISABLE_JIT=1 runs the same source as plain Python: results must be identical."""
    code = textwrap.dedent("""
        import numpy as np, sys
        sys.path.insert(0, 'tests/backtest')
        from _bt_synth import make_data, make_rule
        from basisctl.backtest import run_backtest, CostModel, BacktestConfig
        rng = np.random.default_rng(11)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, 1500)))
        hi = close * (1 + np.abs(rng.normal(0, 0.01, 1500)))
        r = run_backtest(make_data(close, hi, rate=rng.normal(1e-5, 3e-5, 1500)),
                         make_rule(alpha_lower=0.15, alpha_upper=0.3, kappa_14d=0.05),
                         CostModel.fixed(20.0), BacktestConfig(q_min_usd=5e4, delay_bars=1))
        np.save(sys.argv[1], np.vstack([np.asarray(a, float) for a in r.arrays] + list(r.components.T)))
    """)
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for flag in ("0", "1"):
            path = os.path.join(tmp, f"o{flag}.npy")
            env = {**os.environ, "BASISCTL_DISABLE_JIT": flag}
            subprocess.run([sys.executable, "-c", code, path], check=True, env=env, cwd=os.getcwd())
            outs.append(np.load(path))
    assert outs[0][8].astype(int).tolist().count(1) > 0  # some rebalances happened
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-9)
