"""Hyperliquid info API (``POST /info``): fundingHistory, candleSnapshot, metaAndAssetCtxs.

- ``{"type": "fundingHistory", "coin", "startTime", "endTime"}`` -> ``[{coin, fundingRate, premium, time}]``
  (strings for the decimals, ms for ``time``), at most 500 rows per call: pages are walked forward from the
  last ``time`` + 1 ms. ``time`` is rounded to the nearest hour (settlements are hourly; some are stamped
  late, up to 24 min in the recorded history). ``interval_hours`` is 8 for
  settlements before 2023-06-08 01:00 UTC (Hyperliquid then settled every 8 h) and 1 afterwards.
- ``{"type": "candleSnapshot", "req": {coin, interval, startTime, endTime}}`` ->
  ``[{t, T, s, i, o, c, h, l, v, n}]`` (t/T open/close ms; o/c/h/l/v strings). Paged by last ``t`` + bar
  length; bars whose close ``T`` is not yet in the past are dropped. Hyperliquid serves only the most recent
  5000 candles of an interval.
- ``{"type": "metaAndAssetCtxs"}`` -> ``[meta, ctxs]``: the perp universe (maxLeverage, marginTableId...),
  margin tables and current per-asset contexts (funding, markPx, oraclePx, openInterest...).
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
from basisctl.data.fetch.http import HttpClient, VenueClient
from basisctl.data.hyperliquid_meta import HyperliquidMeta, parse_meta_and_asset_ctxs
from basisctl.data.validate import validate_candles, validate_funding

HYPERLIQUID_URL = "https://api.hyperliquid.xyz"
#: Client-side pace [s between requests]: info requests weigh 20 of a 1200-per-minute IP budget.
HYPERLIQUID_MIN_INTERVAL_S = 1.0
#: First hourly settlement [ms]; earlier settlements covered 8 h.
HOURLY_FUNDING_FROM_MS = 1_686_186_000_000  # 2023-06-08T01:00:00Z
SOURCE = "hyperliquid_api"
#: Settlements are on the hour; the API stamps some late (recorded: BTC 2023-05-23 08:23:53.040 for the 08:00
#: settlement, in ../shared/fixtures/hyperliquid), so times round to the nearest hour within 30 min.
LATE_SETTLEMENT_TOL_MS = 1_800_000 - 1
TimeLike = int | str | pd.Timestamp


def hl_coin(coin: str) -> str:
    """Hyperliquid's coin name: upper case, except the ``k`` prefix of the 1000x-scaled coins (``kPEPE``), which
    the API matches case-sensitively (the recorded candleSnapshot for kPEPE answers with ``"s": "kPEPE"``)."""
    if coin.startswith("k") and len(coin) > 1 and coin[1:].isupper():
        return coin
    return coin.upper()


class HyperliquidInfo(VenueClient):
    """Hyperliquid info-endpoint client. ``http`` (or ``transport``/``base_url``) is the I/O seam."""

    default_base_url = HYPERLIQUID_URL
    default_min_interval_s = HYPERLIQUID_MIN_INTERVAL_S
    funding_page_limit = 500
    candle_page_limit = 5000

    def __init__(self, http: HttpClient | None = None, *, candle_page_limit: int | None = None,
                 **kwargs: Any) -> None:
        """``kwargs``: base_url, transport, retry, min_interval_s, sleep, now_ms (see :class:`VenueClient`)."""
        super().__init__(http, **kwargs)
        if candle_page_limit is not None:
            self.candle_page_limit = candle_page_limit

    def _info(self, body: dict[str, Any]) -> tuple[Any, str]:
        return self.http.post_json("/info", body), f"POST {self.http.base_url}/info {body}"

    # ------------------------------------------------------------------ funding
    def funding_history(self, coin: str, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Settlements in ``[start, end)``: ts (UTC), rate [decimal per interval, + = longs pay],
        interval_hours [h], premium [decimal], source."""
        coin = hl_coin(coin)
        start_ms, end_ms = to_ms(start), to_ms(end)
        times: list[int] = []
        rates: list[float] = []
        prem: list[float] = []
        cur = start_ms
        while cur < end_ms:
            body = {"type": "fundingHistory", "coin": coin, "startTime": cur, "endTime": end_ms - 1}
            raw, src = self._info(body)
            page = json_array(raw, src, "funding rows")
            errs = RowErrors(src)
            raw_times: list[int] = []
            for i, row in errs.objects(page, "an object {coin, fundingRate, premium, time}", ("coin", coin)):
                t = errs.epoch_ms(i, row, "time")
                r = errs.number(i, row, "fundingRate")
                p = errs.number(i, row, "premium") if "premium" in row else float("nan")
                if t is not None:
                    raw_times.append(t)
                    times.append(round_settlement_ms(t, LATE_SETTLEMENT_TOL_MS))
                    rates.append(r)
                    prem.append(p)
            errs.raise_if_any()
            if not raw_times:
                break
            cur = next_page_start(raw_times, cur, 1, src, "rows")  # settlements: resume 1 ms after the last
            if len(page) < self.funding_page_limit:
                break
        ts = np.asarray(times, dtype=np.int64)
        frame = pd.DataFrame(
            {
                "ts": ts,
                "rate": np.asarray(rates, dtype=float),
                "interval_hours": np.where(ts < HOURLY_FUNDING_FROM_MS, 8.0, 1.0),
                "premium": np.asarray(prem, dtype=float),
            }
        )
        frame = frame[(frame["ts"] >= start_ms) & (frame["ts"] < end_ms)].reset_index(drop=True)
        frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True).astype("datetime64[ms, UTC]")
        frame["source"] = SOURCE
        return validate_funding(frame, f"hyperliquid fundingHistory {coin}")

    # ------------------------------------------------------------------ candles
    def candles(self, coin: str, interval: str, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Trade OHLCV bars opening in ``[start, end)``: ts (bar open, UTC), open/high/low/close [USDC],
        volume [base], source."""
        coin = hl_coin(coin)
        step = interval_ms(interval)
        start_ms, end_ms = to_ms(start), to_ms(end)
        now = self._now_ms()
        rows: list[tuple[int, float, float, float, float, float]] = []
        cur = start_ms
        while cur < end_ms:
            req = {"coin": coin, "interval": interval, "startTime": cur, "endTime": end_ms - 1}
            raw, src = self._info({"type": "candleSnapshot", "req": req})
            page = json_array(raw, src, "candles")
            errs = RowErrors(src)
            opens: list[int] = []
            for i, k in errs.objects(page, "an object {t, T, s, i, o, c, h, l, v, n}", ("s", coin)):
                if k.get("i", interval) != interval:
                    errs.add(i, "i", f"'{interval}'", k.get("i"))
                t = errs.epoch_ms(i, k, "t")
                close_t = errs.epoch_ms(i, k, "T")
                o, h, lo, c = errs.ohlc(i, k, ("o", "h", "l", "c"))
                keep_closed_bar(rows, opens, (t, o, h, lo, c, errs.number(i, k, "v")), close_t, now)
            errs.raise_if_any()
            if not opens:
                break
            cur = next_page_start(opens, cur, step, src, "candles")
            if len(page) < self.candle_page_limit:
                break
        frame = candles_frame(rows, start_ms, end_ms, SOURCE)
        return validate_candles(frame, f"hyperliquid candleSnapshot {coin} {interval}", step / 3_600_000)

    # ------------------------------------------------------------------ meta
    def meta_and_asset_ctxs_raw(self) -> tuple[Any, str]:
        """The raw ``[meta, assetCtxs]`` response (validated by parsing it) and its source label."""
        resp, src = self._info({"type": "metaAndAssetCtxs"})
        parse_meta_and_asset_ctxs(resp, src)
        return resp, src

    def meta_and_asset_ctxs(self) -> HyperliquidMeta:
        """Current perp universe with asset contexts, and the margin tables."""
        resp, src = self._info({"type": "metaAndAssetCtxs"})
        return parse_meta_and_asset_ctxs(resp, src)
