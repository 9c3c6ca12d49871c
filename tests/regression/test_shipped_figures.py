"""The figures basisctl gave on its old shipped datasets, reproduced from the data dir (``../shared/data``).

``figures_eac8fd6.json`` holds the static grid, the bands and the six funding-environment backtests as computed
at commit eac8fd6, the last commit that shipped Parquet copies of the market data. Every figure must be identical
now, except the cells listed below, each changed by a named change in ``../shared/data`` (its README, turn 2):

* LINK 1h Binance perp bars: the holes in the 180-day window before 2026-03-10 are filled (vol coverage 98.7% ->
  100%), and the 360-day window now has 1h bars instead of the 4h fallback (the 2024-06 -> 2025-03 hole filled).
* Hyperliquid DOGE funding 2025-03 -> 2025-07 now carries the exact API values (source HC replaces GM): the
  360-day kappa of Hyperliquid DOGE changes.
* The 2025-26 backtests: their rules are calibrated on 2023-03 -> 2025-03, where the old data had neither
  Binance funding for 2024 nor 1h bars from 2024-06 (kappa came from 2023 only, or the paper's Table VII
  fallback for DOGE/LINK; sigma from 4h bars).

Re-baselined once for issue 17 (items 3 and 5); the old figures of every 2023 row stay reachable and are checked
exactly (``test_old_settings_reproduce_recorded_2023_figures``: ``spot="perp"``, ``liquidation_price="high"``,
``rehedge_delay_bars=0``). Why each 2023 figure moved:
* every 2023 row (item 5, real spot where the data dir has it): the experiment now values the spot leg at the
  Binance spot 1h closes instead of the perp series (``spot_source`` binance_spot/<A>_1h, ``basis_proxy``
  False). APY moves by the basis P&L (``ret_basis`` -0.06 % to -0.12 %) and by rebalance timing (alpha is now
  measured on the spot close), max DD and Sharpe by the basis noise that the proxy could not show.
* 2023 BTC under Binance funding (item 3, liquidation accounting): the one
  liquidation (2023-10-23 22:00, +13.8 % hourly wick) is now a Hyperliquid market liquidation AT THE BARRIER with
  the maintenance margin returned (``ret_liquidation`` 0 instead of -0.62 % forfeited) and the spot leg naked
  until the next bar's open (``ret_unhedged`` -6.74 %: the wick reverted while the spot was unhedged) plus the
  re-hedge cost; APY -6.34 % -> -4.54 % (-4.36 % on the proxy spot; -4.49 % since review r17b: the
  re-entry counts the returned margin toward alpha_target V), max DD -7.95 % -> -6.83 %, and every
  figure after the event (leverage, rebalance sizes, funding earned on the re-entered short) moves with it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basisctl.backtest.experiment import run_experiment
from basisctl.cli.main import app
from basisctl.data import locator

pytestmark = pytest.mark.needs_data
OLD = json.loads((Path(__file__).parent / "figures_eac8fd6.json").read_text())


# Variant 1's alpha_econ is a golden-section maximiser with tol 1e-9 in alpha (model.static.solve_alpha_econ) over
# an objective that is nearly flat at its optimum: its comparisons flip on last-bit differences of the special
# functions between numpy/scipy builds, so alpha_econ moves by up to ~1e-9 (measured: 1.4e-9) with no data change.
# Its figures are compared at the solver's tolerance; every other figure to 1e-12.
SOLVER_TOL = {"alpha_econ": (0.0, 1e-8), "leverage_econ": (1e-7, 0.0), "pi_liq_at_alpha_econ": (1e-5, 0.0)}


def _same(a: object, b: object, key: str = "") -> bool:
    if isinstance(a, float) and isinstance(b, float):
        rel, abs_ = SOLVER_TOL.get(key, (1e-12, 1e-15))
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
    return a == b


def _diff(old: dict, new: dict, skip: tuple[str, ...] = ()) -> list[str]:
    return [k for k in old if k not in skip and not _same(old[k], new.get(k), k)]


def _cli_json(*args: str) -> object:
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_static_grid_identical_except_named_cells() -> None:
    new = _cli_json("static-grid", "--asof", "2026-03-10")
    assert isinstance(new, list) and len(new) == len(OLD["static_grid"]) == 96
    changed = set()
    for o, n in zip(OLD["static_grid"], new, strict=True):
        key = (o["venue"], o["asset"], o["lookback_days"])
        assert (n["venue"], n["asset"], n["lookback_days"], n["stress"]) == (*key, o["stress"])
        if _diff(o, n):
            changed.add(key)
            if key[1] == "LINK" and key[2] == 180.0:
                assert o["vol_coverage"] < 0.99 and n["vol_coverage"] == 1.0  # holes filled
            elif key[1] == "LINK" and key[2] == 360.0:
                assert (o["vol_bar_hours"], n["vol_bar_hours"]) == (4.0, 1.0)  # 1h bars replace the 4h fallback
            elif key == ("hyperliquid", "DOGE", 360.0):
                assert _diff(o, n) and o["sigma_annual"] == n["sigma_annual"]  # only kappa moved
                assert o["kappa_bps"] != n["kappa_bps"]
    assert changed == {("binance", "LINK", 180.0), ("hyperliquid", "LINK", 180.0), ("binance", "LINK", 360.0),
                       ("hyperliquid", "LINK", 360.0), ("hyperliquid", "DOGE", 360.0)}


def test_hyperliquid_doge_funding_source_changed_where_kappa_moved() -> None:
    f = locator.load_funding("hyperliquid", "DOGE")
    win = f[(f["ts"] >= "2025-03-15") & (f["ts"] < "2025-07-20")]
    assert len(win) > 2500 and set(win["source"]) == {"HC"}  # exact API values (was GM in the old datasets)


@pytest.mark.parametrize("venue", ["binance", "hyperliquid"])
@pytest.mark.parametrize("asset", ["BTC", "ETH", "LINK", "DOGE"])
def test_bands_identical_except_link(venue: str, asset: str) -> None:
    old = OLD["bands"][f"{venue}/{asset}"]
    new = _cli_json("bands", "--venue", venue, "--asset", asset, "--risk-model", "gbm",  # the paper's bands
                    "--asof", "2026-03-10")
    assert isinstance(new, dict)
    d = _diff(old, new)
    if asset == "LINK":  # 180-day vol window: coverage 98.7% -> 100% (filled holes)
        assert set(d) <= {"sigma", "sigma_stressed", "alpha_target", "leverage_target", "alpha_lower", "upper",
                          "sigma_source"} and "sigma" in d
        assert abs(new["sigma"] / old["sigma"] - 1) < 0.01
    else:
        assert d == []


def test_old_settings_reproduce_recorded_2023_figures() -> None:
    """The old settings (proxy spot, bar-high liquidation forfeiting the whole margin, re-hedge at the close) give
    every recorded 2023 figure exactly."""
    from basisctl.backtest.engine import BacktestConfig
    from basisctl.backtest.experiment import DEFAULT_PERIODS

    periods = [p for p in DEFAULT_PERIODS if p.label == "2023"]
    exp = run_experiment(periods, config=BacktestConfig(liquidation_price="high", rehedge_delay_bars=0),
                         spot="perp")
    as_json = lambda df: json.loads(json.dumps(df.to_dict("records"), default=str))  # noqa: E731
    new = {(r["period"], r["ticker"], r["funding"]): r for r in as_json(exp.metrics_frame())}
    olds = [o for o in OLD["experiment"]["metrics"] if o["period"] == "2023"]
    assert len(olds) == 4
    for o in olds:
        assert _diff(o, new[(o["period"], o["ticker"], o["funding"])]) == [], o["ticker"]


def test_funding_environment_backtests() -> None:
    exp = run_experiment()
    as_json = lambda df: json.loads(json.dumps(df.to_dict("records"), default=str))  # noqa: E731 (same as recorded)
    new = {(r["period"], r["ticker"], r["funding"]): r for r in as_json(exp.metrics_frame())}
    rules_new = {(r["period"], r["ticker"]): r for r in as_json(exp.rules_frame())}
    for o in OLD["experiment"]["metrics"]:
        n = new[(o["period"], o["ticker"], o["funding"])]
        if o["period"] == "2023":  # re-baselined (module docstring): real spot, venue liquidation accounting
            assert n["spot_source"].startswith("binance_spot/") and n["basis_proxy"] is False
            assert -0.002 < n["ret_basis"] < 0.0
            if (o["ticker"], o["funding"]) == ("BTC", "binance"):
                assert n["liquidations"] == o["liquidations"] == 1
                assert n["ret_liquidation"] <= 0.0 < n["ret_liquidation"] - o["ret_liquidation"]
                # -4.54 % before review r17b: the re-entry now counts the returned margin toward alpha_target V
                # (sells alpha V - E of spot instead of alpha V on top of E): a larger re-entered short, -4.49 %
                assert n["apy"] == pytest.approx(-0.0449, abs=5e-4)
                assert n["ret_unhedged"] == pytest.approx(-0.0689, abs=5e-4)
            else:
                assert n["liquidations"] == o["liquidations"] == 0
                assert abs(n["apy"] - o["apy"]) < 0.003 and abs(n["rebalances"] - o["rebalances"]) <= 2
        else:  # recalibrated on the filled 2024 data: same test window, different frozen rule
            assert (o["start"], o["end"]) == (n["start"], n["end"])
            assert abs(n["apy"] - o["apy"]) < 0.002  # within 0.2 pp
    for o in OLD["experiment"]["rules"]:
        n = rules_new[(o["period"], o["ticker"])]
        if o["period"] == "2023":
            assert _diff(o, n) == []
        else:
            assert (o["sigma_bar_hours"], n["sigma_bar_hours"]) == (4.0, 1.0)
            assert n["kappa_source"].startswith("binance 336h windows") and n["kappa_source"].endswith(
                n["calib"].split("..")[1])
