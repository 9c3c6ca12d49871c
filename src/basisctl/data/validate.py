"""Validation of funding and candle frames: every issue is collected, gaps are reported, nothing is filled.

Entry points
------------
- :func:`check_funding` / :func:`check_candles` return a :class:`ValidationReport` (never raise for bad data);
  ``report.frame`` is the canonical frame (see :mod:`basisctl.data.schemas`) in FILE ORDER.
- :func:`validate_funding` / :func:`validate_candles` raise :class:`~basisctl.errors.DataValidationError`
  listing ALL issues, or return the canonical frame.

Input frames may use any of the column conventions found in ``../shared/data`` and the Parquet store:
``ts`` (datetime or epoch ms or ISO string), ``ts_ms`` (epoch ms) and/or ``timestamp`` (ISO-8601). When both
``ts_ms`` and ``timestamp`` are present they must name the same instant. Naive timestamps are read as UTC.

Row numbers in issues are 0-based data rows in file order. When ``line_offset`` is given (CSV: 2, because the
header is line 1) each issue also carries the 1-based file line, printed as ``row 17 (line 19)``.

Rules (documented in docs/data.md):

- timestamps: parsable, within [2009-01-01, 2100-01-01) (catches epoch seconds read as ms), strictly
  increasing in file order (each descent and each duplicate is one issue naming the earlier row);
- prices: finite and > 0; ``high >= low``; ``open`` and ``close`` within ``[low, high]``; ``volume`` finite
  and >= 0 when the column exists; bar opens aligned to the bar length (UTC epoch multiple);
- prices: a reverting spike of 1..``SPIKE_MAX_BARS`` bars is an error naming each row (see :func:`spike_runs`):
  the close jumps more than ``SPIKE_SIGMAS`` robust sigmas (1.4826 x median |log return| over the
  ``SPIKE_WINDOW`` surrounding bars) and by more than ``SPIKE_MIN_JUMP``, and the bar after the excursion
  reverts at least ``SPIKE_REVERT`` of the jump (also > 30 sigmas). Crashes that do not revert pass.
  ``spikes="exclude"`` drops such rows instead (a report WARNING; the CLI needs an explicit flag; the dropped
  bar opens are in ``frame.attrs[EXCLUDED_ATTR]``). A jump as large on the first or last bar, which has no
  neighbour on the other side, is a WARNING (:func:`edge_jumps`);
- funding: ``rate`` finite with ``|rate| <= MAX_ABS_RATE`` (0.05 per interval, above every venue cap, e.g.
  Hyperliquid's 4 %/h); "looks like percent" on the NON-ZERO ``|rate| / interval_hours * 8760``: a x40 step of
  the 11-row median (``PERCENT_STEP_*``), a 30-day median above 250 % APR (``PERCENT_LEVEL_*``) or a centred
  51-row median above 500 % APR; one issue naming the first scaled row (see :func:`_percent_segments`);
  ``interval_hours`` finite in (0, 24];
- funding settlement grid: a timestamp off the UTC grid of its interval (multiples of ``interval_hours``
  from midnight, e.g. 00/08/16 h for 8 h) is a WARNING naming the offset (a timezone bug shifts the file);
- funding intervals may change (Hyperliquid 8 h -> 1 h on 2023-06-08, Binance 8 h -> 4 h for some symbols),
  but (a) a settlement may not come sooner than the interval it claims to cover (spacing < interval_hours:
  overlapping accrual), (b) spacing must be a whole multiple of interval_hours, and (c) a single row whose
  interval differs from both neighbours (which agree) is an error: a real cadence switch persists;
- gaps (spacing = k x interval, k > 1) are reported as :class:`Gap` (first and last missing instant, count)
  and never filled; they are warnings, not issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from basisctl.data.schemas import CANDLE_REQUIRED, FUNDING_REQUIRED
from basisctl.errors import DataValidationError, ValidationIssue

Kind = Literal["funding", "candles"]

#: Largest plausible |funding rate| per settlement interval [decimal]; venue caps are below it.
MAX_ABS_RATE: float = 0.05
#: Rolling median of non-zero |rate| annualised above this [decimal APR, 5.0 = 500 %] marks "looks like percent".
PERCENT_APR_THRESHOLD: float = 5.0
#: Non-zero rows in the centred window of the percent check (shorter files use all their non-zero rows).
PERCENT_WINDOW: int = 51
#: Minimum non-zero rows before the percent heuristic is applied.
PERCENT_MIN_ROWS: int = 10
#: Percent step: non-zero rows on each side of a change point ...
PERCENT_STEP_ROWS: int = 11
#: ... whose median |rate| jumps by at least this factor (x100 = percent; real data peaks at 21x) ...
PERCENT_STEP_FACTOR: float = 40.0
#: ... to a median above this [decimal APR] on the scaled side.
PERCENT_STEP_MIN_APR: float = 1.0
#: Percent level: the median non-zero |rate| over this many days ...
PERCENT_LEVEL_DAYS: int = 30
#: ... above this [decimal APR] (real files peak at 162 % over 30 days; Binance BTC 2023-08/10 x100 = 313 %).
PERCENT_LEVEL_APR: float = 2.5
#: A one-bar price spike is a close-to-close jump above this many robust sigmas ...
SPIKE_SIGMAS: float = 30.0
#: ... that the next bar reverts by at least this fraction [decimal].
SPIKE_REVERT: float = 0.75
#: ... and whose jump exceeds this absolute size [log return].
SPIKE_MIN_JUMP: float = 0.1
#: Longest excursion [bars] the spike rule looks for (a bad tick lasting a few bars, then back).
SPIKE_MAX_BARS: int = 3
#: Bars in the centred window of the robust local scale.
SPIKE_WINDOW: int = 201
#: Floor of the robust local scale [log return] (flat synthetic series).
SPIKE_MIN_SCALE: float = 1e-4
#: Tolerance on spacings [ms] (sources carry sub-second jitter).
SPACING_TOL_MS: int = 60_000
#: ``frame.attrs`` key listing the bar opens left out on request (``spikes="exclude"``).
EXCLUDED_ATTR: str = "excluded_bars"
_MIN_TS = pd.Timestamp("2009-01-01", tz="UTC")
_MAX_TS = pd.Timestamp("2100-01-01", tz="UTC")
_HOUR_MS = 3_600_000
_TS_COLUMNS = ("ts", "ts_ms", "timestamp")


@dataclass(frozen=True)
class Gap:
    """Missing settlements or bars between two present rows: ``start``/``end`` are the first and last
    missing instants (UTC), ``missing`` their count, ``after_row`` the 0-based row before the gap."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int
    after_row: int

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "missing": self.missing,
            "after_row": self.after_row,
        }


