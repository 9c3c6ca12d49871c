"""Download venue history into a Parquet store: one series (``basisctl data fetch``) or the default data set
that the main job needs (``basisctl data pull``), resumable, from the venues' public endpoints without keys.

The store uses the shared data layout (:mod:`basisctl.data.store`), so it is a data dir for the locator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.data.fetch._parse import to_ms
from basisctl.data.fetch.http import ConnectFailed
from basisctl.data.store import ParquetStore
from basisctl.errors import BasisctlError
from basisctl.venues.binance.fetch import BINANCE_USDM_URL, BinanceUsdm
from basisctl.venues.hyperliquid.fetch import HYPERLIQUID_URL, HyperliquidInfo
from basisctl.venues.registry import downloaders, get_venue

#: Hyperliquid's first settlement (the fundingHistory API has nothing earlier).
HYPERLIQUID_FUNDING_START = "2023-05-12"
#: Binance history the default set starts from: the report's earliest calibration window (2 years before the
#: 2023 test window) plus a 180-day volatility lookback.
DEFAULT_FROM = "2020-11-01"


@dataclass(frozen=True)
class Series:
    """One downloadable series: ``kind`` funding | candles | mark | meta; ``interval`` for candles/mark."""

    venue: str
    kind: str
    asset: str = ""
    interval: str | None = None
    start: str = DEFAULT_FROM

    @property
    def label(self) -> str:
        iv = f" {self.interval}" if self.interval else ""
        return f"{self.venue} {self.kind} {self.asset}{iv}".replace("  ", " ").strip()


def default_set(assets: tuple[str, ...] = ("BTC", "ETH", "LINK", "DOGE"), start: str = DEFAULT_FROM) -> list[Series]:
    """What ``basisctl report`` reads: Binance USD-M funding + 1h/4h perp klines, Hyperliquid funding, recent
    Hyperliquid 1h candles (the API serves the last 5000) and the Hyperliquid margin tables (metaAndAssetCtxs)."""
    out: list[Series] = []
    for a in assets:
        out += [
            Series("binance", "funding", a, None, start),
            Series("binance", "candles", a, "1h", start),
            Series("binance", "candles", a, "4h", start),
            Series("hyperliquid", "funding", a, None, max(start, HYPERLIQUID_FUNDING_START)),
            Series("hyperliquid", "candles", a, "1h", start),
        ]
    out.append(Series("hyperliquid", "meta"))
    return out


#: Venues with a funding-history client in the venue registry besides Binance and Hyperliquid.
OTHER_FUNDING_VENUES: tuple[str, ...] = tuple(v for v in downloaders("funding") if v not in ("binance", "hyperliquid"))


@dataclass
class Clients:
    """Venue clients, created on first use. Base URLs are overridable (mirrors, local test servers);
    ``options`` go to every client (e.g. ``transport``, ``sleep``, ``min_interval_s``; see ``VenueClient``)."""

    binance_url: str = BINANCE_USDM_URL
    hyperliquid_url: str = HYPERLIQUID_URL
    options: dict[str, Any] = field(default_factory=dict)
    _bn: BinanceUsdm | None = None
    _hl: HyperliquidInfo | None = None
    #: base URL for the other registry venues (bybit, okx, dydx, kraken); None = each venue's default
    other_url: str | None = None
    _others: dict[str, Any] = field(default_factory=dict)

    @property
    def binance(self) -> BinanceUsdm:
        if self._bn is None:
            self._bn = BinanceUsdm(base_url=self.binance_url, **self.options)
        return self._bn

    @property
    def hyperliquid(self) -> HyperliquidInfo:
        if self._hl is None:
            self._hl = HyperliquidInfo(base_url=self.hyperliquid_url, **self.options)
        return self._hl

    def venue(self, name: str) -> Any:
        """The funding client of any registry venue (``basisctl.venues.registry``), created on first use."""
        if name not in self._others:
            kw = dict(self.options)
            if self.other_url:
                kw["base_url"] = self.other_url
            self._others[name] = get_venue(name).client(**kw)
        return self._others[name]

    def requests(self) -> int:
        return sum(c.http.requests for c in (self._bn, self._hl, *self._others.values()) if c is not None)

    def answered(self) -> int:
        """Requests any venue answered (any status): 0 means the run has not reached the network yet."""
        return sum(c.http.answered for c in (self._bn, self._hl, *self._others.values()) if c is not None)

    def close(self) -> None:
        for c in (self._bn, self._hl, *self._others.values()):
            if c is not None:
                c.close()


#: Window of one download chunk [ms]: each chunk is validated and appended on its own, so an interrupted
#: download keeps every finished chunk and the next run resumes after it.
CHUNK_MS = 60 * 86_400_000


def parse_time_ms(value: str | int | pd.Timestamp, flag: str) -> int:
    """Epoch ms from a CLI time; a bad value is one clear error naming the flag."""
    try:
        return to_ms(value)
    except (ValueError, TypeError, OverflowError) as e:
        raise BasisctlError(f"{flag} '{value}': expected a UTC date or time like 2026-01-31 or "
                            "2026-01-31T08:00 (or epoch milliseconds)") from e


def _download(store: ParquetStore, s: Series, clients: Clients, start_ms: int, end_ms: int) -> pd.DataFrame:
    if s.venue == "binance":
        bn = clients.binance
        if s.kind == "funding":
            prev = store.last_ts("funding", "binance", s.asset)
            prev_ms = to_ms(prev) if prev is not None and to_ms(prev) < start_ms else None
            return bn.funding_history(s.asset, start_ms, end_ms, previous=prev_ms)
        if s.kind == "candles":
            return bn.klines(s.asset, s.interval or "1h", start_ms, end_ms)
        return bn.mark_price_klines(s.asset, s.interval or "1h", start_ms, end_ms)
    if s.venue == "hyperliquid":
        hl = clients.hyperliquid
        if s.kind == "funding":
            return hl.funding_history(s.asset, start_ms, end_ms)
        if s.kind == "candles":
            return hl.candles(s.asset, s.interval or "1h", start_ms, end_ms)
        raise BasisctlError("Hyperliquid's info API has no mark-price history; use --kind meta for the "
                            "current mark/oracle snapshot")
    if s.kind == "funding" and s.venue in OTHER_FUNDING_VENUES:
        prev = store.last_ts("funding", s.venue, s.asset)
        prev_ms = to_ms(prev) if prev is not None and to_ms(prev) < start_ms else None
        return clients.venue(s.venue).funding_history(s.asset, start_ms, end_ms, previous=prev_ms)
    raise BasisctlError(f"no {s.kind} downloader for venue '{s.venue}'")


def fetch_series(
    store: ParquetStore,
    s: Series,
    clients: Clients,
    start: str | int | pd.Timestamp | None = None,
    end: str | int | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Download one series into ``store``; ``start`` None resumes after the stored data (else ``s.start``).

    The window is fetched in chunks of :data:`CHUNK_MS`, each appended atomically, so a killed download loses at
    most the chunk in flight. Returns the summary: path, added, replaced, total, fetched (and gaps, first, last).
    """
    if s.kind == "meta":
        if s.venue != "hyperliquid":
            raise BasisctlError("--kind meta is the Hyperliquid metaAndAssetCtxs snapshot; use --venue hyperliquid")
        resp, _ = clients.hyperliquid.meta_and_asset_ctxs_raw()
        p = store.write_json_snapshot("hyperliquid", "metaAndAssetCtxs", resp, pd.Timestamp.now(tz="UTC"))
        return {"path": str(p), "assets": len(resp[0]["universe"]), "fetched": 1}
    interval = None if s.kind == "funding" else s.interval
    end_ms = parse_time_ms(end, "--to") if end is not None else to_ms(pd.Timestamp.now(tz="UTC"))
    if start is not None:
        start_ms = parse_time_ms(start, "--from")
        if start_ms >= end_ms:
            raise BasisctlError(f"empty window: --from {pd.Timestamp(start_ms, unit='ms', tz='UTC')} is not before "
                                f"--to {pd.Timestamp(end_ms, unit='ms', tz='UTC')}")
    else:
        last = store.last_ts(s.kind, s.venue, s.asset, interval)
        start_ms = to_ms(last) + 1 if last is not None else parse_time_ms(s.start, "--from")
    path = store.path(s.kind, s.venue, s.asset, interval)
    summary: dict[str, Any] = {"path": str(path), "added": 0, "replaced": 0, "fetched": 0}
    if start_ms >= end_ms:
        stored = store.last_ts(s.kind, s.venue, s.asset, interval)
        return {**summary, "up_to_date": True, "total": _stored_rows(path),
                "last": None if stored is None else stored.isoformat()}
    lo = start_ms
    while lo < end_ms:
        hi = min(end_ms, lo + CHUNK_MS)
        frame = _download(store, s, clients, lo, hi)
        if not frame.empty:
            res = store.append(frame, s.kind, s.venue, s.asset, interval)
            d = res.as_dict()
            summary.update({k: v for k, v in d.items() if k not in ("added", "replaced")})
            summary["added"] += res.added
            summary["replaced"] += res.replaced
            summary["fetched"] += len(frame)
        lo = hi
    summary.setdefault("total", _stored_rows(path))
    return summary


