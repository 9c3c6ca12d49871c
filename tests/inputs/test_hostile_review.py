"""New-user / hostile review of the analytics CLIs (rvcli): each defect found, one test each.

Synthetic files only (no data dir needed), so these run on a bare checkout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data.io import check_file, read_candles, read_funding

runner = CliRunner()


def _candles(n: int = 24 * 200, start: str = "2025-01-01", hours: int = 1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=n, freq=f"{hours}h", tz="UTC")
    close = 50_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.005, n)))
    open_ = np.concatenate([[50_000.0], close[:-1]])
    return pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "ts_ms": ts.as_unit("ms").asi8,
                         "open": open_, "high": np.maximum(open_, close) * 1.001,
                         "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1.0})


def _funding(n: int = 24 * 200, start: str = "2025-01-01", rate: float = 1e-5) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    return pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "ts_ms": ts.as_unit("ms").asi8,
                         "rate": rate, "interval_hours": 1.0})


# 1. a Parquet file whose ts_ms column is float64 (pandas writes that after any NaN) crashed the validator with a
#    numpy traceback ("assignment destination is read-only") in every command that reads a file ----------------
def test_parquet_float_ts_ms_is_read_not_a_traceback(tmp_path: Path) -> None:
    c = _candles(48)
    c["ts_ms"] = c["ts_ms"].astype(float)
    p = tmp_path / "c.parquet"
    c.to_parquet(p)
    out = read_candles(p)
    assert len(out) == 48 and out["ts"].iloc[1] - out["ts"].iloc[0] == pd.Timedelta(hours=1)
    f = _funding(48)
    f["ts_ms"] = f["ts_ms"].astype(float)
    q = tmp_path / "f.parquet"
    f.to_parquet(q)
    assert len(read_funding(q)) == 48


def test_parquet_fractional_float_ts_ms_is_one_issue(tmp_path: Path) -> None:
    c = _candles(48)
    c["ts_ms"] = c["ts_ms"].astype(float)
    c.loc[5, "ts_ms"] += 0.5
    p = tmp_path / "c.parquet"
    c.to_parquet(p)
    rep = check_file(p, "candles")
    assert [(i.row, i.column) for i in rep.issues] == [(5, "ts_ms")]


def test_cli_static_on_float_ts_parquet_exits_cleanly(tmp_path: Path) -> None:
    c = _candles()
    c["ts_ms"] = c["ts_ms"].astype(float)
    c.to_parquet(tmp_path / "c.parquet")
    _funding().to_csv(tmp_path / "f.csv", index=False)
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "XRP", "--model", "gbm", "--l-max", "20",
                            "--prices-file", str(tmp_path / "c.parquet"), "--funding-file", str(tmp_path / "f.csv"),
                            "--json"])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize("kind", ["candles", "funding"])
def test_parquet_float_column_with_bad_cells_names_them(tmp_path: Path, kind: str) -> None:
    if kind == "candles":
        d = _candles(48)
        d.loc[7, "close"] = np.inf
        col = "close"
    else:
        d = _funding(48)
        d.loc[7, "rate"] = np.nan
        col = "rate"
    p = tmp_path / "x.parquet"
    d.to_parquet(p)
    rep = check_file(p, kind)  # type: ignore[arg-type]
    assert (7, col) in [(i.row, i.column) for i in rep.issues]


# 2. unshipped assets: the error says why and names only options the command has ----------------------------
@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with nothing in it (and no user store), so every asset is unshipped."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("BASISCTL_DATA_DIR", str(d))
    monkeypatch.setenv("BASISCTL_STORE", str(tmp_path / "store"))
    return d


def test_allocate_without_any_data_says_why(empty_data_dir: Path) -> None:
    r = runner.invoke(app, ["allocate", "--capital-usd", "1000000", "--assets", "AVAX", "--risk-model", "gbm",
                            "--asof", "2026-01-01"])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert "\n" not in msg and "AVAX" in msg and "basisctl data fetch" in msg, msg
    assert "--prices-file" not in msg and "--sigma" not in msg, msg  # allocate has neither option


def test_venues_missing_candles_hint_names_no_foreign_option(empty_data_dir: Path) -> None:
    r = runner.invoke(app, ["venues", "--asset", "XRP", "--risk-model", "gbm", "--asof", "2026-01-01"])
    assert r.exit_code == 2, r.output
    assert "basisctl data fetch" in r.stderr and "--sigma" not in r.stderr and "--prices-file" not in r.stderr


def test_backtest_portfolio_without_funding_names_assets_and_fix(empty_data_dir: Path) -> None:
    r = runner.invoke(app, ["backtest-portfolio", "--assets", "XRP", "--from", "2026-01-01", "--to", "2026-02-01",
                            "--risk-model", "gbm"])
    assert r.exit_code == 2, r.output
    assert "XRP" in r.stderr and "basisctl data fetch" in r.stderr and "--funding-file" in r.stderr


@pytest.mark.parametrize("cmd", [
    ["backtest-portfolio", "--assets", "BTC", "--from", "2026-01-01", "--to", "2026-02-01"],
    ["allocate", "--capital-usd", "1000000", "--assets", "BTC"],
])
def test_funding_file_for_an_asset_not_asked_for_is_refused(tmp_path: Path, cmd: list[str]) -> None:
    f = tmp_path / "xrp.csv"
    _funding().to_csv(f, index=False)
    r = runner.invoke(app, [*cmd, "--risk-model", "gbm", "--funding-file", f"hyperliquid:XRP={f}"])
    assert r.exit_code == 2, r.output
    assert "XRP is not in --assets" in r.stderr


def test_allocate_funding_file_for_a_venue_not_asked_for_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "btc.csv"
    _funding().to_csv(f, index=False)
    r = runner.invoke(app, ["allocate", "--capital-usd", "1000000", "--assets", "BTC", "--venues", "binance",
                            "--risk-model", "gbm", "--funding-file", f"hyperliquid:BTC={f}"])
    assert r.exit_code == 2, r.output
    assert "hyperliquid is not in --venues" in r.stderr


# 3. report: a venue x asset cell without data (a missing or corrupt file in the user's data dir) crashed the
#    Monte Carlo section with "IndexError: Boolean index has wrong length: 8 instead of 7" ----------------------
def test_mc_section_with_one_cell_missing_is_a_note_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.report import mc_section as mc

    assets = ("BTC", "ETH", "SOL", "HYPE")
    up = pd.DataFrame([{"venue": v, "asset": a, "cost_bps": c, "hit_rate": 0.001 * c, "hit_rate_se": 0.01,
                        "median_hit_days": 40.0 + c, "alpha_upper": 0.5, "alpha_target": 0.3, "kappa14_bps": 3.0,
                        "clipped": False}
                       for v in mc.VENUES for a in assets for c in mc.DEFAULT_COSTS_BPS
                       if (v, a) != ("hyperliquid", "BTC")])
    up = pd.concat([up, pd.DataFrame([{"venue": "hyperliquid", "asset": "BTC", "note": "corrupt file X"}])])
    lo = pd.DataFrame([{"venue": v, "asset": a, "sigma_stressed": 0.9, "theta_f": 0.1, "alpha_liq": 0.05,
                        "alpha_lower": 0.08, "mc_liq_rate": 1.1e-4, "mc_liq_rate_se": 1e-5, "alpha_lower_boot": 0.09,
                        "alpha_lower_boot_ci": (0.085, 0.095), "boot_paths": 100_000, "alpha_target": 0.3}
                       for v in mc.VENUES for a in assets if (v, a) != ("hyperliquid", "BTC")])
    monkeypatch.setattr(mc, "mc_grids", lambda assets, note=None: (up.reset_index(drop=True), lo))
    html = mc.mc_section(list(assets))
    assert "corrupt file X" in html
    # the blanked medians still line up with their own rows: a 1e-3 x c hit rate x paths < 30 hits only at c small
    assert html.count("hyperliquid") >= 3


# 4. `--data-dir` after the command (the README shows it before): the error says where it goes ---------------
def test_data_dir_after_the_command_says_it_is_global() -> None:
    r = runner.invoke(app, ["data", "list", "--data-dir", "/nonexistent"])
    assert r.exit_code == 2
    assert "global option, before the command: basisctl --data-dir DIR data list" in r.stderr


# 5. a user file that cannot calibrate: the error names the file, its span and (funding) the likely cause ----
def test_short_prices_file_error_names_file_and_span(tmp_path: Path) -> None:
    p = tmp_path / "short.csv"
    _candles(24 * 30, start="2025-06-01").to_csv(p, index=False)
    _funding(24 * 200).to_csv(tmp_path / "f.csv", index=False)
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "XRP", "--model", "gbm", "--l-max", "20",
                            "--prices-file", str(p), "--funding-file", str(tmp_path / "f.csv")])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert "\n" not in msg and msg.startswith(f"error: {p}: 1h returns cover"), msg
    assert "spans 2025-06-01 to 2025-06-30" in msg, msg


def test_8h_rates_labelled_hourly_name_the_interval_column(tmp_path: Path) -> None:
    f = _funding(3 * 200)
    ts = pd.date_range("2025-01-01", periods=len(f), freq="8h", tz="UTC")
    f["timestamp"], f["ts_ms"] = ts.strftime("%Y-%m-%dT%H:%M:%SZ"), ts.as_unit("ms").asi8
    f["interval_hours"] = 1.0  # wrong: the rows are 8 h apart
    f.to_csv(tmp_path / "f.csv", index=False)
    _candles(24 * 200).to_csv(tmp_path / "c.csv", index=False)
    r = runner.invoke(app, ["static", "--venue", "binance", "--asset", "XRP", "--model", "gbm", "--l-max", "20",
                            "--prices-file", str(tmp_path / "c.csv"), "--funding-file", str(tmp_path / "f.csv")])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert f"{tmp_path / 'f.csv'}: no complete 24h funding windows" in msg and "is interval_hours right?" in msg, msg


# 6. `--from 01/02/2026` ran a backtest from 2 January (pandas reads month-first); a European means 1 February
@pytest.mark.parametrize("text", ["01/02/2026", "1.2.26", "02-01-2026"])
def test_day_month_first_dates_are_refused_not_guessed(text: str) -> None:
    r = runner.invoke(app, ["backtest", "--asset", "BTC", "--from", text, "--to", "2026-03-01"])
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().startswith(f"error: --from: cannot read date '{text}': day/month order is ambiguous")


def test_year_first_slash_dates_still_read() -> None:
    from basisctl.cli._common import check_date

    check_date("2026/02/01", "--from")  # no exit


# 7. `report --assets XRP` on a data dir holding BTC..LINK said "no market data found" ------------------------
def test_report_for_an_unshipped_asset_names_it_and_what_is_there(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "data"
    (d / "funding" / "binance").mkdir(parents=True)
    _funding(48).assign(interval_hours=1.0).to_csv(d / "funding" / "binance" / "BTC.csv", index=False)
    monkeypatch.setenv("BASISCTL_DATA_DIR", str(d))
    monkeypatch.setenv("BASISCTL_STORE", str(tmp_path / "store"))
    r = runner.invoke(app, ["report", "--assets", "XRP", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert msg.startswith("error: no market data for XRP found") and "Binance funding for BTC only" in msg, msg
    assert "data pull --assets XRP" in msg


# 8. locator.recording removed recorders by value: a nested block equal to its outer one took the OUTER one out,
#    so the outer block's later reads were lost (the result cache keys on them) and its exit raised ValueError,
#    masking the real error (report --assets BTC,XRP: "list.remove(x): x not in list" instead of the missing data)
def test_nested_recording_keeps_the_outer_recorder() -> None:
    from basisctl.data import locator

    with locator.recording() as outer:
        with locator.recording() as inner:
            pass  # nothing read: inner == outer by value
        locator._note_probe("find funding/x/Y", None)
    assert "find funding/x/Y" in outer.probes and inner.probes == {}
    assert locator._recorders == []


def test_nested_recording_exit_on_error_reraises_the_error() -> None:
    from basisctl.data import locator
    from basisctl.errors import DataCoverageError

    with pytest.raises(DataCoverageError, match="the real error"), locator.recording():
        with locator.recording():
            pass
        locator._note_probe("find a", None)
        raise DataCoverageError("the real error")
    assert locator._recorders == []


# 9. static-grid / report with an asset that has no documented margin rule on a venue (binance XRP): one note
#    row per cell instead of ending the grid with "pass --l-max or --theta-f" (options static-grid lacks) --------
def test_static_grid_without_margin_rule_is_a_note(empty_data_dir: Path) -> None:
    from basisctl.static_grid import static_grid_frame

    df = static_grid_frame(venues=["binance"], assets=["XRP"], lookbacks=[180.0], stresses=[1.5], asof="2026-01-01")
    assert len(df) == 1 and np.isnan(df["alpha_risk"].iloc[0])
    note = df["note"].iloc[0]
    assert note.startswith("margin: no documented max leverage for binance XRP") and "--theta-f" not in note, note
    assert "basisctl static --venue binance --asset XRP --l-max" in note


# 10. report --assets BTC,XRP with no XRP candles: one line at once, naming the fetch command (was: five sections
#     computed, then a hint naming --prices-file / --model, options report does not have) ------------------------
def test_report_asset_without_candles_fails_first_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    d = tmp_path / "data"
    (d / "funding" / "binance").mkdir(parents=True)
    (d / "prices" / "binance_perp").mkdir(parents=True)
    for a in ("BTC", "XRP"):
        _funding(48).to_csv(d / "funding" / "binance" / f"{a}.csv", index=False)
    _candles(48).to_csv(d / "prices" / "binance_perp" / "BTC_1h.csv", index=False)
    monkeypatch.setenv("BASISCTL_DATA_DIR", str(d))
    monkeypatch.setenv("BASISCTL_STORE", str(tmp_path / "store"))
    r = runner.invoke(app, ["report", "--quick", "--assets", "BTC,XRP", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert "\n" not in msg and msg.startswith("error: no binance_perp 1h or 4h candles for XRP"), msg
    assert "basisctl data fetch --venue binance --asset XRP --kind candles" in msg
    assert "--prices-file" not in msg and "--model" not in msg
    assert not (tmp_path / "r" / "index.html").exists()


# 11. the risk models' 4h fallback was a bare stderr line: not in --json, not refused by --strict ------------------
def test_risk_4h_fallback_is_a_warning_strict_refuses(empty_data_dir: Path) -> None:
    from basisctl.risk.fit import load_bars
    from basisctl.warnings import StrictError, collecting

    (empty_data_dir / "prices" / "binance_perp").mkdir(parents=True)
    _candles(6 * 60, hours=4).to_csv(empty_data_dir / "prices" / "binance_perp" / "XRP_4h.csv", index=False)
    with collecting() as col:
        load_bars("XRP")
    assert col.messages == ["no 1h binance_perp bars for XRP; using 4h bars"]
    with pytest.raises(StrictError), collecting(strict=True):
        load_bars("XRP")


# 12. a user file with a hole of days calibrated without a word (returns/windows across it left out, correctly,
#     but silently): one warning per file naming the hole; --strict refuses -------------------------------------
def _with_hole(tmp_path: Path) -> tuple[Path, Path]:
    c, f = _candles(), _funding()
    hole = lambda d: ~((d["timestamp"] >= "2025-05-01") & (d["timestamp"] < "2025-05-05"))  # noqa: E731
    c[hole(c)].to_csv(tmp_path / "c.csv", index=False)
    f[hole(f)].to_csv(tmp_path / "f.csv", index=False)
    return tmp_path / "c.csv", tmp_path / "f.csv"


def test_user_file_hole_is_a_warning_and_strict_refuses(tmp_path: Path) -> None:
    c, f = _with_hole(tmp_path)
    args = ["static", "--venue", "hyperliquid", "--asset", "XRP", "--model", "gbm", "--l-max", "20",
            "--prices-file", str(c), "--funding-file", str(f), "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    import json

    w = json.loads(r.stdout)["warnings"]
    assert any(m.startswith(f"{c}: 96 1h bars missing") and "2025-05-01 00:00 -> 2025-05-04 23:00" in m for m in w), w
    assert any(m.startswith(f"{f}: 96 funding settlements missing") for m in w), w
    r = runner.invoke(app, [*args, "--strict"])
    assert r.exit_code == 2 and "96 1h bars missing" in r.stderr


def test_user_file_without_hole_warns_nothing(tmp_path: Path) -> None:
    _candles().to_csv(tmp_path / "c.csv", index=False)
    _funding().to_csv(tmp_path / "f.csv", index=False)
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "XRP", "--model", "gbm", "--l-max", "20",
                            "--prices-file", str(tmp_path / "c.csv"), "--funding-file", str(tmp_path / "f.csv"),
                            "--strict", "--json"])
    assert r.exit_code == 0, r.output


def test_gap_helpers_count_against_a_hand_count() -> None:
    from basisctl.calibration.gaps import mark_user_file, warn_candle_gaps, warn_funding_gaps
    from basisctl.warnings import collecting

    c = _candles(100)
    c["ts"] = pd.to_datetime(c["timestamp"], utc=True)
    c = mark_user_file(c.drop(index=[10, 11, 12, 50]).reset_index(drop=True))  # 3 + 1 missing bars, 2 gaps
    f = _funding(100)
    f["ts"] = pd.to_datetime(f["timestamp"], utc=True)
    f = mark_user_file(f.drop(index=[20]).reset_index(drop=True))
    t0, t1 = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-06", tz="UTC")
    with collecting() as col:
        warn_candle_gaps(c, t0, t1, 1.0)
        warn_funding_gaps(f, t0, t1)
        warn_candle_gaps(c, t0 + pd.Timedelta(hours=13), t1, 1.0)  # the window starts after the first hole
    assert col.messages[0].startswith("your file: 4 1h bars missing") and "(2 gap(s), the longest 2025-01-01 10:00 "\
        "-> 2025-01-01 12:00)" in col.messages[0]
    assert col.messages[1].startswith("your file: 1 funding settlements missing") and "20:00 -> 2025-01-01 20:00" \
        in col.messages[1]
    assert col.messages[2].startswith("your file: 1 1h bars missing")
    del c.attrs["user_file"]  # not a user file: the data dirs' documented holes stay quiet
    with collecting() as col:
        warn_candle_gaps(c, t0, t1, 1.0)
    assert col.messages == []


# 13. fhs (the default model) on a user file with a hole: the error says where the hole is --------------------
def test_fhs_gap_error_names_the_hole(tmp_path: Path) -> None:
    c, f = _with_hole(tmp_path)
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "XRP", "--l-max", "20",
                            "--prices-file", str(c), "--funding-file", str(f)])
    assert r.exit_code == 2, r.output
    msg = r.stderr.strip()
    assert "\n" not in msg and "first after the bar of 2025-04-30 23:00, next bar 2025-05-05 00:00" in msg, msg


# 14. a column twice (``Close`` and ``close``: a pandas traceback; ``close`` twice or ``rate`` + ``funding_rate``:
#     the first silently) is one issue naming both -----------------------------------------------------------------
@pytest.mark.parametrize(("kind", "extra", "suffix"), [("candles", "Close", ".csv"), ("candles", "TS_MS", ".csv"),
                                                      ("candles", "close", ".csv"), ("candles", "Close", ".parquet"),
                                                      ("funding", "funding_rate", ".csv"), ("funding", "Rate", ".csv")])
def test_ambiguous_duplicate_columns_are_refused(tmp_path: Path, kind: str, extra: str, suffix: str) -> None:
    from basisctl.errors import DataValidationError

    d = _candles(48) if kind == "candles" else _funding(48)
    p = tmp_path / f"x{suffix}"
    if suffix == ".parquet":
        d.assign(**{extra: 1.0}).to_parquet(p)
    else:
        text = d.to_csv(index=False).splitlines()
        p.write_text("\n".join([text[0] + f",{extra}"] + [t + ",1" for t in text[1:]]) + "\n")
    with pytest.raises(DataValidationError, match="expected unique column names") as e:
        check_file(p)
    assert repr(extra) in str(e.value)
    r = runner.invoke(app, ["data", "check", str(p)])
    assert r.exit_code in (1, 2) and "Traceback" not in r.output and "unique column names" in r.output


def test_column_names_with_spaces_are_read() -> None:
    from basisctl.data.validate import detect_kind

    assert detect_kind([" timestamp", " Rate ", "interval_hours"]) == "funding"


def test_capacity_for_a_position_not_asked_for_is_refused() -> None:
    r = runner.invoke(app, ["allocate", "--capital-usd", "1000000", "--assets", "BTC", "--risk-model", "gbm",
                            "--capacity-usd", "hyperliquid:XRP=500000"])
    assert r.exit_code == 2 and "--capacity-usd hyperliquid:XRP: XRP is not in --assets (BTC)" in r.stderr
    r = runner.invoke(app, ["allocate", "--capital-usd", "1000000", "--assets", "BTC", "--venues", "binance",
                            "--risk-model", "gbm", "--capacity-usd", "hyperliquid=500000"])
    assert r.exit_code == 2 and "hyperliquid is not in --venues (binance)" in r.stderr


# 15. --asof past the data: the error named only the 4h fallback's file and span, not the 1h file that failed first
def test_sigma_error_names_both_the_1h_file_and_the_4h_fallback(empty_data_dir: Path) -> None:
    from basisctl.calibration.inputs import calibrate_sigma
    from basisctl.errors import DataCoverageError

    d = empty_data_dir / "prices" / "binance_perp"
    d.mkdir(parents=True)
    _candles(24 * 100).to_csv(d / "XRP_1h.csv", index=False)
    _candles(6 * 100, hours=4).to_csv(d / "XRP_4h.csv", index=False)
    with pytest.raises(DataCoverageError) as e:
        calibrate_sigma("XRP", "2030-01-01", 180)
    msg = str(e.value)
    assert "XRP_1h.csv: no 1h returns" in msg and "the 4h fallback:" in msg and "XRP_4h.csv: no 4h returns" in msg


@pytest.mark.parametrize("args", [["static", "--venue", "hyperliquid", "--asset", ""],
                                  ["allocate", "--capital-usd", "1000000", "--assets", " , "]])
def test_empty_asset_is_refused(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "needs a symbol" in r.stderr


def test_risk_model_without_bars_names_the_fetch_command(empty_data_dir: Path) -> None:
    r = runner.invoke(app, ["pi-liq", "--asset", "XRP", "--theta-f", "0.025", "--model", "fhs", "--alpha", "0.1",
                            "--horizon-hours", "24"])
    assert r.exit_code == 2, r.output
    assert "basisctl data fetch --venue binance --asset XRP --kind candles" in r.stderr


# 16. the backtest's thin-kappa warning said "funding file BTC" for any frame, also a data-dir stream
#     (backtest-portfolio, report): it names the file now -------------------------------------------------------------
def test_thin_kappa_warning_names_the_file(tmp_path: Path) -> None:
    c = tmp_path / "c.csv"
    f = tmp_path / "f.csv"
    _candles(24 * 200).to_csv(c, index=False)
    _funding(24 * 200).to_csv(f, index=False)
    r = runner.invoke(app, ["backtest", "--asset", "XRP", "--prices-file", str(c), "--funding-file", str(f),
                            "--from", "2025-07-01", "--to", "2025-07-15", "--risk-model", "gbm", "--cost-bps", "10",
                            "--l-max", "20"])
    assert r.exit_code == 0, r.output
    thin = [w for w in r.stderr.splitlines() if "thin sample" in w]
    assert thin and thin[0].startswith(f"warning: XRP funding file ({f}): kappa_336h"), thin
