"""Binance and Hyperliquid downloaders against the local server, which serves the real shipped history.

The reference for every download is the shipped dataset itself: the client must reproduce it exactly over the
requested window (each row once, nothing added), however the server pages it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basisctl.data import locator
from basisctl.data.fetch import FetchError, RetryPolicy
from basisctl.data.fetch._parse import to_ms
from basisctl.data.store import ParquetStore
from basisctl.errors import DataValidationError
from basisctl.venues.binance.fetch import BinanceUsdm
from basisctl.venues.hyperliquid.fetch import HyperliquidInfo

from .venue_server import BINANCE_FUNDING_MAX, HL_FUNDING_MAX, VenueServer, jitter

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

FAST = RetryPolicy(max_retries=3, backoff_base_s=0.25, jitter=0.0)
FAR_FUTURE = lambda: 4_000_000_000_000  # noqa: E731 - every served bar is closed


def _client(cls, venue: VenueServer, sleeps: list[float] | None, **kw):
    """A client of the local server: fast retries, no pacing, sleeps recorded in ``sleeps`` instead of slept."""
    return cls(base_url=venue.url, retry=FAST, min_interval_s=0.0,
               sleep=(sleeps if sleeps is not None else []).append, **kw)


def binance(venue: VenueServer, sleeps: list[float] | None = None, now=FAR_FUTURE) -> BinanceUsdm:
    return _client(BinanceUsdm, venue, sleeps, now_ms=now)


def hyperliquid(venue: VenueServer, sleeps: list[float] | None = None, **kw) -> HyperliquidInfo:
    return _client(HyperliquidInfo, venue, sleeps, now_ms=FAR_FUTURE, **kw)


def window(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    return frame[(frame["ts"] >= pd.Timestamp(start, tz="UTC")) & (frame["ts"] < pd.Timestamp(end, tz="UTC"))]


def requests_to(venue: VenueServer, key: str) -> list[dict]:
    return [p for (_, k, p) in venue.log if k == key]


# ------------------------------------------------------------------------------------------------ Binance
def test_binance_funding_pages_stitch_every_row_once(venue: VenueServer) -> None:
    got = binance(venue).funding_history("BTC", "2020-01-01", "2022-01-01")
    ref = window(locator.load_funding("binance", "BTC"), "2020-01-01", "2022-01-01")
    assert len(ref) > 2 * BINANCE_FUNDING_MAX  # the window needs at least three pages
    np.testing.assert_array_equal(got["ts"].to_numpy(), ref["ts"].to_numpy())
    np.testing.assert_array_equal(got["rate"].to_numpy(), ref["rate"].to_numpy())
    assert (got["interval_hours"] == 8.0).all() and (got["source"] == "binance_api").all()
    calls = requests_to(venue, "/fapi/v1/fundingRate")
    assert len(calls) == -(-len(ref) // BINANCE_FUNDING_MAX)
    assert all(int(c["limit"]) == 1000 and c["symbol"] == "BTCUSDT" for c in calls)
    # each page starts 1 ms after the last (jittered) fundingTime served on the previous page
    served = jitter(ref["ts"].astype("int64").to_numpy())
    expected = [to_ms("2020-01-01")] + [int(served[k * 1000 - 1]) + 1 for k in range(1, len(calls))]
    assert [int(c["startTime"]) for c in calls] == expected


def test_binance_funding_intervals_across_the_2024_gap(venue: VenueServer) -> None:
    got = binance(venue).funding_history("ETH", "2023-12-25", "2025-03-15")
    ref = window(locator.load_funding("binance", "ETH"), "2023-12-25", "2025-03-15")
    np.testing.assert_array_equal(got["ts"].to_numpy(), ref["ts"].to_numpy())
    assert (got["interval_hours"] == 8.0).all()  # a 14-month hole is a gap, not a long interval


def test_binance_klines_pages_and_values(venue: VenueServer) -> None:
    got = binance(venue).klines("ETH", "1h", "2022-01-01", "2022-06-01")
    ref = window(locator.load_candles("binance_perp", "ETH", "1h"), "2022-01-01", "2022-06-01").reset_index(drop=True)
    assert len(ref) > 2 * 1500
    pd.testing.assert_frame_equal(got.drop(columns="source"), ref.drop(columns="source"))
    assert len(requests_to(venue, "/fapi/v1/klines")) == 3


def test_binance_mark_klines_have_no_volume(venue: VenueServer) -> None:
    got = binance(venue).mark_price_klines("BTC", "4h", "2021-01-01", "2021-02-01")
    ref = window(locator.load_candles("binance_perp", "BTC", "4h"), "2021-01-01", "2021-02-01")
    assert list(got.columns) == ["ts", "open", "high", "low", "close", "source"]
    np.testing.assert_array_equal(got["close"].to_numpy(), ref["close"].to_numpy())


def test_binance_forming_bar_is_dropped(venue: VenueServer) -> None:
    ref = window(locator.load_candles("binance_perp", "BTC", "1h"), "2023-03-01", "2023-03-02")
    last_open = int(ref["ts"].iat[-1].value // 1_000_000)
    got = binance(venue, now=lambda: last_open + 30 * 60_000).klines("BTC", "1h", "2023-03-01", "2023-03-02")
    assert len(got) == len(ref) - 1 and got["ts"].iat[-1] == ref["ts"].iat[-2]


def test_binance_429_then_success(venue: VenueServer) -> None:
    venue.inject(429, headers={"Retry-After": "3"}, match="/fapi/v1/fundingRate")
    sleeps: list[float] = []
    got = binance(venue, sleeps).funding_history("LINK", "2025-09-01", "2025-10-01")
    assert len(got) == 90 and sleeps == [3.0]


def test_binance_malformed_row_names_request_row_and_field(venue: VenueServer) -> None:
    def corrupt(key: str, rows: list) -> list:
        if key == "/fapi/v1/fundingRate" and len(rows) > 7:
            rows[7]["fundingRate"] = "0.01%"
        return rows

    venue.corrupt = corrupt
    with pytest.raises(DataValidationError) as ei:
        binance(venue).funding_history("BTC", "2021-01-01", "2021-02-01")
    (issue,) = ei.value.issues
    assert (issue.row, issue.column, issue.got) == (7, "fundingRate", "'0.01%'")
    assert "/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=" in ei.value.path


def test_binance_malformed_kline_array(venue: VenueServer) -> None:
    def corrupt(key: str, rows: list) -> list:
        rows[2] = rows[2][:4]  # truncated array
        rows[5][2] = "-1"  # negative high
        return rows

    venue.corrupt = corrupt
    with pytest.raises(DataValidationError) as ei:
        binance(venue).klines("BTC", "1d", "2021-01-01", "2021-02-01")
    assert [(i.row, i.column) for i in ei.value.issues] == [(2, None), (5, "2")]


def test_binance_invalid_symbol_is_a_clear_error(venue: VenueServer) -> None:
    with pytest.raises(FetchError, match=r"HTTP 400 .*Invalid symbol"):
        binance(venue).funding_history("NOPE", "2021-01-01", "2021-02-01")


def test_binance_api_rows_are_ms_jittered_and_rounded(venue: VenueServer) -> None:
    got = binance(venue).funding_history("BTC", "2020-01-01", "2020-01-10")
    assert (got["ts"].astype("int64") % 3_600_000 == 0).all()
    raw = binance(venue).http.get_json("/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "startTime": 1577840000000})
    assert any(r["fundingTime"] % 3_600_000 for r in raw[:50])  # the server really does send jitter


# ------------------------------------------------------------------------------------------------ Hyperliquid
def test_hyperliquid_funding_pages_of_500_across_the_8h_to_1h_switch(venue: VenueServer) -> None:
    got = hyperliquid(venue).funding_history("BTC", "2023-05-12", "2023-08-15")
    ref = window(locator.load_funding("hyperliquid", "BTC"), "2023-05-12", "2023-08-15").reset_index(drop=True)
    assert len(ref) > 2 * HL_FUNDING_MAX
    pd.testing.assert_frame_equal(got.drop(columns="source"), ref.drop(columns="source"))
    calls = requests_to(venue, "fundingHistory")
    assert len(calls) == -(-len(ref) // HL_FUNDING_MAX)
    assert all(c["coin"] == "BTC" for c in calls)


def test_hyperliquid_candles_paged(venue: VenueServer) -> None:
    venue.hl_candle_page = 300
    got = hyperliquid(venue, candle_page_limit=300).candles("ETH", "1h", "2025-03-01", "2025-05-01")
    ref = window(locator.load_candles("hyperliquid_perp", "ETH", "1h"), "2025-03-01", "2025-05-01")
    assert len(ref) == 61 * 24  # complete hourly bars in the window
    pd.testing.assert_frame_equal(got.drop(columns="source"), ref.drop(columns="source").reset_index(drop=True))
    assert len(requests_to(venue, "candleSnapshot")) == 5  # 4 x 300 + 264


def test_hyperliquid_500_then_success(venue: VenueServer) -> None:
    venue.inject(500, times=2, body="null", match="fundingHistory")
    sleeps: list[float] = []
    got = hyperliquid(venue, sleeps).funding_history("LINK", "2025-09-01", "2025-09-03")
    assert len(got) == 48 and sleeps == [0.25, 0.5]


def test_hyperliquid_malformed_candle(venue: VenueServer) -> None:
    def corrupt(key: str, rows: list) -> list:
        rows[3]["h"] = "x"
        rows[9]["s"] = "ETH"
        return rows

    venue.corrupt = corrupt
    with pytest.raises(DataValidationError) as ei:
        hyperliquid(venue).candles("BTC", "1h", "2025-03-07", "2025-03-08")
    assert [(i.row, i.column) for i in ei.value.issues] == [(3, "h"), (9, "s")]
    assert "candleSnapshot" in ei.value.path


def test_hyperliquid_meta_and_asset_ctxs(venue: VenueServer) -> None:
    meta = hyperliquid(venue).meta_and_asset_ctxs()
    uni = locator.hyperliquid_universe()
    assert list(meta.universe["name"]) == list(uni["name"])
    btc = meta.universe.set_index("name").loc["BTC"]
    assert (btc["maxLeverage"], btc["marginTableId"], btc["ctx_funding"]) == (40, 56, 0.0000125)
    mt = locator.hyperliquid_margin_tables()
    np.testing.assert_array_equal(meta.margin_tables["lower_bound_usd"], mt["lower_bound_usd"])
    np.testing.assert_array_equal(meta.margin_tables["max_leverage"], mt["max_leverage"])


# ------------------------------------------------------------------------------------------------ store
def test_incremental_append_never_duplicates(venue: VenueServer, tmp_path: Path) -> None:
    st = ParquetStore(tmp_path)
    hl = hyperliquid(venue)
    r1 = st.append(hl.funding_history("ETH", "2024-01-01", "2024-02-01"), "funding", "hyperliquid", "ETH")
    r2 = st.append(hl.funding_history("ETH", "2024-01-15", "2024-03-01"), "funding", "hyperliquid", "ETH")
    r3 = st.append(hl.funding_history("ETH", "2024-01-01", "2024-03-01"), "funding", "hyperliquid", "ETH")
    ref = window(locator.load_funding("hyperliquid", "ETH"), "2024-01-01", "2024-03-01")
    stored = st.read("funding", "hyperliquid", "ETH")
    assert (r1.added, r2.added, r3.added) == (31 * 24, 29 * 24, 0)
    assert (r2.replaced, r3.replaced) == (0, 0)
    assert r3.total == len(ref) == len(stored)
    np.testing.assert_array_equal(stored["ts"].to_numpy(), ref["ts"].to_numpy())
    np.testing.assert_array_equal(stored["rate"].to_numpy(), ref["rate"].to_numpy())


def test_binance_interval_inference_by_hand() -> None:
    from basisctl.venues.binance.fetch import _binance_intervals

    h = 3_600_000
    # 8 h cadence switching to 4 h; a 32 h hole (gap, not a long interval); a lone row after a stored one
    assert _binance_intervals(np.array([0, 8, 16, 20, 24]) * h).tolist() == [8, 8, 8, 4, 4]
    assert _binance_intervals(np.array([0, 8, 40, 48]) * h).tolist() == [8, 8, 8, 8]
    assert _binance_intervals(np.array([4, 8]) * h).tolist() == [4, 4]
    assert _binance_intervals(np.array([12]) * h, previous_ms=8 * h).tolist() == [4]
    assert _binance_intervals(np.array([12]) * h).tolist() == [8]


def test_binance_resume_with_previous_settlement(venue: VenueServer, tmp_path: Path) -> None:
    st = ParquetStore(tmp_path)
    bn = binance(venue)
    st.append(bn.funding_history("DOGE", "2025-04-01", "2025-04-10"), "funding", "binance", "DOGE")
    last = st.last_ts("funding", "binance", "DOGE")
    nxt = bn.funding_history("DOGE", to_ms(last) + 1, "2025-04-10T01:00", previous=last)
    assert len(nxt) == 1 and nxt["interval_hours"].iat[0] == 8.0
    r = st.append(nxt, "funding", "binance", "DOGE")
    assert (r.added, r.total) == (1, 28)