@dataclass
class ValidationReport:
    """Outcome of one check: ``issues`` are errors, ``gaps`` and ``notes`` are informational."""

    kind: Kind
    source: str
    rows: int
    issues: list[ValidationIssue] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    interval_hours: float | None = None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def missing_total(self) -> int:
        return sum(g.missing for g in self.gaps)

    def raise_if_invalid(self) -> None:
        if self.issues:
            raise DataValidationError(self.source, self.issues)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "kind": self.kind,
            "ok": self.ok,
            "rows": self.rows,
            "first": self.first.isoformat() if self.first is not None else None,
            "last": self.last.isoformat() if self.last is not None else None,
            "interval_hours": self.interval_hours,
            "issues": [i.as_dict() for i in self.issues],
            "gaps": [g.as_dict() for g in self.gaps],
            "missing_total": self.missing_total,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------------- helpers
class _Collector:
    def __init__(self, line_offset: int | None) -> None:
        self.issues: list[ValidationIssue] = []
        self.line_offset = line_offset

    def add(self, row: int | None, column: str | None, expected: str, got: str = "") -> None:
        line = row + self.line_offset if (row is not None and self.line_offset is not None) else None
        self.issues.append(ValidationIssue(row, column, expected, got, line=line))

    def rows(self, mask: np.ndarray, column: str, expected: str, got: pd.Series | np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        vals = np.asarray(got, dtype=object)
        for i in idx:
            self.add(int(i), column, expected, _fmt(vals[i]))


def _sorted(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """File-level issues first, then by row (stable: checks keep their order within a row)."""
    return sorted(issues, key=lambda i: -1 if i.row is None else i.row)


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "empty"
    if isinstance(v, str):
        return repr(v) if v.strip() else "empty"
    if isinstance(v, float | np.floating):
        return repr(float(v))
    return str(v)


def detect_kind(columns: list[str] | pd.Index) -> Kind | None:
    """``"funding"`` if a ``rate`` column exists, ``"candles"`` if OHLC columns exist, else None."""
    cols = {str(c).strip().lower() for c in columns}  # as _lower_columns reads them
    if "rate" in cols or "funding_rate" in cols:
        return "funding"
    if {"open", "high", "low", "close"} & cols:
        return "candles"
    return None


def _lower_columns(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = [str(c).strip().lower() for c in out.columns]
    return out


def _numeric(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float values, mask of present-but-unparsable entries)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        # a copy: a float64 column (Parquet) comes back as a read-only view, and callers blank bad cells in place
        vals = np.array(raw.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)
        return vals, np.zeros(len(vals), dtype=bool)
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
    return vals, present & np.isnan(vals)


def _ms_from_any(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch ms as float (NaN where missing/unparsable) and the unparsable mask for a ts-like column."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(raw):
        s = raw
        s = s.dt.tz_convert("UTC") if isinstance(s.dtype, pd.DatetimeTZDtype) else s.dt.tz_localize("UTC")
        ms = s.astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=float)
        ms[s.isna().to_numpy()] = np.nan
        return ms, np.zeros(len(ms), dtype=bool)
    if pd.api.types.is_numeric_dtype(raw):
        vals, bad = _numeric(raw)
        return vals, bad | np.isnan(vals)
    # strings: integers are epoch ms, anything else ISO-8601
    text = raw.astype("string").str.strip()
    as_num = pd.to_numeric(text, errors="coerce")
    numeric = as_num.notna().to_numpy()
    ms = np.full(len(raw), np.nan)
    ms[numeric] = as_num.to_numpy(dtype=float, na_value=np.nan)[numeric]
    rest = ~numeric
    if rest.any():
        parsed = pd.to_datetime(text[rest], utc=True, errors="coerce", format="ISO8601")
        ok = parsed.notna().to_numpy()
        vals = np.full(int(rest.sum()), np.nan)
        vals[ok] = parsed[ok].astype("datetime64[ms, UTC]").astype("int64").to_numpy(dtype=float)
        ms[rest] = vals
    return ms, np.isnan(ms)


def _timestamps(df: pd.DataFrame, col: _Collector) -> tuple[np.ndarray | None, str]:
    """Epoch ms (float, NaN for bad rows) from ts / ts_ms / timestamp, and the column used (ts_ms wins);
    issues for bad or inconsistent rows."""
    present = [c for c in _TS_COLUMNS if c in df.columns]
    if not present:
        col.add(None, "ts", "a timestamp column: one of 'ts', 'ts_ms', 'timestamp'", f"columns {list(df.columns)}")
        return None, "ts"
    primary = "ts_ms" if "ts_ms" in present else present[0]
    ms, bad = _ms_from_any(df[primary])
    if primary == "ts_ms" or pd.api.types.is_numeric_dtype(df[primary]):
        frac = ~np.isnan(ms) & (ms != np.round(ms))
        bad = bad | frac
        ms[frac] = np.nan
    col.rows(bad, primary, "a timestamp (epoch ms or ISO-8601 UTC)", df[primary])
    lo, hi = _MIN_TS.value // 1_000_000, _MAX_TS.value // 1_000_000
    out_of_range = ~np.isnan(ms) & ((ms < lo) | (ms >= hi))
    if out_of_range.any():
        shown = np.asarray(df[primary], dtype=object)
        for i in np.flatnonzero(out_of_range):
            hint = " (looks like epoch seconds)" if 1e9 <= ms[i] < 1e10 else ""
            col.add(
                int(i),
                primary,
                "a timestamp between 2009-01-01 and 2100-01-01 (epoch ms)",
                f"{_fmt(shown[i])}{hint}",
            )
        ms[out_of_range] = np.nan
    for other in present:
        if other == primary:
            continue
        oms, obad = _ms_from_any(df[other])
        col.rows(obad & ~bad, other, "a timestamp (epoch ms or ISO-8601 UTC)", df[other])
        both = ~np.isnan(ms) & ~np.isnan(oms)
        mismatch = both & (np.abs(ms - oms) > 0.5)
        shown = np.asarray(df[other], dtype=object)
        for i in np.flatnonzero(mismatch):
            want = pd.Timestamp(int(ms[i]), unit="ms", tz="UTC").isoformat()
            col.add(int(i), other, f"the same instant as {primary} ({want})", _fmt(shown[i]))
    return ms, primary


def _order(ms: np.ndarray, col: _Collector, ts_col: str) -> bool:
    """Strictly increasing check in file order; returns True when spacing analysis is meaningful."""
    valid = np.flatnonzero(~np.isnan(ms))
    if valid.size < 2:
        return True
    v = pd.Series(ms[valid])
    dup = v.duplicated(keep="first").to_numpy()
    first_row = dict(zip(v[~dup].to_numpy(), valid[~dup], strict=True))
    arr = v.to_numpy()
    desc = np.zeros(arr.size, dtype=bool)
    desc[1:] = (arr[1:] < arr[:-1]) & ~dup[1:]
    for k in np.flatnonzero(dup | desc):
        i = int(valid[k])
        iso = pd.Timestamp(int(arr[k]), unit="ms", tz="UTC").isoformat()
        if dup[k]:
            col.add(i, ts_col, f"unique timestamps (duplicate of row {int(first_row[arr[k]])})", iso)
        else:
            prev = pd.Timestamp(int(arr[k - 1]), unit="ms", tz="UTC").isoformat()
            col.add(i, ts_col, f"timestamps increasing (row {int(valid[k - 1])} is {prev})", iso)
    return not (dup.any() or desc.any())


def _ts_series(ms: np.ndarray) -> pd.Series:
    out = pd.Series(pd.to_datetime(np.where(np.isnan(ms), np.nan, ms), unit="ms", utc=True))
    return out.astype("datetime64[ms, UTC]")


def _span(report: ValidationReport, ms: np.ndarray) -> None:
    ok = ms[~np.isnan(ms)]
    if ok.size:
        report.first = pd.Timestamp(int(ok.min()), unit="ms", tz="UTC")
        report.last = pd.Timestamp(int(ok.max()), unit="ms", tz="UTC")


def _gap(prev_ms: float, step_ms: float, k: int, row: int) -> Gap:
    start = pd.Timestamp(int(prev_ms + step_ms), unit="ms", tz="UTC")
    end = pd.Timestamp(int(prev_ms + (k - 1) * step_ms), unit="ms", tz="UTC")
    return Gap(start=start, end=end, missing=k - 1, after_row=row)


# --------------------------------------------------------------------------------------------------- funding
def check_funding(df: pd.DataFrame, source: str = "<frame>", line_offset: int | None = None) -> ValidationReport:
    """Check a funding frame (any supported column convention); see the module docstring for the rules.

    ``rate`` is the realised funding per settlement interval as a decimal [+ = longs pay];
    ``interval_hours`` the accrual interval it covers [h].
    """
    d = _lower_columns(df)
    if "rate" not in d.columns and "funding_rate" in d.columns:
        d = d.rename(columns={"funding_rate": "rate"})
    col = _Collector(line_offset)
    report = ValidationReport(kind="funding", source=source, rows=len(d))
    for c in FUNDING_REQUIRED[1:]:
        if c not in d.columns:
            col.add(None, c, f"a '{c}' column", f"columns {list(df.columns)}")
    ms, ts_col = _timestamps(d, col)
    n = len(d)
    rate = np.full(n, np.nan)
    if "rate" in d.columns:
        rate, bad = _numeric(d["rate"])
        col.rows(bad | np.isnan(rate), "rate", "a finite decimal funding rate per interval", d["rate"])
        inf = np.isinf(rate)
        col.rows(inf, "rate", "a finite decimal funding rate per interval", d["rate"])
        big = np.isfinite(rate) & (np.abs(rate) > MAX_ABS_RATE)
        col.rows(big, "rate", f"|rate| <= {MAX_ABS_RATE} per interval (a decimal, not percent)", d["rate"])
    ih = np.full(n, np.nan)
    if "interval_hours" in d.columns:
        ih, bad = _numeric(d["interval_hours"])
        invalid = bad | ~np.isfinite(ih) | (ih <= 0) | (ih > 24)
        col.rows(invalid, "interval_hours", "interval_hours in (0, 24] [h]", d["interval_hours"])
        ih = np.where(invalid, np.nan, ih)
    premium = None
    if "premium" in d.columns:
        premium, bad = _numeric(d["premium"])
        col.rows(bad | np.isinf(premium), "premium", "a finite decimal premium or empty", d["premium"])
    _percent_segments(rate, ih, col, ms)
    if ms is not None:
        _span(report, ms)
        sorted_ok = _order(ms, col, ts_col)
        finite_ih = np.isfinite(ih)
        sel = ~np.isnan(ms) & finite_ih
        if sorted_ok and sel.sum() >= 2:
            if not sel.all():
                report.notes.append(
                    f"{int((~sel).sum())} rows with an invalid ts or interval_hours left out of "
                    "the spacing and gap checks"
                )
            _funding_spacing(ms[sel], ih[sel], np.flatnonzero(sel), col, report, ts_col)
        elif n >= 2 and not sorted_ok:
            report.notes.append("spacing, interval and gap checks skipped: timestamps are not a clean sequence")
        if finite_ih.any():
            vals, counts = np.unique(ih[finite_ih], return_counts=True)
            report.interval_hours = float(vals[np.argmax(counts)])
        _settlement_grid(ms, ih, report)
    report.issues = _sorted(col.issues)
    if ms is not None and "rate" in d.columns and "interval_hours" in d.columns:
        frame = pd.DataFrame({"ts": _ts_series(ms), "rate": rate, "interval_hours": ih})
        if premium is not None:
            frame["premium"] = premium
        if "source" in d.columns:
            frame["source"] = d["source"].astype("string").fillna("").astype(str).to_numpy()
        report.frame = frame
    return report


def _percent_segments(rate: np.ndarray, ih: np.ndarray, col: _Collector, ms: np.ndarray | None = None) -> None:
    """"Looks like percent" on the non-zero rates (zeros carry no scale); one issue naming the first scaled row.

    Three signatures, the earliest row wins: (1) a STEP: the median log |rate| of the ``PERCENT_STEP_ROWS``
    non-zero rows from a row on is ``PERCENT_STEP_FACTOR`` x that of the rows before, at a level above
    ``PERCENT_STEP_MIN_APR`` (a segment or tail written in percent, however short or quiet the period);
    (2) a LEVEL: the median over ``PERCENT_LEVEL_DAYS`` days above ``PERCENT_LEVEL_APR`` (a file entirely in
    percent from a low-funding period); (3) the centred ``PERCENT_WINDOW``-row median above
    ``PERCENT_APR_THRESHOLD``."""
    use = np.flatnonzero(np.isfinite(rate) & np.isfinite(ih) & (ih > 0) & (rate != 0))
    if use.size < PERCENT_MIN_ROWS:
        return
    apr = np.abs(rate[use]) / ih[use] * 8760.0
    found: list[tuple[int, str]] = []  # (position in use, got-text)
    step = _percent_step(np.log10(apr))
    if step is not None:
        k, before, after = step
        found.append((k, f"non-zero |rate| jumps {after / before:.0f}x from this row on (median {before:.0%} -> "
                         f"{after:.0%} APR over {PERCENT_STEP_ROWS} rows each side): looks like percent (/100?)"))
    if ms is not None:
        level = _percent_level(apr, ms[use])
        if level is not None:
            k, level_med = level
            found.append((k, f"median non-zero |rate| = {level_med:.0%} APR over the {PERCENT_LEVEL_DAYS} days from "
                             "this row: looks like percent (/100?)"))
    w = min(PERCENT_WINDOW, use.size if use.size % 2 else use.size - 1)
    med = pd.Series(apr).rolling(w, center=True, min_periods=w // 2 + 1).median().to_numpy()
    flagged = np.flatnonzero(med > PERCENT_APR_THRESHOLD)
    if flagged.size:
        own = flagged[apr[flagged] > PERCENT_APR_THRESHOLD]
        k = int(own[0] if own.size else flagged[0])
        last = int(use[flagged[-1]])
        found.append((k, f"median non-zero |rate| = {med[k]:.0%} APR around this row (rows {int(use[k])}..{last}): "
                         "looks like percent (/100?)"))
    if not found:
        return
    k, got = found[0] if step is not None else min(found, key=lambda x: x[0])  # a step is the sharpest
    col.add(int(use[k]), "rate", "decimal rates per interval, not percent", got)


def _percent_step(logs: np.ndarray) -> tuple[int, float, float] | None:
    """First scaled row (position) of a x100-like step in log10 |APR|, with the medians before/after [APR]."""
    w = PERCENT_STEP_ROWS
    n = logs.size
    if n < 2 * w:
        return None
    s = pd.Series(logs)
    back = s.rolling(w, min_periods=w).median().shift(1).to_numpy()  # rows k-w..k-1
    fwd = s[::-1].rolling(w, min_periods=w).median()[::-1].to_numpy()  # rows k..k+w-1
    jump = np.log10(PERCENT_STEP_FACTOR)
    floor = np.log10(PERCENT_STEP_MIN_APR)
    with np.errstate(invalid="ignore"):
        up = np.flatnonzero((fwd - back >= jump) & (fwd >= floor))
        down = np.flatnonzero((back - fwd >= jump) & (back >= floor))
    if down.size and (not up.size or down[0] < up[0]):  # the file starts in percent, then turns decimal
        return 0, 10 ** float(back[down[0]]), 10 ** float(back[down[0]])
    if not up.size:
        return None
    p = int(up[0])
    cs = np.concatenate([[0.0], np.cumsum(logs)])
    js = np.arange(max(w, p - w), min(n - w, p + w) + 1)
    diff = (cs[js + w] - cs[js]) / w - (cs[js] - cs[js - w]) / w  # mean-split: exact at a clean step
    k = int(js[np.argmax(diff)])
    before, after = float(back[k]), float(fwd[k])
    mid = (before + after) / 2
    for _ in range(w):  # the split may land on a quiet row just before: the first scaled row is above the middle
        if logs[k] >= mid or k + 1 >= n:
            break
        k += 1
    return k, 10**before, 10**after


def _percent_level(apr: np.ndarray, ms: np.ndarray) -> tuple[int, float] | None:
    """First row (position) of a ``PERCENT_LEVEL_DAYS``-day window whose median |APR| exceeds the level."""
    ok = np.isfinite(ms)
    if ok.sum() < PERCENT_MIN_ROWS or not np.all(np.diff(ms[ok]) > 0):
        return None
    t = pd.to_datetime(ms[ok], unit="ms")
    span = pd.Timedelta(days=PERCENT_LEVEL_DAYS)
    if t[-1] - t[0] < span - pd.Timedelta(days=1):
        return None
    med = pd.Series(apr[ok], index=t).rolling(span, min_periods=PERCENT_MIN_ROWS).median().to_numpy()
    full = (t - t[0]) >= span - pd.Timedelta(days=1)
    hit = np.flatnonzero(full & (med > PERCENT_LEVEL_APR))
    if not hit.size:
        return None
    i = int(hit[0])
    start = int(np.searchsorted(ms[ok], ms[ok][i] - PERCENT_LEVEL_DAYS * 24 * _HOUR_MS, side="right"))
    above = np.flatnonzero(apr[ok][start:i + 1] > PERCENT_LEVEL_APR)  # the first row of the window that is high
    first = start + (int(above[0]) if above.size else 0)
    return int(np.flatnonzero(ok)[first]), float(med[i])


#: Settlement hours of the usual grids, for messages.
def _grid_hours(ih: float) -> str:
    hrs = [f"{int(h):02d}:00" for h in np.arange(0, 24, ih)] if ih >= 1 and 24 % ih == 0 else []
    return f" ({', '.join(hrs)} UTC)" if 1 < len(hrs) <= 6 else ""


def _settlement_grid(ms: np.ndarray, ih: np.ndarray, report: ValidationReport) -> None:
    """Warn when settlements sit off the UTC grid of their interval (a timezone bug shifts a whole file)."""
    ok = ~np.isnan(ms) & np.isfinite(ih) & (ih > 0)
    if not ok.any():
        return
    step = np.round(ih[ok] * _HOUR_MS)
    off = np.mod(ms[ok], step)
    off = np.where(off > step - SPACING_TOL_MS, off - step, off)  # jitter just before the grid counts as on it
    bad = np.abs(off) > SPACING_TOL_MS
    if not bad.any():
        return
    rows = np.flatnonzero(ok)[bad]
    offs_h = np.round(off[bad] / _HOUR_MS, 2)
    vals, counts = np.unique(offs_h, return_counts=True)
    common = float(vals[np.argmax(counts)])
    grid = float(ih[rows[0]])
    report.warnings.append(
        f"{int(bad.sum())} of {int(ok.sum())} settlements are off the {grid:g} h UTC grid{_grid_hours(grid)}, "
        f"most by {common:+g} h (first: row {int(rows[0])}); timezone shift?"
    )


def _funding_spacing(
    ms: np.ndarray, ih: np.ndarray, rows: np.ndarray, col: _Collector, report: ValidationReport, ts_col: str
) -> None:
    """Spacing/interval/gap checks on valid rows (``rows`` maps positions back to file rows)."""
    dt = np.diff(ms)  # ms, > 0 here
    step = ih[1:] * _HOUR_MS
    over = dt < step - SPACING_TOL_MS
    for j in np.flatnonzero(over):
        col.add(
            int(rows[j + 1]),
            "interval_hours",
            f"interval_hours <= spacing to the previous settlement ({dt[j] / _HOUR_MS:g} h)",
            f"{ih[j + 1]:g}",
        )
    k = np.round(dt / step)
    misaligned = ~over & (np.abs(dt - k * step) > SPACING_TOL_MS)
    for j in np.flatnonzero(misaligned):
        col.add(
            int(rows[j + 1]),
            ts_col,
            f"spacing to the previous settlement a whole multiple of interval_hours ({ih[j + 1]:g} h)",
            f"{dt[j] / _HOUR_MS:g} h",
        )
    # isolated interval value (differs from both neighbours, which agree)
    if ih.size >= 3:
        mid = ih[1:-1]
        iso = (mid != ih[:-2]) & (mid != ih[2:]) & (ih[:-2] == ih[2:])
        for j in np.flatnonzero(iso):
            col.add(
                int(rows[j + 1]),
                "interval_hours",
                f"the cadence of its neighbours ({ih[j]:g} h); one-row interval changes are not switches",
                f"{ih[j + 1]:g}",
            )
    gaps = ~over & ~misaligned & (k > 1)
    for j in np.flatnonzero(gaps):
        report.gaps.append(_gap(ms[j], step[j], int(k[j]), int(rows[j])))
    changes = np.flatnonzero(ih[1:] != ih[:-1])
    for j in changes[:20]:
        when = pd.Timestamp(int(ms[j + 1]), unit="ms", tz="UTC").isoformat()
        report.notes.append(f"interval change at row {rows[j + 1]} ({when}): {ih[j]:g} h -> {ih[j + 1]:g} h")
    if changes.size > 20:
        report.notes.append(f"... {changes.size - 20} more interval changes")


# --------------------------------------------------------------------------------------------------- candles
def check_candles(
    df: pd.DataFrame,
    source: str = "<frame>",
    interval_hours: float | None = None,
    line_offset: int | None = None,
    spikes: Literal["error", "exclude"] = "error",
) -> ValidationReport:
    """Check a candle frame (bar OPEN timestamps, prices [quote], volume [base]).

    ``interval_hours`` is the bar length [h]; when None it is inferred as the most common spacing.
    ``spikes``: a one-bar reverting price spike is an issue (``"error"``) or its row is left out of
    ``report.frame`` with a note (``"exclude"``, only on the user's explicit request).
    """
    d = _lower_columns(df)
    col = _Collector(line_offset)
    report = ValidationReport(kind="candles", source=source, rows=len(d))
    for c in CANDLE_REQUIRED[1:]:
        if c not in d.columns:
            col.add(None, c, f"a '{c}' column", f"columns {list(df.columns)}")
    ms, ts_col = _timestamps(d, col)
    prices: dict[str, np.ndarray] = {}
    for c in ("open", "high", "low", "close"):
        if c not in d.columns:
            continue
        v, bad = _numeric(d[c])
        invalid = bad | ~np.isfinite(v) | (v <= 0)
        col.rows(invalid, c, "a finite price > 0", d[c])
        prices[c] = np.where(invalid, np.nan, v)
    if "high" in prices and "low" in prices:
        hl = prices["high"] < prices["low"]
        for i in np.flatnonzero(hl):
            col.add(int(i), "high", f"high >= low ({prices['low'][i]:g})", f"{prices['high'][i]:g}")
        for c in ("open", "close"):
            if c in prices:
                out = ~hl & ((prices[c] < prices["low"]) | (prices[c] > prices["high"]))
                for i in np.flatnonzero(out):
                    col.add(
                        int(i),
                        c,
                        f"{c} within [low, high] = [{prices['low'][i]:g}, {prices['high'][i]:g}]",
                        f"{prices[c][i]:g}",
                    )
    volume = None
    if "volume" in d.columns:
        volume, bad = _numeric(d["volume"])
        invalid = bad | ~np.isfinite(volume) | (volume < 0)
        col.rows(invalid, "volume", "a finite volume >= 0 [base units]", d["volume"])
    if ms is not None:
        _span(report, ms)
        sorted_ok = _order(ms, col, ts_col)
        rows = np.flatnonzero(~np.isnan(ms))
        if sorted_ok and rows.size >= 2:
            if rows.size < len(d):
                report.notes.append(f"{len(d) - rows.size} rows with an invalid ts left out of the spacing checks")
            vms = ms[rows]
            dt = np.diff(vms)
            if interval_hours is None:
                vals, counts = np.unique(dt, return_counts=True)
                interval_hours = float(vals[np.argmax(counts)]) / _HOUR_MS
                report.notes.append(f"bar length inferred from the most common spacing: {interval_hours:g} h")
            step = interval_hours * _HOUR_MS
            short = dt < step - SPACING_TOL_MS
            for j in np.flatnonzero(short):
                col.add(
                    int(rows[j + 1]),
                    ts_col,
                    f"bars at least one bar length apart ({interval_hours:g} h)",
                    f"{dt[j] / _HOUR_MS:g} h after row {rows[j]}",
                )
            k = np.round(dt / step)
            mis = ~short & (np.abs(dt - k * step) > SPACING_TOL_MS)
            for j in np.flatnonzero(mis):
                col.add(
                    int(rows[j + 1]),
                    ts_col,
                    f"spacing a whole multiple of the bar length ({interval_hours:g} h)",
                    f"{dt[j] / _HOUR_MS:g} h after row {rows[j]}",
                )
            for j in np.flatnonzero(~short & ~mis & (k > 1)):
                report.gaps.append(_gap(vms[j], step, int(k[j]), int(rows[j])))
        elif len(d) >= 2 and not sorted_ok:
            report.notes.append("spacing and gap checks skipped: timestamps are not a clean sequence")
        if interval_hours is not None and interval_hours <= 24:
            step_ms = round(interval_hours * _HOUR_MS)
            valid = ~np.isnan(ms)
            unaligned = np.zeros(len(ms), dtype=bool)
            unaligned[valid] = (ms[valid].astype(np.int64) % step_ms) != 0
            for i in np.flatnonzero(unaligned):
                col.add(
                    int(i),
                    ts_col,
                    f"bar open aligned to the {interval_hours:g} h grid (UTC)",
                    pd.Timestamp(int(ms[i]), unit="ms", tz="UTC").isoformat(),
                )
        report.interval_hours = interval_hours
    runs = spike_runs(prices["close"]) if "close" in prices else []
    spike_rows = find_spikes(prices["close"]) if "close" in prices else np.zeros(0, dtype=np.int64)
    if spikes == "error":
        closes = prices.get("close", np.zeros(0))
        for first, last, before, after in runs:
            bars = "one-bar" if first == last else f"{last - first + 1}-bar"
            for i in spike_rows[(spike_rows >= first) & (spike_rows <= last)]:
                col.add(
                    int(i),
                    "close",
                    f"no {bars} spike (jump > {SPIKE_SIGMAS:g} robust sigmas that reverts on the bar after); "
                    "exclude it only with an explicit flag",
                    f"{closes[i]:g} between {closes[before]:g} (row {before}) and {closes[after]:g} (row {after})",
                )
    elif spike_rows.size:
        what = "one-bar price spikes" if all(a == b for a, b, _, _ in runs) else "bars of reverting price spikes"
        report.warnings.append(f"{spike_rows.size} {what} excluded on request: rows "
                               + ", ".join(str(int(i)) for i in spike_rows[:20]))
    if "close" in prices:
        report.warnings.extend(edge_jumps(prices["close"]))
    report.issues = _sorted(col.issues)
    if ms is not None and len(prices) == 4:
        frame = pd.DataFrame({"ts": _ts_series(ms), **prices})
        if volume is not None:
            frame["volume"] = volume
        if "source" in d.columns:
            frame["source"] = d["source"].astype("string").fillna("").astype(str).to_numpy()
        if spikes == "exclude" and spike_rows.size:
            left_out = [pd.Timestamp(t) for t in frame["ts"].iloc[spike_rows]]
            frame = frame.drop(index=frame.index[spike_rows]).reset_index(drop=True)
            frame.attrs[EXCLUDED_ATTR] = left_out  # the backtest holds over exactly these one-bar holes
        report.frame = frame
    return report


def spike_runs(close: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Reverting price excursions of 1..``SPIKE_MAX_BARS`` bars as (first row, last row, row before, row
    after), 0-based: the log return INTO the first bar and the one OUT of the last bar both exceed
    ``SPIKE_SIGMAS`` robust sigmas (1.4826 x rolling median |log return| over ``SPIKE_WINDOW`` bars, floor
    ``SPIKE_MIN_SCALE``), the jump exceeds ``SPIKE_MIN_JUMP`` and the way out reverts at least ``SPIKE_REVERT``
    of it. Rows with a missing close are skipped; the first and last bar cannot be judged (see
    :func:`edge_jumps`). Shorter excursions are found first; a bar belongs to at most one.

    Calibrated on ../shared/data: the largest real reverting 1-bar moves (ETH 1h 2023-08-17, -6 % / +4.6 %,
    25 sigmas; DOGE 4h 2021-01-29, +81 % / -47 %) pass; a close x2 or x10 on one or two bars is caught."""
    c = np.asarray(close, dtype=float)
    good = np.flatnonzero(np.isfinite(c) & (c > 0))
    if good.size < 3:
        return []
    r = np.diff(np.log(c[good]))  # r[k]: into good[k+1]
    scale = _robust_scale(r)
    taken = np.zeros(good.size, dtype=bool)
    runs: list[tuple[int, int, int, int]] = []
    for m in range(1, SPIKE_MAX_BARS + 1):
        if r.size <= m:
            break
        jump, back = r[:-m], r[m:]
        big = (
            (np.abs(jump) > SPIKE_SIGMAS * scale[:-m])
            & (np.abs(back) > SPIKE_SIGMAS * scale[m:])
            & (np.abs(jump) > SPIKE_MIN_JUMP)
        )
        reverts = (np.sign(back) == -np.sign(jump)) & (np.abs(back) >= SPIKE_REVERT * np.abs(jump))
        for k in np.flatnonzero(big & reverts):
            if taken[k + 1:k + m + 1].any():
                continue
            taken[k + 1:k + m + 1] = True
            runs.append((int(good[k + 1]), int(good[k + m]), int(good[k]), int(good[k + m + 1])))
    return sorted(runs)


def find_spikes(close: np.ndarray) -> np.ndarray:
    """0-based rows inside reverting price excursions (see :func:`spike_runs`), ascending."""
    runs = spike_runs(close)
    c = np.asarray(close, dtype=float)
    ok = np.isfinite(c) & (c > 0)
    rows = [i for a, b, _, _ in runs for i in range(a, b + 1) if ok[i]]
    return np.asarray(sorted(rows), dtype=np.int64)


def _robust_scale(r: np.ndarray) -> np.ndarray:
    w = min(SPIKE_WINDOW, r.size if r.size % 2 else r.size - 1)
    med = pd.Series(np.abs(r)).rolling(w, center=True, min_periods=1).median().to_numpy()
    return np.maximum(1.4826 * med, SPIKE_MIN_SCALE)


def edge_jumps(close: np.ndarray) -> list[str]:
    """Warnings for the FIRST and LAST bar when their close is ``SPIKE_SIGMAS`` robust sigmas (and
    ``SPIKE_MIN_JUMP``) away from the neighbouring close: with only one neighbour the spike rule cannot see a
    reversion, so a bad tick there cannot be told from a crash. Never an error (a real crash on the last bar
    must pass), never silent (``--strict`` refuses it)."""
    c = np.asarray(close, dtype=float)
    good = np.flatnonzero(np.isfinite(c) & (c > 0))
    if good.size < 3:
        return []
    r = np.diff(np.log(c[good]))
    scale = _robust_scale(r)
    out = []
    for k, row, nb, where in ((r.size - 1, good[-1], good[-2], "last"), (0, good[0], good[1], "first")):
        if abs(r[k]) > SPIKE_SIGMAS * scale[k] and abs(r[k]) > SPIKE_MIN_JUMP:
            out.append(
                f"row {int(row)} (the {where} bar): close {c[row]:g} is {abs(r[k]) / scale[k]:.0f} robust sigmas "
                f"from the close of row {int(nb)} ({c[nb]:g}); with no bar on the other side it cannot be told "
                "from a crash: check the source (a bad tick here drives calibrations ending at this bar)"
            )
    return out


# --------------------------------------------------------------------------------------------------- raising
def validate_funding(df: pd.DataFrame, source: str = "<frame>") -> pd.DataFrame:
    """Canonical funding frame, or DataValidationError listing every issue."""
    rep = check_funding(df, source)
    rep.raise_if_invalid()
    assert rep.frame is not None
    return rep.frame


def validate_candles(df: pd.DataFrame, source: str = "<frame>", interval_hours: float | None = None) -> pd.DataFrame:
    """Canonical candle frame, or DataValidationError listing every issue."""
    rep = check_candles(df, source, interval_hours)
    rep.raise_if_invalid()
    assert rep.frame is not None
    return rep.frame
