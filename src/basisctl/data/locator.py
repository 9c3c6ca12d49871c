"""One data locator for every command and the Python API: where market data is read from.

basisctl ships no market data. It reads files in the layout of the shared data folder (see ``docs/data.md``)::

    funding/<venue>/<ASSET>.{csv,parquet}                  rate per interval, interval_hours [h], settlement ts
    prices/<venue>_<market>/<ASSET>_<interval>.{csv,parquet}  OHLCV stamped at bar OPEN (UTC)
    hyperliquid/metaAndAssetCtxs_<YYYY-MM-DD>.json         raw metaAndAssetCtxs response (margin tables)
    liquidity/uniswap_v3/<pool>.meta.json + <pool>_ticks.csv
    liquidity/orderbook/bid_depth_snapshot_<YYYY-MM>.csv

Roots are searched in this order, file by file (the first root holding a file wins, and the path actually
read is recorded in :func:`files_read`):

1. ``--data-dir`` (the CLI's global option; :func:`set_data_dir` in Python);
2. ``$BASISCTL_DATA_DIR``;
3. the user store (``$BASISCTL_STORE`` or the platform cache directory), filled by ``basisctl data pull`` /
   ``basisctl data fetch``.

A file that is in none of them raises :class:`~basisctl.errors.DataNotFoundError` naming what is missing,
every place looked and the exact ``basisctl data fetch`` command that would get it. Every file is validated on
read (:mod:`basisctl.data.validate`); a bad file stops with file, row and column.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basisctl.errors import DataCoverageError, DataNotFoundError, DataValidationError, ValidationIssue

if TYPE_CHECKING:  # pandas and numpy are imported where a frame is read: the result cache's keys (which import
    import pandas as pd  # this module) must not load them, so a cache hit stays light (docs/performance.md)

    from basisctl.model.margin import LeverageTier

ENV_DATA_DIR = "BASISCTL_DATA_DIR"
ENV_STORE = "BASISCTL_STORE"
#: Assets of the default data set (``basisctl data pull``) and of the report's default tables.
ASSETS: tuple[str, ...] = ("BTC", "ETH", "LINK", "DOGE")
FUNDING_VENUES: tuple[str, ...] = ("binance", "hyperliquid", "bybit")
#: Price series used for volatility: a common mark-like perp series for both venues (paper Section VI).
VOL_PRICE_MARKET: str = "binance_perp"
SUFFIXES: tuple[str, ...] = (".parquet", ".csv")
#: Uniswap v3 pool snapshots by asset (file stem under ``liquidity/uniswap_v3``).
POOL_SNAPSHOTS: dict[str, str] = {"ETH": "USDC_WETH_0p05_mainnet"}

_override: Path | None = None


def set_data_dir(path: str | Path | None) -> None:
    """Search ``path`` first (the CLI's ``--data-dir``); None removes the override."""
    global _override
    if path is not None:
        if not str(path).strip():
            raise DataNotFoundError("--data-dir is empty: give a folder in the shared data layout")
        p = Path(path).expanduser()
        if not p.is_dir():
            raise DataNotFoundError(f"--data-dir {p}: not a directory")
        _override = p
    else:
        _override = None
    clear_caches()


def user_store() -> Path:
    """The user's Parquet store: ``$BASISCTL_STORE`` or ``<platform cache dir>/basisctl/store``."""
    env = os.environ.get(ENV_STORE)
    if env:
        p = Path(env).expanduser()
        if p.exists() and not p.is_dir():
            raise DataNotFoundError(f"{ENV_STORE}={env}: not a directory")
        return p
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("basisctl")) / "store"


@dataclass(frozen=True)
class Root:
    """One place data is looked for, with how it was chosen (for messages and reports)."""

    path: Path
    origin: str  # "--data-dir" | "BASISCTL_DATA_DIR" | "user store"

    def __str__(self) -> str:
        return f"{self.path} ({self.origin})"


