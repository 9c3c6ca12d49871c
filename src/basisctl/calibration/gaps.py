"""Holes in the user's own files inside a calibration window: one ``warning:`` each file, never filled.

A ``--prices-file`` / ``--funding-file`` with a gap of days calibrated as if nothing were missing: the returns or
funding windows across the hole were left out (correctly: never bridged) but nothing said so. Files of the data
dirs are not marked: their known holes are documented (``../shared/data/README.md``) and handled by the 4h
fallback and coverage rules; the user's file is marked by :func:`mark_user_file` where the CLI reads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ``DataFrame.attrs`` key set on frames read from a file the user passed (survives filtering and copies).
USER_FILE_ATTR = "user_file"


def mark_user_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark ``frame`` as the user's own file (its gaps in a calibration window are warned about)."""
    frame.attrs[USER_FILE_ATTR] = True
    return frame


def _say(frame: pd.DataFrame, missing: int, what: str, n_gaps: int, a: pd.Timestamp, b: pd.Timestamp,
         start: pd.Timestamp, end: pd.Timestamp, consequence: str) -> None:
    from basisctl.warnings import substitute

    src = frame.attrs.get("source", "your file")
    substitute("missing_data", f"{src}: {missing} {what} missing in the calibration window "
                               f"{start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M} ({n_gaps} gap(s), the longest "
                               f"{a:%Y-%m-%d %H:%M} -> {b:%Y-%m-%d %H:%M}); {consequence}, nothing filled")


def warn_candle_gaps(candles: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, bar_hours: float) -> None:
    """Missing bars between the user's bars opening in [start, end) [bars of ``bar_hours``]."""
    if not candles.attrs.get(USER_FILE_ATTR) or len(candles) < 2:
        return
    ts = candles["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ts = ts[(ts >= start.value) & (ts < end.value)]
    step = bar_hours * 3600e9
    k = np.rint(np.diff(ts) / step).astype(np.int64) - 1
    if ts.size < 2 or not (k > 0).any():
        return
    i = int(np.argmax(k))
    _say(candles, int(k[k > 0].sum()), f"{bar_hours:g}h bars", int((k > 0).sum()),
         pd.Timestamp(int(ts[i] + step), tz="UTC"), pd.Timestamp(int(ts[i + 1] - step), tz="UTC"), start, end,
         "returns across the gap are left out of sigma")


def warn_funding_gaps(funding: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Missing settlements between the user's settlements in (start, end], each gap in the later row's cadence."""
    if not funding.attrs.get(USER_FILE_ATTR) or len(funding) < 2:
        return
    f = funding[(funding["ts"] > start) & (funding["ts"] <= end)]
    if len(f) < 2:
        return
    ts = f["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ih = f["interval_hours"].to_numpy(dtype=float)[1:] * 3600e9
    k = np.maximum(np.rint(np.diff(ts) / ih).astype(np.int64) - 1, 0)
    if not (k > 0).any():
        return
    i = int(np.argmax(k))
    _say(funding, int(k.sum()), "funding settlements", int((k > 0).sum()),
         pd.Timestamp(int(ts[i] + ih[i]), tz="UTC"), pd.Timestamp(int(ts[i + 1] - ih[i]), tz="UTC"), start, end,
         "funding windows across the gap are left out of kappa")
