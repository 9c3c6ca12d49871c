"""Shared candle paging for venues whose kline endpoint returns the newest bars first and pages backwards by an
upper time bound (Bybit, OKX, dYdX). Bars are stamped at their open; a bar whose close is not yet in the past
(still forming) is dropped; the frame is validated as candles of the requested bar length."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from basisctl.data.fetch._parse import candles_frame, interval_ms, to_ms
from basisctl.data.fetch.http import FetchError
from basisctl.data.validate import validate_candles
from basisctl.errors import BasisctlError

TimeLike = int | str | pd.Timestamp
Bar = tuple[int, float, float, float, float, float]  # (open ms, o, h, l, c, volume [base])


class NewestFirstBars:
    """Mixin for a :class:`~basisctl.data.fetch.http.VenueClient`: subclasses set ``bar_page_limit``,
    ``bar_codes`` (our interval label -> the venue's) and implement :meth:`_bar_page`."""

    bar_page_limit: int = 100
    bar_codes: ClassVar[dict[str, str]] = {}
    source: str = ""
    venue: str = ""

    def symbol(self, asset: str) -> str:  # pragma: no cover - provided by the funding client
        raise NotImplementedError

    def _now_ms(self) -> int:  # pragma: no cover - provided by VenueClient
        raise NotImplementedError

    def _bar_page(self, symbol: str, code: str, before_ms: int, start_ms: int) -> tuple[list[Bar], str]:
        raise NotImplementedError  # pragma: no cover

    def candles(self, asset: str, interval: str, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Trade OHLCV bars opening in ``[start, end)``: ts (bar open, UTC), open/high/low/close [quote],
        volume [base], source."""
        if interval not in self.bar_codes:
            raise BasisctlError(f"{self.venue} candles: interval '{interval}' not offered "
                                f"(expected one of {', '.join(self.bar_codes)})")
        step = interval_ms(interval)
        symbol = self.symbol(asset)
        start_ms, end_ms = to_ms(start), to_ms(end)
        now = self._now_ms()
        rows: dict[int, Bar] = {}
        before = end_ms
        while True:
            page, src = self._bar_page(symbol, self.bar_codes[interval], before, start_ms)
            if not page:
                break
            oldest = min(b[0] for b in page)
            if oldest >= before:
                raise FetchError(f"{src}: bars start at {oldest}, not before {before} (server ignores paging)")
            for b in page:
                if b[0] + step <= now:  # drop the bar still forming
                    rows[b[0]] = b
            if oldest <= start_ms or len(page) < self.bar_page_limit:
                break
            before = oldest
        frame = candles_frame([rows[k] for k in sorted(rows)], start_ms, end_ms, self.source)
        return validate_candles(frame, f"{self.venue} candles {symbol} {interval}", step / 3_600_000)
