"""Shared funding-history machinery for venues that page newest-first (Bybit, OKX, dYdX) or return all rows
at once (Kraken Futures), normalised to the funding schema of ``../shared/data``.

A page is a list of ``(settlement_ms, rate, interval_hours | None)``; rates are decimals per settlement interval
(+ = longs pay). ``interval_hours`` per row is the venue's own field where it has one, else the observed spacing to
the previous settlement capped at the venue's longest documented cadence, so a data gap never becomes a long
interval and an 8h -> 4h -> 1h change is followed row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from basisctl.data.fetch._parse import RowErrors, round_settlement_ms, to_ms
from basisctl.data.fetch.http import FetchError, VenueClient
from basisctl.data.validate import validate_funding
from basisctl.errors import DataValidationError

TimeLike = int | str | pd.Timestamp
Row = tuple[int, float, float | None]
HOUR_MS = 3_600_000


def funding_rows(src: str, objects: list[Any], expected: str, match: tuple[str, object] | None, ts_key: str,
                 rate_keys: tuple[str, ...], interval_hours: float | None = None, iso: bool = False) -> list[Row]:
    """The one parser of funding rows that are JSON objects: the settlement time from ``ts_key`` (epoch ms, or an
    ISO-8601 UTC string with ``iso``), the rate [decimal per interval] from the first of ``rate_keys`` that is
    present and non-empty (else the last), and the venue's ``interval_hours`` [h] or None (from the spacing).
    ``match`` = (field, value) every row must carry. Every bad row and field is named in one DataValidationError
    for ``src``."""
    errs = RowErrors(src)
    rows: list[Row] = []
    for i, row in errs.objects(objects, expected, match):
        t = errs.iso_ms(i, row, ts_key) if iso else errs.epoch_ms(i, row, ts_key)
        key = next((k for k in rate_keys if row.get(k) not in (None, "")), rate_keys[-1])
        r = errs.number(i, row, key)
        if t is not None:
            rows.append((t, r, interval_hours))
    errs.raise_if_any()
    return rows


def spacing_intervals(ts_ms: np.ndarray, cap_hours: float, previous_ms: int | None = None) -> np.ndarray:
    """interval_hours per settlement [h]: the observed spacing to the previous settlement, capped at the nominal
    cadence. The cadence at a row is the lower median of the spacings in a centred window of five rows (bounded by
    ``cap_hours``), so a missing settlement (one spacing twice its neighbours') keeps the cadence of its
    neighbours instead of becoming a long interval, while a real switch (8h -> 4h -> 1h, or back) is followed
    row by row. The first row uses ``previous_ms`` when given, else the spacing to the next row, else
    ``cap_hours``."""
    n = ts_ms.size
    out = np.full(n, float(cap_hours))
    if n == 0:
        return out
    gaps = np.full(n, np.nan)
    if n >= 2:
        gaps[1:] = np.diff(ts_ms) / HOUR_MS
        gaps[0] = gaps[1]
    if previous_ms is not None and ts_ms[0] > previous_ms:
        gaps[0] = (ts_ms[0] - previous_ms) / HOUR_MS
    if np.isnan(gaps[0]):
        return out
    cadence = pd.Series(gaps).rolling(5, center=True, min_periods=1).quantile(0.5, interpolation="lower")
    return np.minimum(np.minimum(gaps, cadence.to_numpy()), float(cap_hours))


def _utc(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def funding_frame(rows: Sequence[Row], start_ms: int, end_ms: int, cap_hours: float, source: str, label: str,
                  previous_ms: int | None = None, where: str | Mapping[int, str] = "") -> pd.DataFrame:
    """Canonical, validated funding frame (ts, rate, interval_hours, source) from rows in any order; each
    settlement once, restricted to ``[start_ms, end_ms)``. Two rows for one settlement with different rates are
    an error naming the settlement time; a row the validator refuses is named by its settlement time and
    ``where`` (the request URL, or a map settlement ms -> URL of the page that held it)."""

    def at(ms: int | None = None) -> str:
        if isinstance(where, str):
            return f" ({where})" if where else ""
        # the page of that settlement; for a whole-file problem the first request
        w = where.get(ms, "") if ms is not None else next(iter(where.values()), "")
        return f" ({w})" if w else ""

    by_ts: dict[int, Row] = {}
    for t, r, ih in rows:
        k = round_settlement_ms(t)
        old = by_ts.get(k)
        if old is not None and not (old[1] == r or (np.isnan(old[1]) and np.isnan(r))):
            raise FetchError(f"{label}{at(k)}: duplicate settlement {_utc(k)} with conflicting rates {old[1]!r} "
                             f"and {r!r}")
        by_ts[k] = (k, r, ih)
    ordered = [by_ts[k] for k in sorted(by_ts)]
    ts = np.asarray([r[0] for r in ordered], dtype=np.int64)
    rate = np.asarray([r[1] for r in ordered], dtype=float)
    explicit = np.asarray([np.nan if r[2] is None else r[2] for r in ordered], dtype=float)
    keep = (ts >= start_ms) & (ts < end_ms)
    prev = previous_ms
    if prev is None and keep.any() and np.argmax(keep) > 0:
        prev = int(ts[np.argmax(keep) - 1])  # the row just before the window sets the first interval
    ts, rate, explicit = ts[keep], rate[keep], explicit[keep]
    spaced = spacing_intervals(ts, cap_hours, prev)
    frame = pd.DataFrame({"ts": ts, "rate": rate, "interval_hours": np.where(np.isnan(explicit), spaced, explicit)})
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True).astype("datetime64[ms, UTC]")
    frame["source"] = source
    try:
        return validate_funding(frame, label)
    except DataValidationError as e:
        first = e.issues[0] if e.issues else None
        ms = int(ts[first.row]) if first is not None and first.row is not None and 0 <= first.row < ts.size else None
        when = f" at settlement {_utc(ms)}" if ms is not None else ""
        raise DataValidationError(f"{label}{when}{at(ms)}", e.issues) from e


class NewestFirstFunding(VenueClient):
    """Base of the clients whose funding endpoint returns the newest rows first and pages backwards by an
    upper time bound. Subclasses implement :meth:`_page` (rows strictly before ``before_ms``)."""

    page_limit: int = 100
    cap_hours: float = 8.0
    source: str = ""
    venue: str = ""
    #: The documented order is newest first: a page in any other order (schema drift, e.g. oldest first) would
    #: make backward paging skip rows silently, so it is refused naming the request.
    strict_newest_first: bool = False

    def symbol(self, asset: str) -> str:  # pragma: no cover - every venue overrides
        raise NotImplementedError

    def _page(self, symbol: str, before_ms: int) -> tuple[list[Row], str]:  # pragma: no cover
        raise NotImplementedError

    def funding_history(self, asset: str, start: TimeLike, end: TimeLike,
                        previous: TimeLike | None = None) -> pd.DataFrame:
        """Settlements in ``[start, end)``: ts (UTC), rate [decimal per interval, + = longs pay],
        interval_hours [h], source. One extra older row is read when available so the first row's interval
        comes from a real spacing; ``previous`` (last stored settlement) overrides it."""
        symbol = self.symbol(asset)
        start_ms, end_ms = to_ms(start), to_ms(end)
        rows: list[Row] = []
        where: dict[int, str] = {}
        before = end_ms
        while True:
            page, src = self._page(symbol, before)
            if not page:
                break
            order = np.diff(np.asarray([t for t, _, _ in page], dtype=np.int64))
            if self.strict_newest_first and (order > 0).any():
                j = int(np.argmax(order > 0))
                raise FetchError(f"{src}: rows are not newest first (row {j + 1} at {_utc(page[j + 1][0])} is "
                                 f"later than row {j} at {_utc(page[j][0])}); the API's documented order changed, "
                                 "backward paging would skip rows")
            for t, _, _ in page:
                where.setdefault(round_settlement_ms(t), src)
            oldest = min(t for t, _, _ in page)
            if oldest >= before:
                raise FetchError(f"{src}: rows start at {oldest}, not before {before} (server ignores paging)")
            rows.extend(page)
            if oldest < start_ms or len(page) < self.page_limit:
                break
            before = oldest
        prev_ms = to_ms(previous) if previous is not None else None
        return funding_frame(rows, start_ms, end_ms, self.cap_hours, self.source,
                             f"{self.venue} funding {symbol}", prev_ms, where)