def roots() -> list[Root]:
    """Places searched, in order. A configured root that does not exist is an error, not a silent skip."""
    out: list[Root] = []
    if _override is not None:
        out.append(Root(_override, "--data-dir"))
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise DataNotFoundError(f"{ENV_DATA_DIR}={env}: not a directory")
        out.append(Root(p, ENV_DATA_DIR))
    out.append(Root(user_store(), "user store"))
    return out


# ---------------------------------------------------------------------------------------------- lookup
def _find(rel_stem: str, suffixes: tuple[str, ...] = SUFFIXES) -> Path | None:
    """First root holding the file (the lookup is recorded for :func:`recording`)."""
    p = _find_uncached(rel_stem, suffixes)
    _note_probe(f"find {rel_stem} {','.join(suffixes)}", p)
    return p


def _find_uncached(rel_stem: str, suffixes: tuple[str, ...] = SUFFIXES) -> Path | None:
    """First root holding the file. A broken entry (a directory, a dangling or looping link) or two formats of
    one file in one root is an error: never skipped in favour of a later root, never resolved by guessing."""
    for r in roots():
        hits = []
        for s in suffixes:
            p = r.path / f"{rel_stem}{s}"
            if not os.path.lexists(p):
                continue
            if not p.is_file():
                raise DataValidationError(str(p), [ValidationIssue(None, None, "a readable data file",
                                                                   "a directory or a broken link")])
            hits.append(p)
        if len(hits) > 1:
            raise DataValidationError(str(hits[0]), [ValidationIssue(
                None, None, "one file per series in a data dir", f"also {hits[1].name}: remove the stale one")])
        if hits:
            return hits[0]
    return None


def _missing(what: str, rel_stem: str, fetch: str | None, suffixes: tuple[str, ...] = SUFFIXES) -> DataNotFoundError:
    looked = "; ".join(str(r.path / f"{rel_stem}{{{','.join(suffixes)}}}") for r in roots())
    how = (f"get it with: {fetch}" if fetch else
           "no downloader covers it: put a file in that layout in a data dir (--data-dir or BASISCTL_DATA_DIR)")
    return DataNotFoundError(f"no {what} data: looked for {looked}; {how}")


def _market_split(market: str) -> tuple[str, str]:
    venue, _, kind = market.lower().partition("_")
    return venue, kind or "perp"


#: kind (funding | candles | mark | meta) -> venues that ``basisctl data fetch`` downloads. Each venue folder's
#: registry row declares its kinds and :mod:`basisctl.venues.registry` registers them here on import (the data
#: layer never imports the venues, which sit above it).
_DOWNLOADS: dict[str, set[str]] = {}


def register_downloads(venue: str, kinds: Iterable[str]) -> None:
    """Record that ``basisctl data fetch --venue <venue> --kind <k>`` serves each of ``kinds``."""
    for k in kinds:
        _DOWNLOADS.setdefault(k, set()).add(venue.lower())


def fetch_command(kind: str, venue: str, asset: str, interval: str | None = None) -> str | None:
    """The ``basisctl data fetch`` command that downloads a missing series, or None if no downloader has it.
    Before the venue registry is imported nothing is registered and the command is suggested as is (``data
    fetch`` itself refuses a venue without a downloader)."""
    if _DOWNLOADS and venue not in _DOWNLOADS.get(kind, ()):
        return None
    # Into the user store (searched file by file after the data dirs), never into a data dir the user pointed at:
    # that may be someone else's read-only folder.
    iv = f" --interval {interval}" if interval else ""
    return f"basisctl data fetch --venue {venue} --asset {asset} --kind {kind}{iv} --from 2021-01-01"


def funding_path(venue: str, asset: str) -> Path | None:
    return _find(f"funding/{venue.lower()}/{asset.upper()}")


