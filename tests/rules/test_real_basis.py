"""Real basis in backtests: a separate spot series, ret_basis by hand, the proxy flagged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import SPOT_PROXY, prepare
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.errors import DataCoverageError
from tests.backtest._bt_synth import make_data, make_rule

runner = CliRunner()


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_ret_basis_by_hand_and_the_nav_identity() -> None:
    """No trade after entry (alpha stays inside the band): the short's units u = 0.8 D / s_0 are fixed, so the basis
    P&L is u ((s_T - s_0) - (p_T - p_0)), and NAV - D = funding + costs + basis exactly."""
    n = 200
    p = 100.0 * (1.0 + 0.02 * np.sin(np.arange(n) / 15.0))
    base = make_data(p, rate=2e-5)
    spread = np.where(np.arange(n) < 80, 0.0, 0.003)  # the spot trades 30 bps rich from bar 80 on
    s_close = p * (1.0 + spread)
    s_open = np.r_[s_close[0], s_close[:-1]]
    data = replace(base, s_open=s_open, s_close=s_close, spot_source="test spot")
    d = 1_000_000.0
    res = run_backtest(data, make_rule(alpha_target=0.2, alpha_lower=0.05, alpha_upper=0.9), CostModel.fixed(20.0),
                       BacktestConfig(capital_usd=d))
    m = res.metrics()
    assert m["rebalances"] == 0 and m["liquidations"] == 0
    u = 0.8 * d / s_open[0]
    expected = u * ((s_close[-1] - s_open[0]) - (p[-1] - base.p_open[0]))
    assert m["ret_basis"] * d == pytest.approx(expected, rel=1e-9)
    assert m["acc_return"] == pytest.approx(m["ret_funding"] + m["ret_costs"] + m["ret_basis"], abs=1e-12)
    assert m["spot_source"] == "test spot" and m["basis_proxy"] is False


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_proxy_has_zero_basis_and_is_flagged() -> None:
    res = run_backtest(make_data(100.0 * np.exp(np.linspace(0, 0.1, 300))), make_rule(), CostModel.fixed(20.0))
    m = res.metrics()
    assert m["ret_basis"] == 0.0 and m["basis_proxy"] is True and m["spot_source"] == SPOT_PROXY
    assert "PROXY" in res.summary()


def _spot_span(asset: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last Binance spot 1h bar of ``asset`` in the data dir (read, never assumed)."""
    ts = locator.load_candles("binance_spot", asset, "1h")["ts"]
    return pd.Timestamp(ts.min()), pd.Timestamp(ts.max())


#: A test window with Binance perp 1h bars and funding in the shared data; the fixture below removes its spot bars.
NO_SPOT_WINDOW = ("2024-03-01", "2024-04-01")


@pytest.fixture
def spot_cut_data_dir(tmp_path: Path) -> Iterator[Path]:
    """The shared data dir with every Binance spot 1h file cut 30 days before ``NO_SPOT_WINDOW`` (the rest
    symlinked in place), so the window has perp bars but no spot bars however far the real spot data reaches."""
    from tests.conftest import DATA_DIR

    assert DATA_DIR is not None
    cut = pd.Timestamp(NO_SPOT_WINDOW[0], tz="UTC") - pd.Timedelta(days=30)
    d = tmp_path / "data"
    (d / "prices").mkdir(parents=True)
    for entry in DATA_DIR.iterdir():
        if entry.name != "prices":
            (d / entry.name).symlink_to(entry)
    for market in (DATA_DIR / "prices").iterdir():
        if market.name != "binance_spot":
            (d / "prices" / market.name).symlink_to(market)
    (d / "prices" / "binance_spot").mkdir()
    for f in (DATA_DIR / "prices" / "binance_spot").glob("*_1h.csv"):
        raw = pd.read_csv(f)
        raw[pd.to_datetime(raw["timestamp"], utc=True) < cut].to_csv(d / "prices" / "binance_spot" / f.name,
                                                                      index=False)
    locator.set_data_dir(d)
    try:
        yield d
    finally:
        locator.set_data_dir(None)


