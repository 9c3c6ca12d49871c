"""Local Parquet store for downloaded history: one file per (kind, venue, asset[, interval]).

Layout: that of the shared data folder, so a store is a data dir (:mod:`basisctl.data.locator`):
``funding/<venue>/<ASSET>.parquet``, ``prices/<venue>_perp/<ASSET>_<interval>.parquet`` (kind ``candles``),
``prices/<venue>_mark/<ASSET>_<interval>.parquet`` (kind ``mark``) and raw JSON snapshots such as
``hyperliquid/metaAndAssetCtxs_<YYYY-MM-DD>.json``.
Appends are incremental: new rows are validated, merged with what is stored, de-duplicated on ``ts`` (the
newer download wins, e.g. a bar that was still open when first fetched), sorted, validated again as a whole
and written atomically (temp file in the same directory + ``os.replace``), so a crash or an invalid batch
never leaves a partial or corrupted file. One writer per file at a time (no cross-process lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.data.io import write_frame
from basisctl.data.schemas import INTERVAL_HOURS
from basisctl.data.validate import ValidationReport, check_candles, check_funding
from basisctl.errors import BasisctlError, DataCoverageError

STORE_KINDS: tuple[str, ...] = ("funding", "candles", "mark")


@dataclass(frozen=True)
class AppendResult:
    """``added`` new timestamps, ``replaced`` existing timestamps whose values changed, ``total`` rows after."""

    path: Path
    added: int
    replaced: int
    total: int
    report: ValidationReport

    def as_dict(self) -> dict[str, object]:
        """The counts, then the stored file's gaps and span as its validation report writes them."""
        report = self.report.as_dict()
        counts = {"path": str(self.path), "added": self.added, "replaced": self.replaced, "total": self.total}
        return {**counts, **{k: report[k] for k in ("gaps", "missing_total", "first", "last")}}


