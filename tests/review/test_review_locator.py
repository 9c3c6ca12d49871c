"""Review of issue 12 (data locator, user store, downloads) as a hostile user/operator.

Every test here reproduces one defect found by an independent reviewer trying the CLI and the Python API on
fresh and damaged data dirs and stores (F1-F15). Each failed on the code as reviewed and passes since its fix; the
comment above each test says what was wrong.

Inputs are built in code (synthetic frames, hand-written JSON) or read in place from the data dir; nothing
is copied into the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.data.io import write_frame
from basisctl.data.store import ParquetStore
from basisctl.errors import BasisctlError
from tests.report_stubs import stub_report_sections


def _funding(rate: float, n: int = 48, start: str = "2026-01-01 01:00") -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="1h", tz="UTC").astype("datetime64[ms, UTC]")
    return pd.DataFrame({"ts": ts, "rate": np.full(n, rate), "interval_hours": np.ones(n)})


# resolved at import (tests/conftest.py sets it before collection); the fixtures below unset the env var
SHARED = Path(os.environ.get("BASISCTL_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data")


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh user: no --data-dir, no BASISCTL_DATA_DIR, an empty user store."""
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.delenv("BASISCTL_DATA_DIR", raising=False)
    monkeypatch.setenv("BASISCTL_STORE", str(store))
    locator.set_data_dir(None)
    locator.clear_caches()
    yield store
    locator.set_data_dir(None)
    locator.clear_caches()


def _meta(universe: list[dict], tables: list | None) -> list:
    meta: dict = {"universe": universe, "collateralToken": 0}
    if tables is not None:
        meta["marginTables"] = tables
    ctx = {"funding": "0.0000125", "openInterest": "1", "prevDayPx": "1.0", "dayNtlVlm": "0.0", "premium": "0.0",
           "oraclePx": "1.0", "markPx": "1.0", "midPx": "1.0", "impactPxs": ["1.0", "1.1"], "dayBaseVlm": "0.0"}
    return [meta, [dict(ctx) for _ in universe]]


def _write_meta(root: Path, payload: object) -> Path:
    p = root / "hyperliquid" / "metaAndAssetCtxs_2026-03-10.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(payload))
    return p


# ------------------------------------------------------------------------------------------------ HIGH
# fixed: review12 F1: a well-formed metaAndAssetCtxs with an empty universe crashes hyperliquid_tiers with KeyError
#  'name' (CLI: traceback, exit 1) instead of a DataValidationError naming the file
def test_meta_with_empty_universe_is_one_clear_error(empty: Path, tmp_path: Path) -> None:
    # repro: basisctl --data-dir D backtest --asset BTC --funding-venue hyperliquid ... where
    # D/hyperliquid/metaAndAssetCtxs_<date>.json is `[{"universe": []}, []]` -> KeyError traceback, exit 1
    d = tmp_path / "d"
    meta = _write_meta(d, [{"universe": []}, []])
    locator.set_data_dir(d)
    with pytest.raises(BasisctlError, match=str(meta)):
        locator.hyperliquid_tiers("BTC")


# fixed: review12 F2: appending to a store file that is valid Parquet with the wrong columns raises KeyError 'ts'
#  (CLI `data fetch`: traceback, exit 1) instead of the 'corrupt store file ... delete it and fetch it again' error
def test_append_to_wrong_schema_store_file_names_the_file(tmp_path: Path) -> None:
    # repro: a store file funding/hyperliquid/DOGE.parquet holding columns ['a'], then
    # basisctl data fetch --venue hyperliquid --asset DOGE --from 2026-08-01 --store S --base-url URL
    st = ParquetStore(tmp_path / "store")
    p = st.path("funding", "hyperliquid", "DOGE")
    p.parent.mkdir(parents=True)
    pd.DataFrame({"a": [1, 2]}).to_parquet(p)
    with pytest.raises(BasisctlError, match=f"{p}.*delete it and fetch it again"):
        st.append(_funding(1e-5), "funding", "hyperliquid", "DOGE")


