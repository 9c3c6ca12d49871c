"""Readers and writers for funding and candle files (CSV or Parquet) in the ``../shared/data`` schema.

Accepted on input (case-insensitive column names):

- funding: ``timestamp`` (ISO-8601 UTC) and/or ``ts_ms`` (epoch ms) or ``ts``; ``rate`` (decimal per
  interval, + = longs pay); ``interval_hours`` [h]; optional ``premium``, ``source``;
- candles: the same timestamp columns (bar OPEN); ``open, high, low, close`` [quote]; optional ``volume``
  [base], ``source``.

Every reader validates (see :mod:`basisctl.data.validate`) and raises
:class:`~basisctl.errors.DataValidationError` with ALL issues; it returns the canonical frame of
:mod:`basisctl.data.schemas` (``ts`` as ``datetime64[ms, UTC]``). CSV issues name the 0-based data row and the
1-based file line (header = line 1). Nothing is sorted, deduplicated or filled on read.

Writers: ``.csv`` gets the shared schema (``timestamp`` ISO ``...Z``, ``ts_ms``, then the value columns),
``.parquet`` the canonical frame (zstd). Both are written atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.data.schemas import INTERVAL_HOURS
from basisctl.data.validate import Kind, ValidationReport, check_candles, check_funding, detect_kind
from basisctl.errors import DataValidationError, ValidationIssue


class UnknownKindError(DataValidationError):
    """Neither funding nor candle columns: the message lists the columns found."""

    def __init__(self, path: str, columns: list[object]) -> None:
        issue = ValidationIssue(
            None,
            None,
            "funding columns (ts/timestamp/ts_ms, rate, interval_hours) or candle columns "
            "(ts/timestamp/ts_ms, open, high, low, close)",
            f"columns {[str(c) for c in columns]}",
        )
        super().__init__(path, [issue])
        self.args = (f"{path}: cannot tell candles from funding: columns {[str(c) for c in columns]} "
                     "(funding needs rate + interval_hours, candles open/high/low/close)",)


CSV_LINE_OFFSET = 2  # data row 0 is line 2 (header = line 1)
_INTERVAL_RE = re.compile(r"_(\d+)([mhd])$", re.IGNORECASE)
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0}


def interval_from_name(path: str | Path) -> float | None:
    """Bar length [h] from a file name like ``BTC_4h.csv`` / ``ETH_1d.parquet``; None if absent."""
    stem = Path(path).name.split(".")[0]
    m = _INTERVAL_RE.search(stem)
    if not m:
        return None
    return int(m.group(1)) * _UNIT_HOURS[m.group(2).lower()]


#: File signatures (first bytes) of formats a user may pass by mistake instead of a CSV.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "a Parquet file (rename it to .parquet)"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?): export it as CSV"),
    (b"\x1f\x8b", "a gzip archive: decompress it"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "an SQLite database"),
)


def sniff_not_csv(p: Path) -> str | None:
    """What a file meant as CSV actually is, when it is clearly not text CSV: JSON, a known binary format or
    binary data (NUL bytes); None when it may be CSV."""
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return None  # the reader reports it
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "a JSON document (funding and prices are read from CSV or Parquet)"
    if b"\x00" in head:
        return "binary data, not text"
    try:
        head[: max(0, len(head) - 4)].decode("utf-8")  # the cut may split one multi-byte character
    except UnicodeDecodeError:
        return "binary data or text that is not UTF-8"
    return None


def read_raw(path: str | Path) -> pd.DataFrame:
    """The file as a DataFrame, values untouched (CSV cells as strings, so bad cells can be quoted back)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(p)
        except (OSError, ValueError) as e:
            if not p.exists():
                raise
            raise DataValidationError(str(p), [ValidationIssue(None, None, "a readable Parquet file", str(e))]) from e
        _check_unique_columns(p, [str(c) for c in df.columns])
        return df
    what = sniff_not_csv(p)
    if what is not None:
        raise DataValidationError(str(p), [ValidationIssue(None, None, "a CSV file (or .parquet)", what)])
    _check_unique_columns(p, _csv_header(p))
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as e:
        raise DataValidationError(str(p), [ValidationIssue(None, None, "a CSV header and rows", "empty file")]) from e
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataValidationError(str(p), [ValidationIssue(None, None, "a well-formed CSV file", str(e))]) from e
    blank = _blank_rows(df)
    n = len(df)
    while n and blank[n - 1]:  # trailing blank lines are harmless
        n -= 1
    return df.iloc[:n]


def _csv_header(p: Path) -> list[str]:
    """The header cells as written (pandas renames a repeated name to ``close.1``, hiding it)."""
    import csv

    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error):
        return []  # the CSV reader reports it


