"""The data locator: search order, missing data, corrupt stores, partial data dirs, and the download path
(``basisctl data pull``) end to end against the local venue server, which serves the real history of the data
dir in the venues' documented API shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.data.fetch import RetryPolicy
from basisctl.data.io import write_frame
from basisctl.data.store import ParquetStore
from basisctl.errors import BasisctlError, DataNotFoundError
from basisctl.venues.pull import Clients, Series, default_set, pull

from .venue_server import VenueServer

REPO = Path(__file__).resolve().parents[2]
FAST = {"retry": RetryPolicy(max_retries=2, backoff_base_s=0.0, jitter=0.0), "min_interval_s": 0.0,
        "sleep": lambda s: None}


def _funding(rate: float, n: int = 48) -> pd.DataFrame:
    ts = pd.date_range("2026-01-01 01:00", periods=n, freq="1h", tz="UTC").astype("datetime64[ms, UTC]")
    return pd.DataFrame({"ts": ts, "rate": np.full(n, rate), "interval_hours": np.ones(n)})


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Three roots holding the same series with different rates: --data-dir, BASISCTL_DATA_DIR, user store."""
    paths = {k: tmp_path / k for k in ("flag", "env", "store")}
    for k, rate in (("flag", 1e-5), ("env", 2e-5), ("store", 3e-5)):
        write_frame(_funding(rate), paths[k] / "funding" / "hyperliquid" / "ZZZ.csv")
    monkeypatch.setenv("BASISCTL_DATA_DIR", str(paths["env"]))
    monkeypatch.setenv("BASISCTL_STORE", str(paths["store"]))
    locator.set_data_dir(paths["flag"])
    yield paths
    locator.set_data_dir(None)


def test_search_order_flag_env_store(roots: dict[str, Path]) -> None:
    assert locator.load_funding("hyperliquid", "ZZZ")["rate"].iloc[0] == 1e-5
    assert locator.files_read()["funding hyperliquid ZZZ"] == str(roots["flag"] / "funding/hyperliquid/ZZZ.csv")
    locator.set_data_dir(None)
    assert locator.load_funding("hyperliquid", "ZZZ")["rate"].iloc[0] == 2e-5
    os.environ.pop("BASISCTL_DATA_DIR")
    assert locator.load_funding("hyperliquid", "ZZZ")["rate"].iloc[0] == 3e-5
    assert [r.origin for r in locator.roots()] == ["user store"]


def test_file_by_file_fallthrough(roots: dict[str, Path]) -> None:
    write_frame(_funding(4e-5), roots["store"] / "funding" / "binance" / "QQQ.parquet")
    assert locator.load_funding("binance", "QQQ")["rate"].iloc[0] == 4e-5  # only the store has it
    listed = {(r["venue"], r["asset"]): r["root"] for r in locator.describe()}
    assert listed[("hyperliquid", "ZZZ")] == "--data-dir" and listed[("binance", "QQQ")] == "user store"


def test_missing_file_names_every_place_and_the_fetch_command(roots: dict[str, Path]) -> None:
    with pytest.raises(DataNotFoundError) as e:
        locator.load_funding("hyperliquid", "XRP")
    msg = str(e.value)
    for k in ("flag", "env", "store"):
        assert str(roots[k] / "funding/hyperliquid/XRP") in msg
    cmd = "basisctl data fetch --venue hyperliquid --asset XRP --kind funding --from 2021-01-01"
    assert cmd in msg and "--store" not in msg  # into the user store, never into the user's data dir
    with pytest.raises(DataNotFoundError, match="no downloader covers it"):
        locator.load_candles("coinbase_spot", "BTC", "1d")


def test_cli_missing_data_is_one_line_exit_2(roots: dict[str, Path]) -> None:
    res = CliRunner().invoke(app, ["--data-dir", str(roots["flag"]), "funding-stats", "--venue", "binance",
                                   "--asset", "XRP"])
    assert res.exit_code == 2
    assert "basisctl data fetch --venue binance --asset XRP --kind funding" in res.output
    assert "Traceback" not in res.output


def test_data_dir_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "nope"), "data", "list"])
    assert res.exit_code == 2 and "not a directory" in res.output


def test_corrupt_store_file_names_the_file_to_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASISCTL_DATA_DIR", raising=False)
    monkeypatch.setenv("BASISCTL_STORE", str(tmp_path))
    st = ParquetStore(tmp_path)
    st.append(_funding(1e-5), "funding", "hyperliquid", "ZZZ")
    p = st.path("funding", "hyperliquid", "ZZZ")
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])  # truncated by a crash or a full disk
    with pytest.raises(BasisctlError, match=f"{p}.*delete it and fetch it again"):
        st.last_ts("funding", "hyperliquid", "ZZZ")
    with pytest.raises(BasisctlError, match=f"{p}.*delete it and fetch it again"):
        locator.load_funding("hyperliquid", "ZZZ")