# ------------------------------------------------------------------------------------------------ MEDIUM
# fixed: review12 F3: missing candles in static/bands/backtest/costs capacity/report say only 'no binance_perp
#  candles for BTC cover the 180-day window': no path looked at and no `basisctl data fetch` command (issue 12:
#  what, where, how to fetch)
def test_missing_candles_say_where_and_how_to_fetch(empty: Path) -> None:
    # repro: BASISCTL_STORE=$(mktemp -d) basisctl static --venue binance --asset BTC
    res = CliRunner().invoke(app, ["static", "--venue", "binance", "--asset", "BTC"])
    assert res.exit_code == 2
    assert str(empty) in res.output  # where it looked
    assert "basisctl data fetch" in res.output and "--kind candles" in res.output


# fixed: review12 F4: static-grid with no market data at all exits 0 with 96 all-n/a rows (fail-open) instead of
#  exit 2 saying how to get data, as `report` does
def test_static_grid_without_any_data_fails_closed(empty: Path) -> None:
    # repro: BASISCTL_STORE=$(mktemp -d) basisctl static-grid --json ; echo $?   -> 0, every number null
    res = CliRunner().invoke(app, ["static-grid", "--json"])
    assert res.exit_code == 2
    assert "basisctl data pull" in res.output or "basisctl data fetch" in res.output


@pytest.mark.needs_data
# fixed: review12 F5: backtest with no funding file says 'no hyperliquid funding for BTC in the data dirs (supply
#  --funding-file)': no path looked at, no fetch command
def test_backtest_missing_funding_says_where_and_how_to_fetch(empty: Path, tmp_path: Path) -> None:
    # repro: a data dir with binance_perp candles + meta but no funding/hyperliquid/, then
    # basisctl --data-dir D backtest --asset BTC --funding-venue hyperliquid --from 2025-03-10 --to 2026-03-10
    shared = SHARED
    part = tmp_path / "part"
    for rel in ("prices", "hyperliquid", "liquidity", "funding/binance", "funding/bybit"):  # all but HL funding
        (part / rel).parent.mkdir(parents=True, exist_ok=True)
        (part / rel).symlink_to(shared / rel)  # read in place
    res = CliRunner().invoke(app, ["--data-dir", str(part), "backtest", "--asset", "BTC", "--funding-venue",
                                   "hyperliquid", "--from", "2025-03-10", "--to", "2026-03-10", "--json"])
    assert res.exit_code == 2
    assert str(part / "funding" / "hyperliquid") in res.output
    assert "basisctl data fetch --venue hyperliquid --asset BTC --kind funding" in res.output


# fixed: review12 F6: an asset whose marginTableId is not in marginTables (or a response without marginTables)
#  silently gets one tier at the universe maxLeverage: BTC loses its 20x tier above $150M with no error and no
#  warning (fail-open substitution)
def test_margin_table_id_missing_from_tables_fails_closed(empty: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # repro: take hyperliquid/metaAndAssetCtxs_2026-03-10.json, delete key marginTables, then
    # python -c "from basisctl.data import locator; locator.set_data_dir(D); print(locator.hyperliquid_tiers('BTC'))"
    d = tmp_path / "d"
    universe = [{"szDecimals": 5, "name": "BTC", "maxLeverage": 40, "marginTableId": 56}]
    other_table = [51, {"description": "tiered 10x", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 10}]}]
    _write_meta(d, _meta(universe, [other_table]))  # table 56, which BTC points at, is not in the response
    locator.set_data_dir(d)
    try:
        tiers = locator.hyperliquid_tiers("BTC")
    except BasisctlError:
        return  # fail closed: fine
    assert "warning" in capsys.readouterr().err, f"silently substituted {tiers}"