def candles_path(market: str, asset: str, interval: str) -> Path | None:
    return _find(f"prices/{market.lower()}/{asset.upper()}_{interval}")


def rates_path(provider: str, name: str) -> Path | None:
    """A rate series ``rates/<provider>/<name>`` (e.g. aave_v3, USDC_supply) in the first data dir holding it."""
    return _find(f"rates/{provider.lower()}/{name}")


def find_rates(provider: str, name: str) -> Path:
    """Like :func:`rates_path`, but a missing file is an error saying where it looked (no downloader has it)."""
    p = rates_path(provider, name)
    if p is None:
        raise _missing(f"{provider} {name} rate", f"rates/{provider.lower()}/{name}", None)
    _note_read(f"rates {provider.lower()} {name}", p)  # recorded like every read: Data section and cache keys
    return p


def has_funding(venue: str, asset: str) -> bool:
    return funding_path(venue, asset) is not None


def has_candles(market: str, asset: str, interval: str) -> bool:
    return candles_path(market, asset, interval) is not None


# ---------------------------------------------------------------------------------------------- reading
_files_read: dict[str, str] = {}


@dataclass
class Reads:
    """What a computation read from the data dirs: ``files`` {dataset label: path}, ``stats`` {path: (mtime_ns,
    size)} at the moment of reading, and ``probes`` {lookup: path or None}, the answer of every file lookup
    (a file that was looked for and absent matters too: it may appear later). Picklable, so a worker process
    can return it to its parent (:func:`note_reads`)."""

    files: dict[str, str] = field(default_factory=dict)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    probes: dict[str, str | None] = field(default_factory=dict)

    def merge(self, other: Reads) -> None:
        self.files.update(other.files)
        self.stats.update(other.stats)
        self.probes.update(other.probes)


_recorders: list[Reads] = []


@contextmanager
def recording() -> Iterator[Reads]:
    """Record the reads and lookups made inside the block (nested blocks each see their own and the inner ones')."""
    rec = Reads()
    _recorders.append(rec)
    try:
        yield rec
    finally:
        # by identity: Reads compares by value, and a nested block that read what its outer block read is equal to
        # it, so list.remove took the OUTER recorder out (its later reads were lost, then its own exit raised)
        for i, r in enumerate(_recorders):
            if r is rec:
                del _recorders[i]
                break


def _note_probe(key: str, p: Path | None) -> None:
    for r in _recorders:
        r.probes[key] = None if p is None else str(p)


def _note_read(label: str, p: Path) -> None:
    _files_read[label] = str(p)
    if _recorders:
        try:
            st = p.stat()
            stat: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stat = None
        for r in _recorders:
            r.files[label] = str(p)
            if stat is not None:
                r.stats[str(p)] = stat


def note_reads(reads: Reads | Mapping[str, str]) -> None:
    """Add reads made elsewhere (a worker process, a cached result) to this process's list and active recorders."""
    rec = reads if isinstance(reads, Reads) else Reads(files=dict(reads))
    _files_read.update(rec.files)
    for r in _recorders:
        r.merge(rec)


def resolve_probe(key: str) -> str | None:
    """Answer a recorded lookup again now (the result cache checks that a cached input still resolves alike)."""
    kind, _, rest = key.partition(" ")
    if kind == "find":
        stem, _, suffixes = rest.rpartition(" ")
        p = _find_uncached(stem, tuple(suffixes.split(",")))
    elif key == "hyperliquid meta":
        p = _hyperliquid_meta_path()
    elif key == "orderbook depth":
        p = _depth_snapshot_path()
    else:
        raise ValueError(f"unknown data lookup {key!r}")
    return None if p is None else str(p)


def clear_files_read() -> None:
    """Forget the files read so far (a report lists only the files of its own run)."""
    _files_read.clear()


def files_read() -> dict[str, str]:
    """``{dataset label: path}`` of every file read in this process (the report's provenance list), including
    files read by worker processes and by cached results that reported them through :func:`note_reads`."""
    return dict(_files_read)