def test_git_tracks_no_market_data() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    data = [f for f in files if f.lower().endswith((".csv", ".parquet", ".feather", ".csv.gz"))
            or ("metaAndAssetCtxs" in f and f.endswith(".json"))]
    assert data == []
    assert not (REPO / "src/basisctl/datasets").exists()


# ------------------------------------------------------------------------------ partial data dirs
@pytest.mark.needs_data
def test_data_dir_missing_one_venue_fails_only_commands_that_need_it(tmp_path: Path) -> None:
    shared = Path(os.environ["BASISCTL_DATA_DIR"])
    part = tmp_path / "part"
    for rel in ("funding/binance/BTC.csv", "prices/binance_perp/BTC_1h.csv", "prices/binance_perp/BTC_4h.csv",
                "hyperliquid/metaAndAssetCtxs_2026-03-10.json"):
        (part / rel).parent.mkdir(parents=True, exist_ok=True)
        (part / rel).symlink_to(shared / rel)  # read in place, not copied
    env = {**os.environ, "BASISCTL_DATA_DIR": str(part)}
    ok = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "static", "--venue", "binance", "--asset", "BTC",
                         "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "static", "--venue", "hyperliquid", "--asset",
                          "BTC", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "no hyperliquid funding BTC data" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ download path
@pytest.mark.needs_data
def test_pull_then_compute_from_the_store_equals_the_data_dir(venue: VenueServer, tmp_path: Path) -> None:
    """The online path end to end: pull from the venues' APIs into an empty store, then `static` from the store
    gives the same answer as from the data dir the server serves."""
    store = ParquetStore(tmp_path / "store")
    series = [s for s in default_set(("BTC",), "2025-06-01") if not (s.kind == "candles" and s.interval == "4h")]
    clients = Clients(venue.url, venue.url, dict(FAST))
    rows = pull(store, series, clients)
    assert all(r["ok"] for r in rows), rows
    got = store.read("funding", "hyperliquid", "BTC")
    ref = locator.load_funding("hyperliquid", "BTC")
    ref = ref[(ref["ts"] >= "2025-06-01") & (ref["ts"] <= got["ts"].max())].reset_index(drop=True)
    np.testing.assert_array_equal(got["rate"].to_numpy(), ref["rate"].to_numpy())
    assert (tmp_path / "store/hyperliquid").glob("metaAndAssetCtxs_*.json")

    again = pull(store, series, clients)  # resumable: nothing new the second time
    assert all(r["ok"] and r.get("added", 0) == 0 for r in again), again

    args = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--asof", "2026-03-10", "--json"]
    from_dir = subprocess.run([sys.executable, "-m", "basisctl.cli.main", *args], capture_output=True, text=True,
                              timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "BASISCTL_DATA_DIR"}
    env["BASISCTL_STORE"] = str(store.root)
    from_store = subprocess.run([sys.executable, "-m", "basisctl.cli.main", *args], capture_output=True,
                                text=True, env=env, timeout=120)
    assert from_dir.returncode == 0 and from_store.returncode == 0, from_store.stderr
    a, b = json.loads(from_dir.stdout), json.loads(from_store.stdout)
    for key in ("alpha_risk", "alpha_econ", "sigma_annual", "kappa_bps", "theta_f"):
        assert a[key] == pytest.approx(b[key], rel=1e-12), key


@pytest.mark.needs_data
def test_pull_survives_a_failing_series_and_resumes(venue: VenueServer, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    series = [Series("binance", "funding", "ETH", None, "2025-01-01"),
              Series("hyperliquid", "funding", "ETH", None, "2026-01-01")]
    venue.inject(503, times=10, match="/fapi/v1/fundingRate")
    rows = pull(store, series, Clients(venue.url, venue.url, dict(FAST)))
    assert [r["ok"] for r in rows] == [False, True] and "503" in rows[0]["error"]
    venue.reset()
    rows = pull(store, series, Clients(venue.url, venue.url, dict(FAST)))
    assert rows[0]["ok"] and rows[0]["added"] > 1000 and rows[1]["added"] == 0


def test_report_without_any_data_says_how_to_get_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BASISCTL_DATA_DIR"}
    env["BASISCTL_STORE"] = str(tmp_path / "empty-store")
    res = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "report", "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert res.returncode == 2
    assert "basisctl data pull" in res.stderr and "BASISCTL_DATA_DIR" in res.stderr
    assert not (tmp_path / "r" / "index.html").exists()
