"""Shared helpers for the venue clients: time conversion, strict field parsing with row-level errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from basisctl.data.fetch.http import FetchError
from basisctl.errors import BasisctlError, DataValidationError, ValidationIssue

HOUR_MS = 3_600_000
#: Bar lengths the fetchers accept (both venues; 6h is Binance only) [label -> ms].
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": 24 * HOUR_MS,
}


def interval_ms(label: str) -> int:
    try:
        return INTERVAL_MS[label]
    except KeyError:
        raise BasisctlError(f"interval '{label}': expected one of {', '.join(INTERVAL_MS)}") from None


def to_ms(t: int | float | str | date | datetime | pd.Timestamp) -> int:
    """Epoch milliseconds (UTC) from an int [ms], an ISO date/time string, a date or a datetime (naive = UTC)."""
    if isinstance(t, int | float) and not isinstance(t, bool):
        return int(t)
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value // 1_000_000)


def round_settlement_ms(ms: int, tol_ms: int = 60_000) -> int:
    """Round a settlement time to the hour when within ``tol_ms`` of it (APIs carry ms jitter)."""
    nearest = ((ms + HOUR_MS // 2) // HOUR_MS) * HOUR_MS
    return nearest if abs(ms - nearest) <= tol_ms else ms


class RowErrors:
    """Collects per-field problems of one API response, then raises one DataValidationError for all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[ValidationIssue] = []

    def add(self, row: int | None, column: str | None, expected: str, got: object) -> None:
        self.issues.append(ValidationIssue(row, column, expected, _short(got)))

    def number(self, row: int, obj: Any, key: str | int, positive: bool = False) -> float:
        try:
            v = obj[key]
        except (KeyError, IndexError, TypeError):
            self.add(row, str(key), "a field present", "missing")
            return math.nan
        try:
            x = float(v)
        except (TypeError, ValueError):
            self.add(row, str(key), "a number (JSON number or numeric string)", v)
            return math.nan
        if not math.isfinite(x) or (positive and x <= 0):
            self.add(row, str(key), "a finite number > 0" if positive else "a finite number", v)
            return math.nan
        return x

    def epoch_ms(self, row: int, obj: Any, key: str | int) -> int | None:
        try:
            v = obj[key]
        except (KeyError, IndexError, TypeError):
            self.add(row, str(key), "a field present", "missing")
            return None
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            self.add(row, str(key), "an integer epoch time [ms]", v)
            return None
        try:
            x = int(v) if not isinstance(v, float) else (int(v) if v.is_integer() else None)
        except ValueError:
            x = None
        if x is None or not (1_230_768_000_000 <= x < 4_102_444_800_000):  # 2009-01-01 .. 2100-01-01
            self.add(row, str(key), "an integer epoch time [ms] between 2009 and 2100", v)
            return None
        return x

    def iso_ms(self, row: int, obj: dict[str, Any], key: str) -> int | None:
        """An ISO-8601 time string (naive = UTC) as epoch ms; a missing or unparsable field is recorded, None."""
        v = obj.get(key)
        try:
            ts = pd.Timestamp(v) if isinstance(v, str) else None
        except ValueError:
            ts = None
        if ts is None:
            self.add(row, key, "an ISO-8601 UTC time string", v if key in obj else "missing")
            return None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return int(ts.value // 1_000_000)

    def raise_if_any(self) -> None:
        if self.issues:
            raise DataValidationError(self.source, self.issues)

    def objects(self, rows: list[Any], expected: str, match: tuple[str, object] | None = None,
                ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, row) of the rows that are JSON objects; any other row is recorded as an error naming
        ``expected``. ``match`` = (field, value): a row whose field is present with another value is recorded
        too (a symbol or coin the request did not ask for)."""
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                self.add(i, None, expected, row)
                continue
            if match is not None and row.get(match[0], match[1]) != match[1]:
                self.add(i, match[0], f"'{match[1]}'", row.get(match[0]))
            yield i, row

    def arrays(self, rows: list[Any], min_len: int, expected: str) -> Iterator[tuple[int, list[Any]]]:
        """(index, row) of the rows that are JSON arrays of at least ``min_len`` items; others are recorded."""
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) < min_len:
                self.add(i, None, expected, row)
                continue
            yield i, row

    def ohlc(self, row: int, obj: Any, keys: tuple[str | int, str | int, str | int, str | int],
             ) -> tuple[float, float, float, float]:
        """Open, high, low, close of a bar [price > 0]; a missing or bad field is recorded and reads NaN."""
        o, h, lo, c = (self.number(row, obj, k, positive=True) for k in keys)
        return o, h, lo, c


def json_array(page: Any, src: str, what: str) -> list[Any]:
    """``page`` when it is a JSON array, else a FetchError naming the request and ``what`` it should hold."""
    if not isinstance(page, list):
        raise FetchError(f"{src}: expected a JSON array of {what}, got {str(page)[:200]}")
    return page


def request_label(base_url: str, path: str, params: dict[str, Any]) -> str:
    """``GET <base><path>?k=v&...`` naming one request in errors."""
    return f"GET {base_url}{path}?" + "&".join(f"{k}={v}" for k, v in params.items())


def keep_closed_bar(rows: list[tuple[int, float, float, float, float, float]], opens: list[int],
                    bar: tuple[int | None, float, float, float, float, float], close_ms: int | None,
                    now_ms: int) -> None:
    """Record a parsed bar (open ms, o, h, l, c, v): its open time goes to ``opens`` (the paging cursor) and the
    bar to ``rows`` unless it has no open time or is still forming (its close ``close_ms`` not yet past)."""
    t = bar[0]
    if t is None:
        return
    opens.append(t)
    if close_ms is not None and close_ms >= now_ms:
        return  # bar still forming
    rows.append((t, *bar[1:]))


def _short(v: object) -> str:
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def next_page_start(opens: list[int], cur: int, step_ms: int, src: str, what: str) -> int:
    """Cursor after a page of bars opening at ``opens`` [ms]: last open + one bar; refuses a server that
    ignores paging (returns bars before the requested start)."""
    last = max(opens)
    if last < cur:
        raise FetchError(f"{src}: {what} end at {last} before startTime {cur} (server ignores paging)")
    return last + step_ms


def candles_frame(rows: list[tuple[int, float, float, float, float, float]], start_ms: int, end_ms: int,
                  source: str) -> pd.DataFrame:
    """Canonical candle frame from (open_ms, o, h, l, c, v) rows, restricted to [start_ms, end_ms)."""
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    frame = frame[(frame["ts"] >= start_ms) & (frame["ts"] < end_ms)].reset_index(drop=True)
    frame["ts"] = pd.to_datetime(frame["ts"].astype(np.int64), unit="ms", utc=True).astype("datetime64[ms, UTC]")
    frame["source"] = source
    return frame
