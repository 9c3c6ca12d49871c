"""``basisctl data list | check | fetch`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.data.io import write_frame

from .venue_server import VenueServer

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

runner = CliRunner()


class Out:
    def __init__(self, r) -> None:
        self.exit_code = r.exit_code
        self.stdout = r.stdout
        self.output = " ".join(r.output.split())  # rich wraps stderr lines; compare word sequences


def run(*args: str) -> Out:
    return Out(runner.invoke(app, ["data", *args], env={"COLUMNS": "200"}))


def fetch(server: VenueServer, store: Path, venue: str, asset: str, *args: str) -> Out:
    """``basisctl data fetch --venue venue --asset asset *args`` into ``store``, from the local server."""
    return run("fetch", "--venue", venue, "--asset", asset, *args, "--store", str(store), "--base-url", server.url)


def test_list_json_shows_roots_and_files() -> None:
    r = run("list", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [x["origin"] for x in out["roots"]][-1] == "user store"
    rows = out["files"]
    assert set(rows[0]) == {"kind", "venue", "asset", "interval", "format", "root", "path"}
    hl = next(x for x in rows if x["kind"] == "funding" and x["venue"] == "hyperliquid" and x["asset"] == "BTC")
    assert hl["path"] == str(locator.funding_path("hyperliquid", "BTC"))
    assert out["hyperliquid_meta"].endswith(".json")


def test_list_table() -> None:
    r = run("list")
    assert r.exit_code == 0 and "binance_perp" in r.stdout and "hyperliquid" in r.stdout


def test_check_good_file_exits_zero_and_warns_about_gaps(tmp_path: Path) -> None:
    f = locator.load_candles("binance_spot", "ETH", "1h")
    p = write_frame(f, tmp_path / "ETH_1h.csv")
    r = run("check", str(p))
    assert r.exit_code == 0, r.output
    assert "OK" in r.stdout and "1 missing row " in r.output  # the gap warning: on stderr (review F16)


def test_check_detects_funding_by_columns(tmp_path: Path) -> None:
    p = write_frame(locator.load_funding("bybit", "DOGE"), tmp_path / "whatever.csv")
    r = run("check", str(p), "--json")
    assert r.exit_code == 0
    rep = json.loads(r.stdout)
    assert rep["kind"] == "funding" and rep["ok"] and rep["rows"] == 1592


def test_check_bad_file_exits_nonzero_with_issues(tmp_path: Path) -> None:
    f = locator.load_candles("binance_perp", "LINK", "1d").iloc[:100]
    p = write_frame(f, tmp_path / "LINK_1d.csv")
    lines = p.read_text().splitlines()
    cells = lines[18].split(",")  # data row 17, file line 19
    cells[3], cells[4] = cells[4], cells[3]  # swap high and low
    lines[18] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    r = run("check", str(p))
    assert r.exit_code == 1
    assert "INVALID" in r.stdout and "high >= low" in r.stdout
    assert "│ 17  │ 19   │ high" in r.stdout
    j = run("check", str(p), "--json")
    assert j.exit_code == 1
    issues = json.loads(j.stdout)["issues"]
    assert [(i["row"], i["line"], i["column"]) for i in issues] == [(17, 19, "high")]


def test_check_unknown_columns_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    r = run("check", str(p))
    assert r.exit_code == 2 and "cannot tell candles from funding" in r.output
    r = run("check", str(tmp_path / "nope.csv"))
    assert r.exit_code == 2 and "no such file" in r.output


def test_fetch_into_store_then_resume(venue: VenueServer, tmp_path: Path) -> None:
    store = tmp_path / "store"
    common = ("--venue", "hyperliquid", "--asset", "BTC", "--store", str(store), "--base-url", venue.url, "--json")
    r = run("fetch", *common, "--from", "2024-03-01", "--to", "2024-03-05")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["added"], out["total"], out["fetched"]) == (96, 96, 96)
    r = run("fetch", *common, "--from", "2024-03-03", "--to", "2024-03-10")
    out = json.loads(r.stdout)
    assert (out["added"], out["total"]) == (5 * 24, 9 * 24)
    r = run("fetch", *common, "--to", "2024-03-11")  # resume after the last stored settlement
    out = json.loads(r.stdout)
    assert (out["fetched"], out["added"], out["total"]) == (24, 24, 10 * 24)
    stored = pd.read_parquet(store / "funding" / "hyperliquid" / "BTC.parquet")
    ref = locator.load_funding("hyperliquid", "BTC")
    ref = ref[(ref["ts"] >= "2024-03-01") & (ref["ts"] < "2024-03-11")]
    assert stored["ts"].tolist() == ref["ts"].tolist() and stored["ts"].is_unique


def test_fetch_binance_candles_table_output(venue: VenueServer, tmp_path: Path) -> None:
    r = fetch(venue, tmp_path, "binance", "ETH", "--kind", "candles", "--interval", "1d", "--from", "2021-01-01",
              "--to", "2021-03-01")
    assert r.exit_code == 0, r.output
    assert "fetched 59 rows in 1 request; added 59" in r.stdout
    assert (tmp_path / "prices" / "binance_perp" / "ETH_1d.parquet").exists()


def test_fetch_usage_errors(venue: VenueServer, tmp_path: Path) -> None:
    r = run("fetch", "--venue", "hyperliquid", "--asset", "BTC", "--kind", "mark", "--store", str(tmp_path))
    assert r.exit_code == 2 and "no mark-price history" in r.output
    r = fetch(venue, tmp_path, "binance", "BTC")
    assert r.exit_code == 2 and "--from is required" in r.output
    r = run("fetch", "--venue", "deribit", "--asset", "BTC", "--from", "2024-01-01")
    assert r.exit_code == 2 and "--venue" in r.output
    r = fetch(venue, tmp_path, "binance", "NOPE", "--from", "2024-01-01", "--to", "2024-01-02")
    assert r.exit_code == 2 and "Invalid symbol" in r.output


def test_fetch_hyperliquid_meta_snapshot(venue: VenueServer, tmp_path: Path) -> None:
    r = fetch(venue, tmp_path, "hyperliquid", "BTC", "--kind", "meta", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    raw = json.loads(Path(out["path"]).read_text())  # the raw metaAndAssetCtxs response, as the API gave it
    assert Path(out["path"]).parent == tmp_path / "hyperliquid"
    assert out["assets"] == len(locator.hyperliquid_universe()) == len(raw[0]["universe"])
