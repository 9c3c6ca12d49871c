"""Bybit, OKX, dYdX and Kraken Futures funding clients against a 127.0.0.1 server speaking each documented API.

The reference is the synthetic series the server serves (known in code): every row once, values exact, interval
per row equal to the true spacing through the 8h -> 4h -> 1h changes, however the venue pages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.data.fetch import FetchError, RetryPolicy
from basisctl.errors import DataValidationError
from basisctl.venues.bybit.fetch import BybitFunding
from basisctl.venues.dydx.fetch import DydxFunding
from basisctl.venues.kraken.fetch import KrakenFuturesFunding
from basisctl.venues.okx.fetch import OkxFunding

from .funding_server import FundingServer, series

FAST = RetryPolicy(max_retries=3, backoff_base_s=0.25, jitter=0.0)


def client(cls, srv: FundingServer, sleeps: list[float] | None = None):
    return cls(base_url=srv.url, retry=FAST, min_interval_s=0.0, sleep=(sleeps if sleeps is not None else []).append)


def ref(srv: FundingServer, steps: np.ndarray, start_ms: int = 0, end_ms: int = 2**62) -> pd.DataFrame:
    keep = (srv.ts >= start_ms) & (srv.ts < end_ms)
    return pd.DataFrame({"ts": srv.ts[keep], "rate": srv.rate[keep], "interval_hours": steps[keep]})


def ms(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(np.int64)


# ------------------------------------------------------------------------------------------------ Bybit
def test_bybit_pages_backwards_and_follows_the_interval_change(fsrv: FundingServer) -> None:
    _, _, steps = series(150, 120, 260)
    got = client(BybitFunding, fsrv).funding_history("BTC", "2023-12-01", "2025-01-01")
    want = ref(fsrv, steps)
    np.testing.assert_array_equal(ms(got), want["ts"].to_numpy())
    np.testing.assert_array_equal(got["rate"].to_numpy(), want["rate"].to_numpy())
    np.testing.assert_array_equal(got["interval_hours"].to_numpy(), want["interval_hours"].to_numpy())
    assert set(np.unique(got["interval_hours"])) == {8.0, 4.0, 1.0} and (got["source"] == "bybit_api").all()
    calls = fsrv.calls("/v5/market/funding/history")
    assert len(calls) == 3  # 530 rows at 200 per page
    # each page ends 1 ms before the oldest row of the previous page
    assert int(calls[1]["endTime"]) == int(fsrv.ts[-200]) - 1 and int(calls[2]["endTime"]) == int(fsrv.ts[-400]) - 1
    assert all(c["category"] == "linear" and c["symbol"] == "BTCUSDT" for c in calls)


def test_bybit_window_inside_takes_first_interval_from_the_row_before(fsrv: FundingServer) -> None:
    _, _, steps = series(150, 120, 260)
    start, end = int(fsrv.ts[270]), int(fsrv.ts[300])  # row 270 is the first 1-hour settlement
    got = client(BybitFunding, fsrv).funding_history("BTC", start, end)
    want = ref(fsrv, steps, start, end)
    np.testing.assert_array_equal(ms(got), want["ts"].to_numpy())
    assert got["interval_hours"].iloc[0] == 1.0 and (got["interval_hours"] == 1.0).all()
    got4 = client(BybitFunding, fsrv).funding_history("BTC", int(fsrv.ts[150]), int(fsrv.ts[160]))
    assert (got4["interval_hours"] == 4.0).all()  # first 4-hour row: 4 h after the last 8-hour one


def test_bybit_rate_limit_code_is_retried_with_backoff(fsrv: FundingServer) -> None:
    fsrv.inject(200, {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 0}, times=2)
    sleeps: list[float] = []
    got = client(BybitFunding, fsrv, sleeps).funding_history("BTC", int(fsrv.ts[500]), int(fsrv.ts[-1]) + 1)
    assert len(got) == 30 and sleeps == [0.25, 0.5]


def test_bybit_http_429_honours_retry_after(fsrv: FundingServer) -> None:
    fsrv.inject(429, "", times=1, headers={"Retry-After": "2"})
    sleeps: list[float] = []
    got = client(BybitFunding, fsrv, sleeps).funding_history("BTC", int(fsrv.ts[520]), int(fsrv.ts[-1]) + 1)
    assert len(got) == 10 and sleeps == [2.0]


def test_bybit_errors_fail_with_the_venue_message(fsrv: FundingServer) -> None:
    with pytest.raises(FetchError, match=r"10001.*symbol invalid"):
        client(BybitFunding, fsrv).funding_history("NOPE", "2024-01-01", "2024-02-01")
    fsrv.inject(403, "access too frequent", times=1)
    with pytest.raises(FetchError, match="HTTP 403"):
        client(BybitFunding, fsrv).funding_history("BTC", "2024-01-01", "2024-02-01")


def test_bybit_schema_drift_names_row_and_field(fsrv: FundingServer) -> None:
    def drift(path: str, body: dict) -> dict:
        for r in body["result"]["list"]:
            r["funding_rate"] = r.pop("fundingRate")
        return body

    fsrv.drift = drift
    with pytest.raises(DataValidationError) as e:
        client(BybitFunding, fsrv).funding_history("BTC", "2024-01-01", "2025-01-01")
    assert "fundingRate" in str(e.value) and "row 0" in str(e.value)


def test_bybit_percent_scaled_rates_are_refused_by_the_shared_validation(fsrv: FundingServer) -> None:
    def percent(path: str, body: dict) -> dict:
        for r in body["result"]["list"]:
            r["fundingRate"] = str(float(r["fundingRate"]) * 100)
        return body

    fsrv.drift = percent
    with pytest.raises(DataValidationError, match="percent"):
        client(BybitFunding, fsrv).funding_history("BTC", "2024-01-01", "2025-01-01")


def test_a_server_that_ignores_paging_is_refused(fsrv: FundingServer) -> None:
    fsrv.ignore_paging = True
    with pytest.raises(FetchError, match="ignores paging"):
        client(BybitFunding, fsrv).funding_history("BTC", "2023-12-01", "2025-01-01")


# ------------------------------------------------------------------------------------------------ OKX
def test_okx_realized_rate_pages_with_after(fsrv: FundingServer) -> None:
    _, _, steps = series(150, 120, 260)
    got = client(OkxFunding, fsrv).funding_history("BTC", "2023-12-01", "2025-01-01")
    want = ref(fsrv, steps)
    np.testing.assert_array_equal(ms(got), want["ts"].to_numpy())
    np.testing.assert_array_equal(got["rate"].to_numpy(), want["rate"].to_numpy())  # realizedRate, not fundingRate
    np.testing.assert_array_equal(got["interval_hours"].to_numpy(), want["interval_hours"].to_numpy())
    calls = fsrv.calls("/api/v5/public/funding-rate-history")
    assert len(calls) == 6 and [int(c["after"]) for c in calls[1:3]] == [int(fsrv.ts[-100]), int(fsrv.ts[-200])]


def test_okx_429_retried_and_unknown_instrument_fails(fsrv: FundingServer) -> None:
    fsrv.inject(429, {"code": "50011", "msg": "Too Many Requests", "data": []}, times=1)
    sleeps: list[float] = []
    got = client(OkxFunding, fsrv, sleeps).funding_history("BTC", int(fsrv.ts[-5]), int(fsrv.ts[-1]) + 1)
    assert len(got) == 5 and sleeps == [0.25]
    with pytest.raises(FetchError, match="51001"):
        client(OkxFunding, fsrv).funding_history("NOPE", "2024-01-01", "2024-02-01")


# ------------------------------------------------------------------------------------------------ dYdX
def test_dydx_hourly_rows_page_with_iso_bounds() -> None:
    ts, rate, _ = series(0, 0, 250, seed=3)
    srv = FundingServer(ts, rate).start()
    try:
        got = client(DydxFunding, srv).funding_history("BTC", "2023-12-31", "2025-01-01")
        np.testing.assert_array_equal(ms(got), ts)
        np.testing.assert_array_equal(got["rate"].to_numpy(), rate)
        assert (got["interval_hours"] == 1.0).all() and (got["source"] == "dydx_indexer").all()
        calls = srv.calls("/v4/historicalFunding/BTC-USD")
        assert len(calls) == 3
        assert pd.Timestamp(calls[1]["effectiveBeforeOrAt"]).value // 1_000_000 == int(ts[-100]) - 1
        with pytest.raises(FetchError, match=r"HTTP 404.*not found"):
            client(DydxFunding, srv).funding_history("NOPE", "2024-01-01", "2024-02-01")
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------------ Kraken
def test_kraken_relative_rate_and_4h_to_1h_change() -> None:
    ts, rate, steps = series(0, 60, 100, seed=5)
    srv = FundingServer(ts, rate).start()
    try:
        got = client(KrakenFuturesFunding, srv).funding_history("BTC", int(ts[10]), int(ts[150]))
        np.testing.assert_array_equal(ms(got), ts[10:150])
        np.testing.assert_array_equal(got["rate"].to_numpy(), rate[10:150])  # relativeFundingRate
        np.testing.assert_array_equal(got["interval_hours"].to_numpy(), steps[10:150])
        assert srv.calls("/derivatives/api/v3/historical-funding-rates")[0]["symbol"] == "PF_XBTUSD"
        with pytest.raises(FetchError, match="Argument invalid: symbol"):
            client(KrakenFuturesFunding, srv).funding_history("NOPE", "2024-01-01", "2024-02-01")
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------------ data fetch
@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_data_fetch_stores_the_new_venues_incrementally(fsrv: FundingServer, venue: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    _, _, steps = series(150, 120, 260)
    base = [sys.executable, "-m", "basisctl.cli.main", "data", "fetch", "--venue", venue, "--asset", "BTC",
            "--store", str(tmp_path), "--base-url", fsrv.url, "--json"]
    mid = pd.Timestamp(int(fsrv.ts[300]), unit="ms", tz="UTC").isoformat()
    r1 = subprocess.run([*base, "--from", "2023-12-01", "--to", mid], capture_output=True, text=True,
                        timeout=300)
    assert r1.returncode == 0, r1.stderr
    r2 = subprocess.run([*base, "--to", "2025-01-01"], capture_output=True, text=True, timeout=300)  # resume
    assert r2.returncode == 0, r2.stderr
    out = json.loads(r2.stdout)
    assert out["total"] == len(fsrv.ts)
    stored = pd.read_parquet(out["path"])
    np.testing.assert_array_equal(ms(stored), fsrv.ts)
    np.testing.assert_array_equal(stored["rate"].to_numpy(), fsrv.rate)
    np.testing.assert_array_equal(stored["interval_hours"].to_numpy(), steps)  # resumed row 300 keeps its 1 h


# ------------------------------------------------------------------------------------------------ candles
@pytest.mark.parametrize(("cls", "prefix", "n_calls"), [(BybitFunding, "/v5/market/kline", 3),
                                                        (OkxFunding, "/api/v5/market/history-candles", 23),
                                                        (DydxFunding, "/v4/candles/perpetualMarkets/", 23)])
def test_candles_page_backwards_with_exact_values(fsrv: FundingServer, cls, prefix: str, n_calls: int) -> None:  # type: ignore[no-untyped-def]
    b = fsrv.bar
    start, end = int(b[100, 0]), int(b[2400, 0])
    c = cls(base_url=fsrv.url, retry=FAST, min_interval_s=0.0, sleep=[].append, now_ms=lambda: 4_000_000_000_000)
    got = c.candles("BTC", "1h", start, end)
    want = b[100:2400]
    np.testing.assert_array_equal(ms(got), want[:, 0].astype(np.int64))
    for j, col in enumerate(("open", "high", "low", "close", "volume"), start=1):
        np.testing.assert_array_equal(got[col].to_numpy(), want[:, j])  # OKX: volCcy (base), not contracts
    # 2,300 bars: Bybit 1000 + 1000 + 300 (it is given the start); OKX and dYdX 23 pages of 100, the last one
    # reaching the start exactly
    assert len(fsrv.calls(prefix)) == n_calls


def test_candles_drop_the_bar_still_forming(fsrv: FundingServer) -> None:
    b = fsrv.bar
    last = int(b[-1, 0])
    by = BybitFunding(base_url=fsrv.url, retry=FAST, min_interval_s=0.0, sleep=[].append, now_ms=lambda: last + 60_000)
    got = by.candles("BTC", "1h", int(b[-10, 0]), last + 3_600_000)
    assert ms(got)[-1] == int(b[-2, 0])  # the last bar closes in the future: dropped
    ok = OkxFunding(base_url=fsrv.url, retry=FAST, min_interval_s=0.0, sleep=[].append,
                    now_ms=lambda: 4_000_000_000_000)
    assert ms(ok.candles("BTC", "1h", int(b[-10, 0]), last + 3_600_000))[-1] == int(b[-2, 0])  # confirm "0"
