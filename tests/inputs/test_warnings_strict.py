"""Issue 10 items 2 and 3: no silent substitutions (warning / --strict) and defaults users expect."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.backtest.costs import DEFAULT_COST_BPS, paper_cost_bps
from basisctl.calibration.inputs import margin_for
from basisctl.cli.main import app
from basisctl.warnings import StrictError, SubstitutionWarning, collecting, substitute
from tests.report_stubs import stub_report_sections

runner = CliRunner()


def _bt(*args: str) -> object:
    return runner.invoke(app, ["backtest", *args])


# ------------------------------------------------------------------------------------------------ the mechanism
def test_collector_records_once_strict_raises_and_plain_python_warns() -> None:
    with collecting() as col:
        substitute("paper_input", "x used the paper")
        substitute("paper_input", "x used the paper")
        with collecting() as inner:
            substitute("thin_sample", "thin")
        assert inner.messages == ["thin"]
    assert col.messages == ["x used the paper", "thin"]
    with collecting(strict=True), pytest.raises(StrictError, match="--strict"):
        substitute("default_input", "flat cost")
    with pytest.warns(SubstitutionWarning, match="flat 30 bps"):
        assert paper_cost_bps("XRP") == DEFAULT_COST_BPS


def test_flat_cost_for_unknown_asset_is_a_warning_not_silent() -> None:
    with collecting() as col:
        assert paper_cost_bps("BTC") == 20.0 and col.messages == []
        paper_cost_bps("XRP")
    assert len(col.messages) == 1 and "XRP" in col.messages[0] and "--cost-bps" in col.messages[0]


# ------------------------------------------------------------------------------ Table VII kappa fallback, --strict
@pytest.mark.needs_data
def test_paper_kappa_fallback_warns_and_strict_refuses() -> None:
    # Binance LINK funding starts 2023-12-10: no complete 14-day calibration window before 2023-12-20
    args = ["--asset", "LINK", "--from", "2023-12-20", "--to", "2024-01-03"]
    r = _bt(*args, "--json")
    assert r.exit_code == 0, r.output
    # issue 20 g: the warning names the venue and the file whose windows are missing
    assert "warning: binance LINK funding (" in r.stderr and "/funding/binance/LINK.csv): kappa_14d = 36.8 bps is " \
        "the paper's Table VII number" in r.stderr
    assert any("Table VII" in w for w in json.loads(r.stdout)["warnings"])
    s = _bt(*args, "--strict")
    assert s.exit_code == 2 and "error:" in s.stderr and "Table VII" in s.stderr
    assert s.stdout == ""


# ------------------------------------------------------------------------------------------------ thin samples
def _real_funding_slice(real: Path, tmp_path: Path, days: int) -> Path:
    df = pd.read_csv(real / "funding/hyperliquid/BTC.csv", dtype=str, keep_default_na=False)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    end = pd.Timestamp("2026-03-01", tz="UTC")
    out = df[(ts > end - pd.Timedelta(days=days)) & (ts <= end)]
    p = tmp_path / "BTC_funding.csv"
    out.to_csv(p, index=False)
    return p


def test_thin_kappa_sample_warns_and_strict_refuses(real: Path, tmp_path: Path) -> None:
    f = _real_funding_slice(real, tmp_path, 42)
    base = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5", "--funding-file", str(f),
            "--lookback-days", "180", "--model", "gbm"]  # --sigma: the paper's model (fhs would warn too)
    r = runner.invoke(app, [*base, "--json"])
    assert r.exit_code == 0, r.output
    line = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(line) == 1 and "of 180 days" in line[0] and "thin sample" in line[0]
    assert json.loads(r.stdout)["warnings"] == [line[0].removeprefix("warning: ")]
    s = runner.invoke(app, [*base, "--strict"])
    assert s.exit_code == 2 and "thin sample" in s.stderr
    # the full 180 days: no warning
    g = _real_funding_slice(real, tmp_path, 200)
    ok = runner.invoke(app, [*base[:-4], "--funding-file", str(g), "--lookback-days", "180", "--strict"])
    assert ok.exit_code == 0, ok.output


# ------------------------------------------------------------------------------------- missing funding in backtest
def test_missing_settlements_above_two_percent_are_an_error(real: Path, tmp_path: Path) -> None:
    df = pd.read_csv(real / "funding/hyperliquid/BTC.csv", dtype=str, keep_default_na=False)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    window = (ts > pd.Timestamp("2025-03-10", tz="UTC")) & (ts < pd.Timestamp("2025-03-24", tz="UTC"))
    idx = df.index[window]
    drop = idx[::10]  # 10 % of the window's hourly settlements
    p = tmp_path / "BTC_holes.csv"
    df.drop(index=drop).to_csv(p, index=False)
    args = ["--asset", "BTC", "--from", "2025-03-10", "--to", "2025-03-24", "--funding-file", str(p),
            "--kappa-bps", "30"]
    r = _bt(*args)
    assert r.exit_code == 2
    assert f"{len(drop):,} of" in r.stderr and "--allow-missing-funding" in r.stderr
    ok = _bt(*args, "--allow-missing-funding", "--json")
    assert ok.exit_code == 0, ok.output
    warn = [x for x in ok.stderr.splitlines() if "funding settlements" in x]
    assert len(warn) == 1 and warn[0].startswith("warning:") and f"{len(drop):,} of" in warn[0]
    assert json.loads(ok.stdout)["missing_funding_settlements"] == len(drop)


# ------------------------------------------------------------------------------------------- defaults (item 3)
def _margin_table(real: Path) -> dict[str, float]:
    """First-tier max leverage per listed asset, read from the data's CSVs (universe + margin tables)."""
    d = real / "hyperliquid"
    uni = list(csv.DictReader(next(d.glob("universe_*.csv")).read_text().splitlines()))
    tables: dict[str, list[tuple[float, float]]] = {}
    for r in csv.DictReader(next(d.glob("margin_tables_*.csv")).read_text().splitlines()):
        tables.setdefault(r["margin_table_id"], []).append((float(r["lower_bound_usd"]), float(r["max_leverage"])))
    out = {}
    for r in uni:
        tiers = sorted(tables.get(r["marginTableId"], []))
        out[r["name"]] = tiers[0][1] if tiers else float(r["maxLeverage"])
    return out


