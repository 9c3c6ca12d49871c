"""Portfolio backtest: a one-asset, one-venue book is exactly the single-position backtest; no look-ahead in the
walk-forward allocation; the book NAV adds up from its single runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import CostModel, calibrate_rule, prepare, run_backtest
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.portfolio import allocation_at, rebalance_dates, run_portfolio
from basisctl.backtest.rule import RuleSpec
from basisctl.data import locator

pytestmark = pytest.mark.needs_data

START, END = pd.Timestamp("2025-06-01", tz="UTC"), pd.Timestamp("2025-09-01", tz="UTC")


def stream(venue: str, asset: str = "BTC") -> pd.DataFrame:
    return locator.load_funding(venue, asset)


def test_one_asset_one_venue_book_is_the_single_position_backtest() -> None:
    f = stream("hyperliquid")
    book = run_portfolio(["BTC"], {("BTC", "hyperliquid"): f}, START, END, rebalance="monthly",
                         max_venue_share=1.0, max_asset_share=1.0, risk_aversion=0.0)
    assert len(book.segments) == 1 and book.allocations["date"].nunique() == 3  # held through 3 re-allocations
    rule = calibrate_rule("BTC", START - pd.DateOffset(years=2), START, 20.0,
                          RuleSpec(margin_venue="hyperliquid", kappa_venue="hyperliquid"), funding=f[f["ts"] <= START])
    # no sizer: the paper's GBM rule; real spot where the data has it, as `backtest` does
    single = run_backtest(prepare("BTC", START, END, "binance", "hyperliquid", funding=f, spot="auto"), rule,
                          CostModel.paper("BTC"), BacktestConfig(capital_usd=1_000_000.0))
    np.testing.assert_array_equal(book.nav.to_numpy(), single.nav)  # exactly: zero cash, one continuing run
    assert book.metrics()["acc_return"] == single.metrics()["acc_return"]


def sigma_fixed(asset: str, d: pd.Timestamp) -> float:
    return 0.5


def test_allocation_ignores_everything_after_its_date() -> None:
    d = pd.Timestamp("2025-08-01", tz="UTC")
    streams = {("BTC", v): stream(v) for v in ("hyperliquid", "binance")}
    streams |= {("ETH", v): stream(v, "ETH") for v in ("hyperliquid", "binance")}
    bent = {}
    for k, f in streams.items():
        g = f.copy()
        g.loc[g["ts"] > d, "rate"] *= -10.0  # the future turns upside down
        bent[k] = g
    kw = dict(lookback_days=90.0, max_venue_share=0.6, max_asset_share=0.6, risk_aversion=1.0, sigma_of=sigma_fixed)
    a = allocation_at(d, ["BTC", "ETH"], streams, 1e6, **kw)
    b = allocation_at(d, ["BTC", "ETH"], bent, 1e6, **kw)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_walk_forward_allocations_before_a_perturbation_are_unchanged() -> None:
    streams = {("BTC", v): stream(v) for v in ("hyperliquid", "binance")}
    d2 = pd.Timestamp("2025-08-01", tz="UTC")
    bent = {k: f.assign(rate=np.where(f["ts"] > d2, -f["rate"] * 10, f["rate"])) for k, f in streams.items()}
    kw = dict(rebalance="monthly", max_venue_share=0.7, max_asset_share=1.0, risk_aversion=0.0, sigma_of=sigma_fixed)
    x = run_portfolio(["BTC"], streams, START, END, **kw)
    y = run_portfolio(["BTC"], bent, START, END, **kw)
    upto = lambda r: r.allocations[r.allocations["date"] <= d2].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(upto(x), upto(y))
    assert (x.nav[x.nav.index < d2] == y.nav[y.nav.index < d2]).all()  # the past NAV does not move either
    # book NAV adds up: it starts at the capital (entry costs aside) and every bar is cash + open runs
    assert x.nav.iloc[0] == pytest.approx(1_000_000.0, rel=5e-3)


def test_rebalance_dates() -> None:
    assert rebalance_dates(START, END, "monthly") == [START, pd.Timestamp("2025-07-01", tz="UTC"),
                                                      pd.Timestamp("2025-08-01", tz="UTC")]
    assert rebalance_dates(START, END, "none") == [START]


def test_cli_backtest_portfolio_json_and_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "backtest-portfolio", "--from", "2025-06-01",
                        "--to", "2025-08-01", "--assets", "BTC", "--report", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [b["book"] for b in out["books"]] == ["book", "hyperliquid only", "equal weight"]
    assert set(out["nav_daily"]) == {"book", "hyperliquid only", "equal weight"}
    assert all(a["date"] in ("2025-06-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00") for a in out["allocations"])
    page = (tmp_path / "portfolio.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "id='portfolio'" in page


def test_report_section_states_missing_data() -> None:
    from basisctl.report.portfolio_section import report_section

    html = report_section(["NOPE"], quick=True)
    assert "id='portfolio'" in html and "Not computed: no funding data for NOPE" in html