@pytest.mark.needs_data
def test_binance_spot_is_used_where_it_covers_the_window(spot_cut_data_dir: Path) -> None:
    locator.set_data_dir(None)  # the real data dir first
    first, last = _spot_span("ETH")
    start = first + pd.Timedelta(days=212)  # a month well inside the real spot span, read from the data
    assert start + pd.Timedelta(days=31) < last
    got = prepare("ETH", start, start + pd.Timedelta(days=31), "binance", "binance", spot="auto")
    assert got.spot_source.startswith("binance_spot/ETH_1h") and not got.basis_proxy
    assert not np.array_equal(got.s_close, got.p_close)  # a real, separate series
    assert np.max(np.abs(got.s_close / got.p_close - 1.0)) < 0.02  # ... of the same asset
    locator.set_data_dir(spot_cut_data_dir)  # the same data with the spot bars cut before the window
    later = prepare("ETH", *NO_SPOT_WINDOW, "binance", "binance", spot="auto")
    assert later.basis_proxy and later.spot_source == SPOT_PROXY  # no spot bars in the window: the flagged proxy
    with pytest.raises(DataCoverageError, match="Binance spot"):
        prepare("ETH", *NO_SPOT_WINDOW, "binance", "binance", spot="binance_spot")


@pytest.mark.needs_data
def test_backtest_json_has_ret_basis_and_spot_source(spot_cut_data_dir: Path) -> None:
    first, _ = _spot_span("ETH")
    start = (first + pd.Timedelta(days=212)).strftime("%Y-%m-%d")  # inside the spot span that the cut keeps
    end = (first + pd.Timedelta(days=273)).strftime("%Y-%m-%d")
    assert pd.Timestamp(end, tz="UTC") < pd.Timestamp(NO_SPOT_WINDOW[0], tz="UTC") - pd.Timedelta(days=30)
    res = runner.invoke(app, ["backtest", "--asset", "ETH", "--from", start, "--to", end,
                              "--funding-venue", "binance", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["spot_source"].startswith("binance_spot") and out["basis_proxy"] is False
    assert out["ret_basis"] != 0.0
    bad = runner.invoke(app, ["backtest", "--asset", "ETH", "--from", NO_SPOT_WINDOW[0], "--to", NO_SPOT_WINDOW[1],
                              "--spot", "binance_spot"])
    assert bad.exit_code == 2 and "Binance spot" in bad.output


@pytest.mark.needs_data
def test_hyperliquid_premium_spot_by_hand() -> None:
    """On Hyperliquid perp bars the auto spot is p / (1 + premium), the premium read straight from the funding CSV
    row settled at the bar's close."""
    import os

    got = prepare("BTC", "2024-10-01", "2024-10-08", "hyperliquid", "hyperliquid", spot="auto")
    assert got.spot_source.startswith("hyperliquid premium/BTC") and not got.basis_proxy
    raw = pd.read_csv(os.path.join(os.environ["BASISCTL_DATA_DIR"], "funding", "hyperliquid", "BTC.csv"))
    raw["ts"] = pd.to_datetime(raw["timestamp"], utc=True)
    prem = raw.set_index("ts")["premium"]
    for i in (0, 17, 100, len(got.ts) - 1):
        p = prem[got.ts[i] + pd.Timedelta(hours=1)]
        assert got.s_close[i] == pytest.approx(got.p_close[i] / (1.0 + p), rel=1e-12)
    binance_bars = prepare("BTC", "2024-10-01", "2024-10-08", "binance", "hyperliquid", spot="auto")
    # the premium is Hyperliquid's: never applied to Binance bars by auto (Binance spot where the data has it)
    assert not binance_bars.spot_source.startswith("hyperliquid premium")
    first, last = _spot_span("BTC")
    assert binance_bars.basis_proxy is not (first <= binance_bars.ts[0] and binance_bars.ts[-1] <= last)
    with pytest.raises(DataCoverageError, match="premium"):
        prepare("LINK", "2024-10-01", "2024-10-08", "hyperliquid", "hyperliquid", spot="hl_premium")