def test_default_l_max_for_every_listed_hyperliquid_asset(real: Path) -> None:
    table = _margin_table(real)
    assert len(table) > 200
    paper = {"BTC": 40.0, "ETH": 25.0, "LINK": 10.0, "DOGE": 10.0}
    for asset, lev in table.items():
        if asset in paper or lev <= 1:
            continue
        theta, l_max = margin_for("hyperliquid", asset)
        assert l_max == lev and theta == pytest.approx(0.5 / lev), asset
@pytest.mark.needs_data
def test_static_for_a_listed_asset_uses_the_table(real: Path) -> None:
    lev = _margin_table(real)["XRP"]
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "XRP", "--sigma", "0.6",
                            "--kappa-bps", "1", "--model", "gbm", "--json"])  # no XRP bars: the paper's model
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["l_max"] == lev and out["theta_f"] == pytest.approx(0.5 / lev)
@pytest.mark.needs_data
def test_unknown_asset_lists_the_data_and_how_to_supply_files() -> None:
    r = runner.invoke(app, ["static", "--venue", "binance", "--asset", "XRP"])
    assert r.exit_code == 2
    assert "the data has binance_perp candles for BTC, DOGE, ETH, LINK" in r.stderr and "--prices-file" in r.stderr
    assert "basisctl data fetch" in r.stderr
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "NOPE", "--sigma", ".5",
                            "--kappa-bps", "1"])
    assert r.exit_code == 2 and "not in the Hyperliquid margin table" in r.stderr and "--l-max" in r.stderr