def _check_unique_columns(p: Path, columns: list[str]) -> None:
    """Column names are matched case-insensitively and stripped, so ``close`` twice, ``Close`` and ``close``, or
    ``rate`` and its alias ``funding_rate``, is ambiguous: which one holds the values? Refused, naming both (was
    a pandas traceback, or the first one silently)."""
    seen: dict[str, str] = {}
    for c in columns:
        key = c.strip().lower()
        key = "rate" if key == "funding_rate" else key  # an alias: both present, which rate is it?
        if key in seen and key:
            raise DataValidationError(str(p), [ValidationIssue(
                None, key, "unique column names (matched case-insensitively)",
                f"{seen[key]!r} and {c!r} in columns {columns}")])
        seen[key] = c


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    if df.empty:
        return np.zeros(0, dtype=bool)
    return df.apply(lambda c: c.isna() | (c.astype(str).str.strip() == "")).all(axis=1).to_numpy()


def check_file(
    path: str | Path,
    kind: Kind | None = None,
    interval_hours: float | None = None,
    exclude_spikes: bool = False,
) -> ValidationReport:
    """Validate a funding or candle file; ``kind`` is detected from the columns when None.

    ``interval_hours`` (candles) defaults to the file-name suffix (``_1h``/``_4h``/``_1d``), else inferred.
    ``exclude_spikes`` (candles) leaves one-bar reverting price spikes out instead of reporting them as issues.
    Raises :class:`~basisctl.errors.DataValidationError` when the file cannot be read or its kind cannot be told.
    """
    p = Path(path)
    raw = read_raw(p)
    offset = CSV_LINE_OFFSET if p.suffix.lower() not in (".parquet", ".pq") else None
    kind = kind or detect_kind(raw.columns)
    if kind is None:
        raise UnknownKindError(str(p), list(raw.columns))
    if kind == "funding":
        rep = check_funding(raw, str(p), line_offset=offset)
    else:
        rep = check_candles(
            raw,
            str(p),
            interval_hours or interval_from_name(p),
            line_offset=offset,
            spikes="exclude" if exclude_spikes else "error",
        )
    if rep.rows == 0:
        rep.issues.insert(0, ValidationIssue(None, None, "at least one data row", "header only"))
    blank = _blank_rows(raw)
    if blank.any():  # one issue per blank line instead of one per column
        rows = set(np.flatnonzero(blank).tolist())
        kept = [i for i in rep.issues if i.row not in rows]
        for r in sorted(rows):
            line = r + offset if offset is not None else None
            kept.append(
                ValidationIssue(r, None, "a data row (no blank lines inside the data)", "blank line", line=line)
            )
        rep.issues = sorted(kept, key=lambda i: -1 if i.row is None else i.row)
    return rep


def read_funding(path: str | Path) -> pd.DataFrame:
    """Canonical funding frame: ts (UTC settlement), rate [decimal/interval], interval_hours [h], extras."""
    rep = check_file(path, "funding")
    rep.raise_if_invalid()
    assert rep.frame is not None
    _pass_on_warnings(rep)
    rep.frame.attrs["source"] = str(path)  # messages downstream name the file, not "frame"
    return rep.frame


def _pass_on_warnings(rep: ValidationReport) -> None:
    """The report's warnings (settlement-grid offset, excluded spikes, a jump on the first/last bar) go through
    :mod:`basisctl.warnings`: one ``warning:`` line each in the CLI, listed in --json, refused by --strict."""
    from basisctl.warnings import substitute

    for w in rep.warnings:
        substitute("suspect_data", f"{rep.source}: {w}")


def read_candles(path: str | Path, interval_hours: float | None = None, exclude_spikes: bool = False) -> pd.DataFrame:
    """Canonical candle frame [ts UTC bar open, open/high/low/close quote, (volume base, source)].

    A one-bar reverting price spike is an error unless ``exclude_spikes`` (then its row is left out)."""
    rep = check_file(path, "candles", interval_hours, exclude_spikes=exclude_spikes)
    rep.raise_if_invalid()
    assert rep.frame is not None
    _pass_on_warnings(rep)  # leaving bars out is a substitution: never silent
    rep.frame.attrs["source"] = str(path)  # messages downstream name the file, not "frame"
    return rep.frame


def to_shared_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical frame -> the ``../shared/data`` CSV layout (``timestamp``, ``ts_ms`` first)."""
    ts = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[ms, UTC]")
    whole = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frac = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    out = pd.DataFrame({"timestamp": whole.where(ts.dt.microsecond == 0, frac), "ts_ms": ts.astype("int64")})
    for c in frame.columns:
        if c != "ts":
            out[c] = frame[c].to_numpy()
    return out


def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Write via a temp file in the same directory, then ``os.replace`` (readers never see a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a canonical funding/candle frame to ``.csv`` (shared layout) or ``.parquet`` atomically."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        out = to_shared_csv_frame(frame)
        _atomic_write(p, lambda t: out.to_csv(t, index=False))
    else:
        f = frame.copy()
        if "ts" in f.columns:
            f["ts"] = pd.to_datetime(f["ts"], utc=True).astype("datetime64[ms, UTC]")
        _atomic_write(p, lambda t: f.to_parquet(t, index=False, compression="zstd"))
    return p


__all__ = [
    "CSV_LINE_OFFSET",
    "INTERVAL_HOURS",
    "check_file",
    "interval_from_name",
    "read_candles",
    "read_funding",
    "read_raw",
    "to_shared_csv_frame",
    "write_frame",
]
