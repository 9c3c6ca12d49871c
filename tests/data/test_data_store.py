"""Parquet store: incremental append, de-duplication, atomic writes, invalid batches leave files untouched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from basisctl.data import locator
from basisctl.data.io import _atomic_write
from basisctl.data.store import ParquetStore, interval_hours_of
from basisctl.errors import BasisctlError, DataCoverageError, DataValidationError

pytestmark = pytest.mark.needs_data  # reads market data from the data dir


@pytest.fixture
def candles() -> pd.DataFrame:
    return locator.load_candles("binance_perp", "DOGE", "4h").iloc[:300].reset_index(drop=True)


def test_append_overlapping_batches(tmp_path: Path, candles: pd.DataFrame) -> None:
    st = ParquetStore(tmp_path)
    a = st.append(candles.iloc[:200], "candles", "binance", "DOGE", "4h")
    b = st.append(candles.iloc[150:], "candles", "binance", "DOGE", "4h")
    assert (a.added, a.total, b.added, b.replaced, b.total) == (200, 200, 100, 0, 300)
    pd.testing.assert_frame_equal(st.read("candles", "binance", "DOGE", "4h"), candles)
    assert a.path == tmp_path / "prices" / "binance_perp" / "DOGE_4h.parquet"  # the shared data layout
    assert st.last_ts("candles", "binance", "DOGE", "4h") == candles["ts"].iat[-1]


def test_newer_download_wins_and_is_counted(tmp_path: Path, candles: pd.DataFrame) -> None:
    st = ParquetStore(tmp_path)
    st.append(candles.iloc[:100], "candles", "binance", "DOGE", "4h")
    revised = candles.iloc[99:120].copy()
    revised.loc[99, ["close", "high"]] = revised.loc[99, "high"] * 1.001  # the bar was still forming before
    r = st.append(revised, "candles", "binance", "DOGE", "4h")
    assert (r.added, r.replaced, r.total) == (20, 1, 120)
    assert st.read("candles", "binance", "DOGE", "4h")["close"].iat[99] == revised.loc[99, "close"]


def test_invalid_batch_leaves_store_untouched(tmp_path: Path, candles: pd.DataFrame) -> None:
    st = ParquetStore(tmp_path)
    st.append(candles.iloc[:100], "candles", "binance", "DOGE", "4h")
    before = st.path("candles", "binance", "DOGE", "4h").read_bytes()
    bad = candles.iloc[100:150].copy()
    bad.loc[120, "low"] = -1.0
    with pytest.raises(DataValidationError, match=r"new batch\): row 20, column 'low'"):
        st.append(bad, "candles", "binance", "DOGE", "4h")
    assert st.path("candles", "binance", "DOGE", "4h").read_bytes() == before


def test_merge_that_breaks_interval_rules_is_rejected(tmp_path: Path) -> None:
    f = locator.load_funding("binance", "BTC").iloc[:100].reset_index(drop=True)
    st = ParquetStore(tmp_path)
    st.append(f.iloc[:50], "funding", "binance", "BTC")
    shifted = f.iloc[50:].copy()
    shifted["ts"] = shifted["ts"] - pd.Timedelta(hours=4)  # first new settlement only 4 h after the last stored
    with pytest.raises(DataValidationError, match="interval_hours <= spacing"):
        st.append(shifted, "funding", "binance", "BTC")
    assert len(st.read("funding", "binance", "BTC")) == 50


def test_gaps_are_kept_and_reported(tmp_path: Path, candles: pd.DataFrame) -> None:
    st = ParquetStore(tmp_path)
    r = st.append(pd.concat([candles.iloc[:100], candles.iloc[110:]]), "candles", "binance", "DOGE", "4h")
    assert r.total == 290 and [g.missing for g in r.report.gaps] == [10]


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def failing(tmp: str) -> None:
        Path(tmp).write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _atomic_write(target, failing)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no temp file left behind


def test_store_errors_and_listing(tmp_path: Path, candles: pd.DataFrame) -> None:
    st = ParquetStore(tmp_path)
    with pytest.raises(DataCoverageError, match="nothing stored"):
        st.read("funding", "binance", "BTC")
    with pytest.raises(BasisctlError, match="needs an interval"):
        st.path("candles", "binance", "BTC")
    with pytest.raises(BasisctlError, match="store kind"):
        st.path("trades", "binance", "BTC")
    assert st.last_ts("funding", "binance", "BTC") is None
    st.append(candles, "candles", "binance", "DOGE", "4h")
    listing = st.list()
    assert listing[["kind", "venue", "asset", "interval", "rows"]].values.tolist() == [
        ["candles", "binance", "DOGE", "4h", 300]
    ]


def test_interval_labels() -> None:
    assert [interval_hours_of(x) for x in ("1h", "4h", "1d", "15m")] == [1.0, 4.0, 24.0, 0.25]
    with pytest.raises(BasisctlError):
        interval_hours_of("h")