def interval_hours_of(label: str) -> float:
    """``"1h"`` -> 1.0, ``"4h"`` -> 4.0, ``"1d"`` -> 24.0, ``"15m"`` -> 0.25 [h]."""
    if label in INTERVAL_HOURS:
        return INTERVAL_HOURS[label]
    unit = label[-1:].lower()
    try:
        n = int(label[:-1])
    except ValueError:
        n = -1
    mult = {"m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}.get(unit)
    if mult is None or n <= 0:
        raise BasisctlError(f"interval '{label}': expected e.g. 1m, 15m, 1h, 4h, 1d")
    return n * mult


def read_store_file(p: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read one store file; a corrupt or truncated file is one error naming the file to delete and re-fetch."""
    try:
        frame = pd.read_parquet(p, columns=columns)
        if "ts" not in frame.columns:
            raise KeyError("no 'ts' column")
        return frame
    except (OSError, ValueError, KeyError) as e:
        if not p.exists():
            raise
        why = " ".join(f"{type(e).__name__}: {e}".split())[:160]  # one line, whatever pyarrow printed
        raise BasisctlError(f"{p}: corrupt store file ({why}); delete it and fetch it "
                            "again (`basisctl data fetch` or `basisctl data pull`)") from e


class ParquetStore:
    """Incremental Parquet store rooted at ``root`` (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, kind: str, venue: str, asset: str, interval: str | None = None) -> Path:
        if kind not in STORE_KINDS:
            raise BasisctlError(f"store kind '{kind}': expected one of {', '.join(STORE_KINDS)}")
        if kind != "funding" and not interval:
            raise BasisctlError(f"store kind '{kind}' needs an interval (e.g. 1h)")
        if kind == "funding":
            return self.root / "funding" / venue.lower() / f"{asset.upper()}.parquet"
        market = f"{venue.lower()}_{'perp' if kind == 'candles' else 'mark'}"
        return self.root / "prices" / market / f"{asset.upper()}_{interval}.parquet"

    def exists(self, kind: str, venue: str, asset: str, interval: str | None = None) -> bool:
        return self.path(kind, venue, asset, interval).exists()

    def read(self, kind: str, venue: str, asset: str, interval: str | None = None) -> pd.DataFrame:
        """Stored canonical frame (sorted by ts); DataCoverageError when nothing is stored."""
        p = self.path(kind, venue, asset, interval)
        if not p.exists():
            raise DataCoverageError(f"{p}: nothing stored for {kind} {venue} {asset} {interval or ''}".rstrip())
        return read_store_file(p)

    def last_ts(self, kind: str, venue: str, asset: str, interval: str | None = None) -> pd.Timestamp | None:
        p = self.path(kind, venue, asset, interval)
        if not p.exists():
            return None
        ts = read_store_file(p, ["ts"])["ts"]
        return None if ts.empty else pd.Timestamp(ts.max())

    def _check(self, kind: str, frame: pd.DataFrame, source: str, interval: str | None) -> ValidationReport:
        if kind == "funding":
            return check_funding(frame, source)
        return check_candles(frame, source, interval_hours_of(interval or "1h"))

    def append(
        self, frame: pd.DataFrame, kind: str, venue: str, asset: str, interval: str | None = None
    ) -> AppendResult:
        """Merge ``frame`` (canonical) into the stored file; raise DataValidationError and leave it untouched
        if the batch or the merged result is invalid."""
        p = self.path(kind, venue, asset, interval)
        self._check(kind, frame, f"{p} (new batch)", interval).raise_if_invalid()
        new = frame.copy()
        new["ts"] = pd.to_datetime(new["ts"], utc=True).astype("datetime64[ms, UTC]")
        if p.exists():
            old = read_store_file(p)
            old["ts"] = old["ts"].astype("datetime64[ms, UTC]")
            common = old.merge(new, on="ts", suffixes=("_old", "_new"))
            cols = [c for c in new.columns if c != "ts" and c in old.columns and c != "source"]
            changed = np.zeros(len(common), dtype=bool)
            for c in cols:
                a, b = common[f"{c}_old"], common[f"{c}_new"]
                if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                    same = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12, atol=0.0, equal_nan=True)
                else:
                    same = (a.astype(str) == b.astype(str)).to_numpy()
                changed |= ~same
            replaced = int(changed.sum())
            added = int((~new["ts"].isin(old["ts"])).sum())
            merged = pd.concat([old, new], ignore_index=True)
        else:
            replaced, added, merged = 0, len(new), new
        merged = merged.drop_duplicates(subset="ts", keep="last").sort_values("ts", kind="stable")
        merged = merged.reset_index(drop=True)
        report = self._check(kind, merged, str(p), interval)
        report.raise_if_invalid()
        write_frame(merged, p)
        return AppendResult(path=p, added=added, replaced=replaced, total=len(merged), report=report)

    def write_json_snapshot(self, venue: str, name: str, payload: object, asof: pd.Timestamp) -> Path:
        """Write a raw API response as ``<venue>/<name>_<YYYY-MM-DD>.json`` (atomically; same day overwrites)."""
        import json

        from basisctl.data.io import _atomic_write

        stamp = pd.Timestamp(asof).tz_convert("UTC").strftime("%Y-%m-%d")
        p = self.root / venue.lower() / f"{name}_{stamp}.json"
        text = json.dumps(payload)
        _atomic_write(p, lambda t: Path(t).write_text(text))
        return p

    def list(self) -> pd.DataFrame:
        """One row per stored file: kind, venue, asset, interval, rows, first, last, path."""
        rows = []
        for p in sorted([*self.root.glob("funding/*/*.parquet"), *self.root.glob("prices/*/*.parquet")]):
            if p.parent.parent.name == "funding":
                kind, venue = "funding", p.parent.name
            else:
                venue, _, market = p.parent.name.partition("_")
                kind = {"perp": "candles", "mark": "mark"}.get(market, market)
            asset, _, interval = p.stem.partition("_")
            ts = read_store_file(p, ["ts"])["ts"]
            rows.append(
                {
                    "kind": kind,
                    "venue": venue,
                    "asset": asset,
                    "interval": interval or None,
                    "rows": len(ts),
                    "first": ts.min() if len(ts) else None,
                    "last": ts.max() if len(ts) else None,
                    "path": str(p),
                }
            )
        return pd.DataFrame(rows, columns=["kind", "venue", "asset", "interval", "rows", "first", "last", "path"])
