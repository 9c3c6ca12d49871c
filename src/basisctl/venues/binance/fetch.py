"""Binance USD-M futures public market data: funding history, klines and mark-price klines.

Endpoints (public, no key): ``GET /fapi/v1/fundingRate`` (rows ``{symbol, fundingTime, fundingRate,
markPrice}``, at most 1000 per call), ``GET /fapi/v1/klines`` and ``GET /fapi/v1/markPriceKlines`` (arrays
``[openTime, open, high, low, close, volume, closeTime, ...]``, at most 1500 per call). Pages are walked
forward from ``startTime`` until the window ``[start, end)`` is covered; every row is parsed strictly and a
malformed row raises :class:`~basisctl.errors.DataValidationError` naming the request, row and field.

Funding rows: ``fundingTime`` is rounded to the hour when within 60 s (the API carries ms jitter);
``interval_hours`` is the observed spacing to the previous settlement capped at the nominal 8 h (the first
row uses the spacing to the next one), so data gaps never become long intervals and 4 h symbols read as 4.
Klines: bars whose ``closeTime`` is not yet in the past (the bar still forming) are dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from basisctl.data.fetch._parse import (
    RowErrors,
    candles_frame,
    interval_ms,
    json_array,
    keep_closed_bar,
    next_page_start,
    round_settlement_ms,
    to_ms,
)
from basisctl.data.fetch.http import VenueClient
from basisctl.data.validate import validate_candles, validate_funding

BINANCE_USDM_URL = "https://fapi.binance.com"
#: Client-side pace [s between requests]: /fapi/v1/fundingRate shares 500 requests / 5 min / IP.
BINANCE_MIN_INTERVAL_S = 0.6
NOMINAL_FUNDING_HOURS = 8.0
SOURCE = "binance_api"
TimeLike = int | str | pd.Timestamp


def binance_symbol(asset: str) -> str:
    """``BTC`` -> ``BTCUSDT``; a full symbol (``BTCUSDC``, ``1000PEPEUSDT``) is kept as given."""
    a = asset.upper()
    return a if a.endswith(("USDT", "USDC", "BUSD")) else f"{a}USDT"


class BinanceUsdm(VenueClient):
    """Binance USD-M market-data client. ``http`` (or ``transport``/``base_url``) is the I/O seam."""

    default_base_url = BINANCE_USDM_URL
    default_min_interval_s = BINANCE_MIN_INTERVAL_S
    funding_limit = 1000
    klines_limit = 1500

    def _source(self, path: str, params: dict[str, Any]) -> str:
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return f"GET {self.http.base_url}{path}?{q}"

    # ------------------------------------------------------------------ funding
    def funding_history(
        self, asset: str, start: TimeLike, end: TimeLike, previous: TimeLike | None = None
    ) -> pd.DataFrame:
        """Settlements in ``[start, end)``: ts (UTC), rate [decimal per interval, + = longs pay],
        interval_hours [h], source. ``previous`` (the last settlement already stored, if any) sets the
        first row's interval from its spacing instead of the spacing to the next row."""
        symbol = binance_symbol(asset)
        start_ms, end_ms = to_ms(start), to_ms(end)
        times: list[int] = []
        rates: list[float] = []
        cur = start_ms
        while cur < end_ms:
            params = {"symbol": symbol, "startTime": cur, "endTime": end_ms - 1, "limit": self.funding_limit}
            src = self._source("/fapi/v1/fundingRate", params)
            page = json_array(self.http.get_json("/fapi/v1/fundingRate", params), src, "funding rows")
            errs = RowErrors(src)
            page_times: list[int] = []
            for i, row in errs.objects(page, "an object {symbol, fundingTime, fundingRate, markPrice}",
                                       ("symbol", symbol)):
                t = errs.epoch_ms(i, row, "fundingTime")
                r = errs.number(i, row, "fundingRate")
                if t is not None:
                    page_times.append(t)
                    times.append(round_settlement_ms(t))
                    rates.append(r)
            errs.raise_if_any()
            if not page_times:
                break
            cur = next_page_start(page_times, cur, 1, src, "rows")  # settlements: resume 1 ms after the last
            if len(page) < self.funding_limit:
                break
        frame = pd.DataFrame({"ts": np.asarray(times, dtype=np.int64), "rate": np.asarray(rates, dtype=float)})
        frame = frame[(frame["ts"] >= start_ms) & (frame["ts"] < end_ms)].reset_index(drop=True)
        prev_ms = to_ms(previous) if previous is not None else None
        frame["interval_hours"] = _binance_intervals(frame["ts"].to_numpy(), prev_ms)
        frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True).astype("datetime64[ms, UTC]")
        frame["source"] = SOURCE
        return validate_funding(frame, f"binance fundingRate {symbol}")

    # ------------------------------------------------------------------ klines
    def klines(self, asset: str, interval: str, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Last-trade OHLCV bars opening in ``[start, end)``: ts (bar open, UTC), open/high/low/close
        [USDT], volume [base], source."""
        return self._klines("/fapi/v1/klines", asset, interval, start, end, with_volume=True)

    def mark_price_klines(self, asset: str, interval: str, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Mark-price OHLC bars opening in ``[start, end)`` (no volume): ts (bar open), open/high/low/close."""
        return self._klines("/fapi/v1/markPriceKlines", asset, interval, start, end, with_volume=False)

    def _klines(
        self, path: str, asset: str, interval: str, start: TimeLike, end: TimeLike, *, with_volume: bool
    ) -> pd.DataFrame:
        symbol = binance_symbol(asset)
        step = interval_ms(interval)
        start_ms, end_ms = to_ms(start), to_ms(end)
        now = self._now_ms()
        rows: list[tuple[int, float, float, float, float, float]] = []
        cur = start_ms
        while cur < end_ms:
            params = {
                "symbol": symbol,
                "interval": interval,
                "startTime": cur,
                "endTime": end_ms - 1,
                "limit": self.klines_limit,
            }
            src = self._source(path, params)
            page = json_array(self.http.get_json(path, params), src, "klines")
            errs = RowErrors(src)
            opens: list[int] = []
            for i, k in errs.arrays(page, 7, "an array [openTime, open, high, low, close, volume, closeTime, ...]"):
                t = errs.epoch_ms(i, k, 0)
                o, h, lo, c = errs.ohlc(i, k, (1, 2, 3, 4))
                v = errs.number(i, k, 5) if with_volume else float("nan")
                keep_closed_bar(rows, opens, (t, o, h, lo, c, v), errs.epoch_ms(i, k, 6), now)
            errs.raise_if_any()
            if not opens:
                break
            cur = next_page_start(opens, cur, step, src, "bars")
            if len(page) < self.klines_limit:
                break
        frame = candles_frame(rows, start_ms, end_ms, SOURCE)
        if not with_volume:
            frame = frame.drop(columns="volume")
        return validate_candles(frame, f"binance {path.rsplit('/', 1)[-1]} {symbol} {interval}", step / 3_600_000)


def _binance_intervals(ts_ms: np.ndarray, previous_ms: int | None = None) -> np.ndarray:
    """interval_hours per settlement: spacing to the previous one, capped at 8 h. The first row uses
    ``previous_ms`` when given, else the spacing to the next row, else 8 h."""
    n = ts_ms.size
    out = np.full(n, NOMINAL_FUNDING_HOURS)
    if n >= 2:
        gaps = np.diff(ts_ms) / 3_600_000
        out[1:] = np.minimum(gaps, NOMINAL_FUNDING_HOURS)
        out[0] = min(gaps[0], NOMINAL_FUNDING_HOURS)
    if n >= 1 and previous_ms is not None and ts_ms[0] > previous_ms:
        out[0] = min((ts_ms[0] - previous_ms) / 3_600_000, NOMINAL_FUNDING_HOURS)
    return out