def _stat_key(p: Path) -> tuple[str, int, int]:
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


#: A persistent store of parsed, validated frames across processes: ``store(kind, path, args, compute)`` returns
#: ``compute()``'s frame, or the same frame stored by an earlier process for the same file content. The data layer
#: sits below the result cache, so the cache registers itself here when imported (``basisctl.cache``); without
#: it every process parses and validates each file once (the in-process cache below).
FrameStore = Callable[[str, str, tuple[Any, ...], Callable[[], "pd.DataFrame"]], "pd.DataFrame"]
_frame_store: FrameStore | None = None


def set_frame_store(store: FrameStore | None) -> None:
    """Register the persistent store of parsed frames (None: parse every file in every process)."""
    global _frame_store
    _frame_store = store


def _parsed(kind: str, path: str, args: tuple[Any, ...], compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    return compute() if _frame_store is None else _frame_store(kind, path, args, compute)


@lru_cache(maxsize=128)
def _read_funding_cached(key: tuple[str, int, int]) -> pd.DataFrame:
    from basisctl.data.io import read_funding

    return _parsed("funding", key[0], (), lambda: read_funding(key[0]))


@lru_cache(maxsize=128)
def _read_candles_cached(key: tuple[str, int, int], interval_hours: float | None) -> pd.DataFrame:
    from basisctl.data.io import read_candles

    return _parsed("candles", key[0], (interval_hours,), lambda: read_candles(key[0], interval_hours))


def clear_caches() -> None:
    _read_funding_cached.cache_clear()
    _read_candles_cached.cache_clear()
    _hl_meta.cache_clear()


def _read(p: Path, reader: Any, *args: Any) -> pd.DataFrame:
    """Read through the per-process cache; a bad file in the user store says how to recover."""
    try:
        return reader(_stat_key(p), *args)
    except DataValidationError as e:
        if p.is_relative_to(user_store()):
            first = e.issues[0] if e.issues else "?"
            hint = ValidationIssue(None, None, "a valid store file: delete it and fetch it again (`basisctl data "
                                   f"pull` or `basisctl data fetch`); first problem: {first}")
            raise DataValidationError(e.path, [hint, *e.issues[1:]]) from e
        raise


def load_funding(venue: str, asset: str) -> pd.DataFrame:
    """Funding history: ts (settlement, UTC), rate [decimal per interval, + = longs pay], interval_hours [h]."""
    v, a = venue.lower(), asset.upper()
    p = funding_path(v, a)
    if p is None:
        raise _missing(f"{v} funding {a}", f"funding/{v}/{a}", fetch_command("funding", v, a))
    _note_read(f"funding {v} {a}", p)
    return _read(p, _read_funding_cached).copy()


def load_candles(market: str, asset: str, interval: str = "1h") -> pd.DataFrame:
    """Candles: ts (bar OPEN, UTC), open, high, low, close [quote], volume [base], source."""
    from basisctl.data.io import interval_from_name

    m, a = market.lower(), asset.upper()
    p = candles_path(m, a, interval)
    if p is None:
        venue, kind = _market_split(m)
        cmd = fetch_command("candles", venue, a, interval) if kind == "perp" else None
        raise _missing(f"{m} {interval} candles {a}", f"prices/{m}/{a}_{interval}", cmd)
    _note_read(f"prices {m} {a} {interval}", p)
    return _read(p, _read_candles_cached, interval_from_name(f"x_{interval}")).copy()


def list_assets(kind: str = "funding", venue: str | None = None) -> list[str]:
    """Assets with a funding file (kind="funding") or a price file (kind="prices") in any root."""
    found: set[str] = set()
    for r in roots():
        base = r.path / kind
        if not base.is_dir():
            continue
        pattern = f"{venue.lower()}*/*" if venue else "*/*"
        for p in base.glob(pattern):
            if p.suffix.lower() in SUFFIXES:
                found.add(p.stem.split("_")[0].upper())
    return sorted(found)


# ---------------------------------------------------------------------------------------------- Hyperliquid
_META_RE = re.compile(r"^metaAndAssetCtxs_(\d{4}-\d{2}-\d{2})\.json$")


def hyperliquid_meta_path() -> Path | None:
    """The newest ``hyperliquid/metaAndAssetCtxs_<date>.json`` in the first root that has one."""
    p = _hyperliquid_meta_path()
    _note_probe("hyperliquid meta", p)
    return p


def _hyperliquid_meta_path() -> Path | None:
    import datetime as dt

    for r in roots():
        d = r.path / "hyperliquid"
        if not d.is_dir():
            continue
        dated = sorted((m.group(1), p) for p in d.iterdir() if (m := _META_RE.match(p.name)))
        for day, p in dated:
            try:
                try:  # a real calendar date; pandas only for what the calendar refuses (a cache hit re-checks
                    dt.date.fromisoformat(day)  # this lookup and must not import pandas)
                except ValueError:
                    import pandas as pd

                    pd.Timestamp(day)
            except ValueError as e:
                raise DataValidationError(str(p), [ValidationIssue(None, None, "a file name with a real date "
                                                                   "(metaAndAssetCtxs_YYYY-MM-DD.json)", day)]) from e
        if dated:
            return dated[-1][1]
    return None


@dataclass(frozen=True)
class HyperliquidTables:
    universe: pd.DataFrame
    margin_tables: pd.DataFrame
    asof: str
    path: Path


@lru_cache(maxsize=4)
def _hl_meta(key: tuple[str, int, int]) -> HyperliquidTables:
    from basisctl.data.hyperliquid_meta import parse_meta_and_asset_ctxs

    p = Path(key[0])
    try:
        resp: Any = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataValidationError(str(p), [ValidationIssue(None, None, "a metaAndAssetCtxs JSON response",
                                                           str(e))]) from e
    meta = parse_meta_and_asset_ctxs(resp, str(p))
    m = _META_RE.match(p.name)
    return HyperliquidTables(meta.universe, meta.margin_tables, m.group(1) if m else "", p)


def hyperliquid_tables() -> HyperliquidTables:
    """Universe and margin tables from the newest metaAndAssetCtxs snapshot in the data dirs."""
    p = hyperliquid_meta_path()
    if p is None:
        raise _missing("Hyperliquid margin-table (metaAndAssetCtxs)", "hyperliquid/metaAndAssetCtxs_<date>",
                       "basisctl data fetch --venue hyperliquid --kind meta", (".json",))
    _note_read("hyperliquid metaAndAssetCtxs", p)
    return _hl_meta(_stat_key(p))


def hyperliquid_universe() -> pd.DataFrame:
    return hyperliquid_tables().universe


def hyperliquid_margin_tables() -> pd.DataFrame:
    return hyperliquid_tables().margin_tables


def hyperliquid_tiers(asset: str) -> list[LeverageTier]:
    """Hyperliquid leverage tiers for ``asset`` from the newest margin-table snapshot in the data dirs."""
    import pandas as pd

    from basisctl.model.margin import LeverageTier

    t = hyperliquid_tables()
    uni = t.universe
    row = uni[uni["name"] == asset.upper()]
    if row.empty:
        raise DataCoverageError(f"{asset.upper()} is not in the Hyperliquid universe of {t.path}")
    table_id = row["marginTableId"].iloc[0]
    max_lev = float(row["maxLeverage"].iloc[0])
    tiers = pd.DataFrame()
    if pd.notna(table_id):
        mt = t.margin_tables
        tiers = mt[mt["margin_table_id"] == int(table_id)].sort_values("lower_bound_usd")
    if tiers.empty:
        # Hyperliquid lists only tiered tables; an id below 50 is the implicit single tier at maxLeverage. A tiered
        # id that the snapshot does not list is a broken file, never "one tier".
        if pd.notna(table_id) and int(table_id) >= 50:
            raise DataValidationError(str(t.path), [ValidationIssue(
                None, "marginTables", f"margin table {int(table_id)} (the table of {asset.upper()})", "absent")])
        return [LeverageTier(0.0, max_lev)]
    return [
        LeverageTier(float(lb), float(ml))
        for lb, ml in zip(tiers["lower_bound_usd"].to_numpy(float), tiers["max_leverage"].to_numpy(float), strict=True)
    ]


# ---------------------------------------------------------------------------------------------- liquidity
def pool_snapshot_path(asset: str) -> Path:
    """Uniswap v3 pool meta file for ``asset`` (``liquidity/uniswap_v3/<pool>.meta.json``)."""
    stem = POOL_SNAPSHOTS.get(asset.upper())
    if stem is None:
        raise DataCoverageError(f"no Uniswap v3 pool snapshot is known for {asset.upper()} (known: "
                                f"{', '.join(POOL_SNAPSHOTS)}); pass --pool-file META_JSON "
                                "(`basisctl data pool --rpc-url URL --pool ADDRESS` writes one)")
    p = _find(f"liquidity/uniswap_v3/{stem}", (".meta.json",))
    if p is None:
        raise _missing(f"Uniswap v3 pool snapshot {stem}", f"liquidity/uniswap_v3/{stem}",
                       "basisctl data pool --rpc-url URL",
                       (".meta.json",))
    _note_read(f"uniswap_v3 {stem}", p)
    return p


def _depth_snapshot_path() -> Path | None:
    for r in roots():
        d = r.path / "liquidity" / "orderbook"
        if d.is_dir():
            found = sorted(d.glob("bid_depth_snapshot_*.csv"))
            if found:
                return found[-1]
    return None


def depth_snapshot_path() -> Path:
    """Top-of-book depth snapshot file (``liquidity/orderbook/bid_depth_snapshot_<date>.csv``), newest first."""
    p = _depth_snapshot_path()
    _note_probe("orderbook depth", p)
    if p is not None:
        _note_read("orderbook depth snapshot", p)
        return p
    raise _missing("order-book depth snapshot", "liquidity/orderbook/bid_depth_snapshot_<date>", None, (".csv",))


def describe() -> list[dict[str, object]]:
    """One row per data file found in the roots: kind, venue/market, asset, interval, format, root, path."""
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for r in roots():
        for kind in ("funding", "prices"):
            base = r.path / kind
            if not base.is_dir():
                continue
            for p in sorted(base.glob("*/*")):
                if p.suffix.lower() not in SUFFIXES:
                    continue
                asset, _, interval = p.stem.partition("_")
                key = (kind, p.parent.name, asset.upper(), interval)
                if key in seen:
                    continue  # shadowed by an earlier root
                seen.add(key)
                rows.append({"kind": kind, "venue": p.parent.name, "asset": asset.upper(),
                             "interval": interval or None, "format": p.suffix.lstrip("."),
                             "root": r.origin, "path": str(p)})
    return rows


__all__ = [
    "ASSETS",
    "ENV_DATA_DIR",
    "ENV_STORE",
    "FUNDING_VENUES",
    "VOL_PRICE_MARKET",
    "Reads",
    "Root",
    "candles_path",
    "depth_snapshot_path",
    "describe",
    "fetch_command",
    "files_read",
    "funding_path",
    "has_candles",
    "has_funding",
    "hyperliquid_margin_tables",
    "hyperliquid_tiers",
    "hyperliquid_universe",
    "list_assets",
    "load_candles",
    "load_funding",
    "note_reads",
    "pool_snapshot_path",
    "recording",
    "resolve_probe",
    "roots",
    "set_data_dir",
    "user_store",
]