@pytest.mark.needs_data
@pytest.mark.parametrize("flag", ["--funding-venue", "--prices-venue"])
def test_misspelt_venue_on_backtest_lists_valid_venues(flag: str) -> None:
    r = _bt("--asset", "BTC", flag, "hyperliqiud")
    assert r.exit_code == 2
    # issue 20 j: --funding-venue accepts (and lists) every registry venue; prices come from the shipped markets
    listed = ("hyperliquid, binance, bybit, okx, dydx, kraken" if flag == "--funding-venue"
              else "binance, hyperliquid, bybit")
    assert f"unknown {flag} 'hyperliqiud': expected one of {listed}" in r.stderr
    assert "warning" not in r.stderr  # refused before any calibration
@pytest.mark.needs_data
def test_no_warning_leaks_as_python_warning_in_the_cli() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SubstitutionWarning)
        r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "BTC", "--json"])
    assert r.exit_code == 0, r.output


# ------------------------------------------------------------------------------------ the report lists them
@pytest.mark.needs_data
def test_report_section_lists_its_warnings_under_it() -> None:
    from basisctl.backtest.experiment import Period, run_experiment
    from basisctl.report.warnings_section import with_warnings

    link = [Period("LINK", "2023-12-20", "2024-01-03", "test")]
    exp, html = with_warnings(lambda: run_experiment(link))
    assert exp.results and "class='warnings'" in html
    assert "binance LINK funding (" in html  # issue 20 g: venue and file
    assert "/funding/binance/LINK.csv): kappa_14d = 36.8 bps is the paper&#x27;s Table VII number" in html
    _, empty = with_warnings(lambda: None)
    assert empty == ""
@pytest.mark.needs_data
def test_result_objects_carry_their_warnings() -> None:
    from basisctl.backtest import CostModel, calibrate_rule, prepare, run_backtest

    with collecting() as col:
        rule = calibrate_rule("LINK", "2021-12-20", "2023-12-20", 30.0)
        data = prepare("LINK", "2023-12-20", "2024-01-03", funding_venue="hyperliquid")
    assert len(rule.warnings) == 1 and "Table VII" in rule.warnings[0]
    assert list(rule.warnings) == [m for m in col.messages if "Table VII" in m]  # also reached the caller
    res = run_backtest(data, rule, CostModel.fixed(30.0))
    assert res.metrics()["warnings"][0] == rule.warnings[0]
    clean = calibrate_rule("BTC", "2024-03-10", "2025-03-10", 20.0, kappa_bps_14d=30.0)
    assert clean.warnings == ()


@pytest.mark.needs_data
def test_report_strict_refuses_and_plain_report_lists_under_the_section(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.report import builder

    def static(assets: list[str], quick: bool) -> tuple[str, None]:
        substitute("thin_sample", "XYZ: kappa from 3 of 180 days (stub)")
        return "<section id='static'></section>", None

    # the sections are not the point (and take minutes): stub them, keep the CLI, the collector and the layout
    stub_report_sections(monkeypatch)
    monkeypatch.setattr(builder, "static_section", static)
    s = runner.invoke(app, ["report", "--out", str(tmp_path / "s"), "--strict"])
    assert s.exit_code == 2 and "XYZ: kappa from 3 of 180 days (stub)" in s.stderr and "--strict" in s.stderr
    assert not (tmp_path / "s" / "index.html").exists()
    r = runner.invoke(app, ["report", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert "warning: XYZ: kappa from 3 of 180 days (stub)" in r.stderr
    page = (tmp_path / "r" / "index.html").read_text()
    after_static = page[page.index("<section id='static'>"):]
    assert "<li>warning: XYZ: kappa from 3 of 180 days (stub)</li>" in after_static  # listed under that section


@pytest.mark.needs_data
def test_bands_strict_refuses_a_thin_kappa(real: Path, tmp_path: Path) -> None:
    f = _real_funding_slice(real, tmp_path, 42)
    args = ["bands", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5", "--funding-file", str(f)]
    assert runner.invoke(app, args).exit_code == 0
    r = runner.invoke(app, [*args, "--strict"])
    assert r.exit_code == 2 and "42 of 180 days" in r.stderr