# fixed: review12 F7: a directory (or a dangling/looping symlink) where a data file should be is treated as absent:
#  the locator silently serves the next root's file (here the user store) and, with nothing behind it, says 'no
#  data' instead of naming the broken path
def test_broken_entry_in_data_dir_is_not_silently_skipped(empty: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # repro: mkdir D/funding/hyperliquid/BTC.csv (or ln -s BTC.csv BTC.csv); basisctl --data-dir D funding-stats
    #        --venue hyperliquid --asset BTC  -> "no hyperliquid funding BTC data: looked for ..."
    d = tmp_path / "d"
    (d / "funding" / "hyperliquid").mkdir(parents=True)
    (d / "funding" / "hyperliquid" / "BTC.csv").symlink_to("BTC.csv")  # symlink loop
    write_frame(_funding(3e-5), empty / "funding" / "hyperliquid" / "BTC.parquet")
    locator.set_data_dir(d)
    try:
        got = locator.load_funding("hyperliquid", "BTC")
    except BasisctlError as e:
        assert "BTC.csv" in str(e) and "looked for" not in str(e)
        return
    assert "warning" in capsys.readouterr().err, f"silently read the store instead: rate {got['rate'].iloc[0]}"


# fixed: review12 F8: the report header prints the literal text '{DEFAULT_ASOF:%Y-%m-%d}' (missing f-prefix in
#  build_report, introduced by d1920a3)
def test_report_header_has_no_unformatted_placeholder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # repro: BASISCTL_DATA_DIR=../shared/data basisctl report --out /tmp/r; grep -c 'DEFAULT_ASOF' /tmp/r/index.html
    # the sections are not the point (and take minutes): stub them, keep build_report's own header
    # (issue 13 split builder.py into one module per section; build_report calls them by these names)
    from basisctl.report import builder

    stub_report_sections(monkeypatch)
    text = builder.build_report(tmp_path / "r").read_text()
    assert "{DEFAULT_ASOF" not in text


# ------------------------------------------------------------------------------------------------ LOW
# fixed: review12 F9: with both BTC.parquet and BTC.csv in one root the Parquet file silently wins (here a stale
#  48-row file over a 96-row CSV): no warning, no error
def test_two_formats_of_one_file_in_one_root_are_not_silently_resolved(
        empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # repro: a data dir with funding/hyperliquid/BTC.csv (full) and a stale BTC.parquet beside it;
    # basisctl --data-dir D funding-stats ... -> "no funding windows in the 90-day window ..." (parquet read)
    d = tmp_path / "d"
    write_frame(_funding(1e-5, n=96), d / "funding" / "hyperliquid" / "BTC.csv")
    write_frame(_funding(2e-5, n=48), d / "funding" / "hyperliquid" / "BTC.parquet")
    locator.set_data_dir(d)
    try:
        locator.load_funding("hyperliquid", "BTC")
    except BasisctlError as e:
        assert "BTC.csv" in str(e) and "BTC.parquet" in str(e)
        return
    assert "warning" in capsys.readouterr().err


# fixed: review12 F10: a store file with the wrong columns makes `data pull` print a multi-line Arrow schema dump in
#  its warning and final error (not one line)
def test_wrong_schema_store_file_error_is_one_line(tmp_path: Path) -> None:
    # repro: store funding/hyperliquid/DOGE.parquet with columns ['a'];
    # basisctl data pull --assets DOGE --store S ... -> 'corrupt store file (ArrowInvalid: No match for
    # FieldRef.Name(ts) in a: int64\n__fragment_index: int32\n...' (resume reads last_ts)
    st = ParquetStore(tmp_path / "store")
    p = st.path("funding", "hyperliquid", "DOGE")
    p.parent.mkdir(parents=True)
    pd.DataFrame({"a": [1, 2]}).to_parquet(p)
    with pytest.raises(BasisctlError) as e:
        st.last_ts("funding", "hyperliquid", "DOGE")
    assert "\n" not in str(e.value), str(e.value)


def test_pull_summary_of_an_up_to_date_series_counts_the_stored_rows(tmp_path: Path) -> None:
    # review12 F11: a second `data pull` printed '+0 rows, no stored'. The summary of every series now carries the
    # rows stored, also when nothing new was fetched or the series is already up to date.
    import pandas as pd

    from basisctl.venues.pull import Clients, Series, fetch_series

    st = ParquetStore(tmp_path / "store")
    st.append(_funding(1e-5), "funding", "hyperliquid", "ZZZ")
    last = st.last_ts("funding", "hyperliquid", "ZZZ")
    s = Series("hyperliquid", "funding", "ZZZ", None, "2026-01-01")
    out = fetch_series(st, s, Clients(), end=last + pd.Timedelta(milliseconds=1))  # nothing after the stored rows
    assert out["up_to_date"] and out["total"] == 48 and out["added"] == 0


# fixed: review12 F12: `--data-dir ''` is silently taken as the current directory (`data list` shows '1. .
#  (--data-dir)') instead of a usage error
def test_empty_data_dir_option_is_an_error(empty: Path) -> None:
    res = CliRunner().invoke(app, ["--data-dir", "", "data", "list"])
    assert res.exit_code == 2


# fixed: review12 F13: `data fetch --from yesterday` (or 2026-02-30) and `data pull --from yesterday` end in a
#  pandas DateParseError traceback, exit 1, not one line with exit 2
def test_fetch_with_an_unparsable_date_is_one_line_exit_2(tmp_path: Path) -> None:
    # repro: basisctl data fetch --venue binance --asset BTC --from yesterday --store S ; echo $?   -> traceback, 1
    res = CliRunner().invoke(app, ["data", "fetch", "--venue", "binance", "--asset", "BTC", "--from", "2026-02-30",
                                   "--store", str(tmp_path / "s"), "--base-url", "http://127.0.0.1:9"])
    assert res.exit_code == 2 and "--from" in res.output, (res.exit_code, res.output, res.exception)


# fixed: review12 F14: a margin-table snapshot named with an impossible date (metaAndAssetCtxs_2026-13-45.json) is
#  accepted and even chosen as the newest; the name is the snapshot's as-of, so it should be rejected (or at least
#  not win)
def test_meta_snapshot_with_an_impossible_date_is_not_the_newest(empty: Path, tmp_path: Path) -> None:
    d = tmp_path / "d"
    universe = [{"szDecimals": 5, "name": "BTC", "maxLeverage": 40, "marginTableId": 40}]
    good = _write_meta(d, _meta(universe, []))
    (good.parent / "metaAndAssetCtxs_2026-13-45.json").write_text(good.read_text())
    locator.set_data_dir(d)
    try:
        chosen = locator.hyperliquid_meta_path()
    except BasisctlError as e:
        assert "2026-13-45" in str(e)
        return
    assert chosen == good


@pytest.mark.needs_data
# fixed: review12 F15: BASISCTL_STORE pointing at a file: `data list` calls it 'empty: not created yet' and `data
#  pull` dies with a NotADirectoryError traceback (exit 1), where BASISCTL_DATA_DIR at a file is one line 'not a
#  directory', exit 2
def test_store_that_is_a_file_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # repro: BASISCTL_STORE=/etc/hostname basisctl data pull --assets BTC --from 2026-08-01 ; echo $?
    from ..data.venue_server import VenueServer  # serves the data dir's history in the venues' API shapes

    not_a_dir = tmp_path / "store"
    not_a_dir.write_text("x")
    monkeypatch.setenv("BASISCTL_STORE", str(not_a_dir))
    srv = VenueServer().start()
    try:
        res = CliRunner().invoke(app, ["data", "pull", "--assets", "BTC", "--from", "2026-08-20",
                                       "--binance-url", srv.url, "--hyperliquid-url", srv.url])
    finally:
        srv.stop()
        locator.set_data_dir(None)
    assert res.exit_code == 2 and "not a directory" in res.output.lower(), (res.exit_code, res.output,
                                                                             repr(res.exception))