def _stored_rows(path: Path) -> int:
    from basisctl.data.store import read_store_file

    return len(read_store_file(path, ["ts"])) if path.exists() else 0


def pull(
    store: ParquetStore,
    series: list[Series],
    clients: Clients,
    on_item: Callable[[Series, dict[str, Any] | None, str | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Fetch every series (resuming each after what is stored). A failed series is recorded with its error and
    the others continue; the caller decides whether any failure is fatal.

    Offline fails fast: if the run's first request cannot connect (DNS, refused, TLS, connect timeout; no venue
    has answered yet), :class:`ConnectFailed` ends the run at once. A connect failure later in the run (the
    network works, one venue's host does not) fails that venue's remaining series without trying them again."""
    out: list[dict[str, Any]] = []
    unreachable: dict[str, str] = {}  # venue -> its connect error
    for s in series:
        try:
            if s.venue in unreachable:
                raise BasisctlError(unreachable[s.venue])
            summary = fetch_series(store, s, clients)
            row: dict[str, Any] = {"series": s.label, "ok": True, **summary}
            err = None
        except ConnectFailed as e:
            if clients.answered() == 0:
                raise
            err = unreachable[s.venue] = str(e)
            row = {"series": s.label, "ok": False, "error": err}
        except BasisctlError as e:
            err = str(e)
            row = {"series": s.label, "ok": False, "error": err}
        out.append(row)
        if on_item:
            on_item(s, None if err else row, err)
    return out


def store_for(path: str | Path | None) -> ParquetStore:
    from basisctl.data.locator import user_store

    return ParquetStore(Path(path) if path is not None else user_store())
