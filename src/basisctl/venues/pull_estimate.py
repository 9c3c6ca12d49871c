"""What a download of the default set will cost before it starts: rows, requests, bytes on disk and wall time.

Used by ``basisctl report``'s download prompt (a person decides with the numbers in front of them). The counts
follow the downloaders' paging (:data:`basisctl.venues.pull.CHUNK_MS` windows, each paged at the venue's page
size) and the time follows their pacing (the minimum interval between requests, plus a typical round trip);
bytes use a rough Parquet size per row. Estimates, not promises: venue rate limits and latency vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from basisctl.data.fetch._parse import INTERVAL_MS, to_ms
from basisctl.venues.binance.fetch import BINANCE_MIN_INTERVAL_S, BinanceUsdm
from basisctl.venues.hyperliquid.fetch import HYPERLIQUID_MIN_INTERVAL_S, HyperliquidInfo
from basisctl.venues.pull import CHUNK_MS, Series

#: Funding period [ms] of the two default venues (Binance 8 h, Hyperliquid 1 h).
FUNDING_PERIOD_MS = {"binance": 8 * 3_600_000, "hyperliquid": 3_600_000}
#: Rough Parquet size on disk [bytes per row] (compressed): a funding row, a candle row.
BYTES_PER_ROW = {"funding": 24, "candles": 48, "mark": 48, "meta": 0}
#: Typical request round trip [s] on top of the pacing interval.
ROUND_TRIP_S = 0.25
#: Hyperliquid serves only the most recent 5000 candles of an interval.
HL_CANDLES_SERVED = 5000


@dataclass(frozen=True)
class PullEstimate:
    """``rows`` to download, ``requests`` [count], ``bytes`` on disk [B], ``seconds`` of wall time [s]."""

    series: int
    rows: int
    requests: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        """One sentence for a prompt: what, how big, how long."""
        mb = self.bytes / 1e6
        size = f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"
        minutes = self.seconds / 60
        took = f"{minutes:.0f} min" if minutes >= 2 else f"{self.seconds:.0f} s"
        return (f"{self.series} series, about {self.rows:,} rows in {self.requests:,} requests: about {size} on "
                f"disk, about {took} at the venues' rate limits")


def estimate_series(s: Series, now_ms: int) -> tuple[int, int, float]:
    """(rows, requests, seconds) for one series downloaded from scratch up to ``now_ms``."""
    pace = BINANCE_MIN_INTERVAL_S if s.venue == "binance" else HYPERLIQUID_MIN_INTERVAL_S
    if s.kind == "meta":
        return 0, 1, pace + ROUND_TRIP_S
    start = to_ms(s.start)
    span = max(0, now_ms - start)
    chunks = max(1, math.ceil(span / CHUNK_MS))
    if s.kind == "funding":
        step, page = FUNDING_PERIOD_MS[s.venue], (BinanceUsdm.funding_limit if s.venue == "binance"
                                                   else HyperliquidInfo.funding_page_limit)
    else:
        step = INTERVAL_MS[s.interval or "1h"]
        page = BinanceUsdm.klines_limit if s.venue == "binance" else HyperliquidInfo.candle_page_limit
    per_chunk = CHUNK_MS // step
    rows = span // step
    if s.venue == "hyperliquid" and s.kind == "candles":
        rows = min(rows, HL_CANDLES_SERVED)
    requests = chunks * max(1, math.ceil(per_chunk / page))
    return int(rows), int(requests), requests * (pace + ROUND_TRIP_S)


def estimate_pull(series: list[Series], now: pd.Timestamp | None = None) -> PullEstimate:
    """Totals over ``series`` (each from scratch: an empty store)."""
    now_ms = to_ms(now if now is not None else pd.Timestamp.now(tz="UTC"))
    rows = requests = size = 0
    seconds = 0.0
    for s in series:
        r, q, t = estimate_series(s, now_ms)
        rows, requests, seconds = rows + r, requests + q, seconds + t
        size += r * BYTES_PER_ROW[s.kind]
    return PullEstimate(len(series), rows, requests, size, seconds)
