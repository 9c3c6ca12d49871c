"""Realised volatility from close-to-close log returns of consecutive bars, annualised with 8760 h/yr."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError
from basisctl.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class VolEstimate:
    """sigma_annual [1/sqrt(yr)] from ``n_returns`` returns of ``interval_hours`` bars in [start, end)."""

    sigma_annual: float
    n_returns: int
    expected_returns: int
    interval_hours: float
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def coverage(self) -> float:
        """Share of the window's bar-to-bar returns that were present [fraction]."""
        return self.n_returns / self.expected_returns if self.expected_returns else 0.0


def log_returns_consecutive(candles: pd.DataFrame, interval_hours: float) -> tuple[np.ndarray, np.ndarray]:
    """Log close-to-close returns between bars exactly ``interval_hours`` apart (gaps are skipped, not filled).

    Returns (returns, bar_open_ts_ns of the later bar).
    """
    ts = candles["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    close = candles["close"].to_numpy(dtype=float)
    step = round(interval_hours * 3600e9)
    ok = np.diff(ts) == step
    r = np.diff(np.log(close))
    return r[ok], ts[1:][ok]


def realised_vol(
    candles: pd.DataFrame,
    end: pd.Timestamp,
    lookback_days: float,
    interval_hours: float,
    min_coverage: float = 0.0,
) -> VolEstimate:
    """Annualised realised volatility over the ``lookback_days`` ending at ``end`` (exclusive).

    Only bars whose close is known by ``end`` are used (bar open + interval <= end): no look-ahead.
    sigma = std(log returns, ddof=1) * sqrt(8760 / interval_hours). Raises DataCoverageError when the
    share of present returns is below ``min_coverage``.
    """
    if not lookback_days > 0:
        from basisctl.errors import ModelDomainError

        raise ModelDomainError(f"lookback_days must be > 0 (got {lookback_days:g})")
    end = pd.Timestamp(end)
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    start = end - pd.Timedelta(days=lookback_days)
    r, ts = log_returns_consecutive(candles, interval_hours)
    step_ns = round(interval_hours * 3600e9)
    lo = start.value  # the earlier bar of the first return opens at or after start
    hi = end.value - step_ns  # the later bar must close by end
    sel = (ts - step_ns >= lo) & (ts <= hi)
    r = r[sel]
    from basisctl.calibration.gaps import warn_candle_gaps

    warn_candle_gaps(candles, start, end, interval_hours)  # the user's own file only: its holes are said
    expected = max(int(lookback_days * 24.0 / interval_hours) - 1, 1)
    src = candles.attrs.get("source")  # a file read by basisctl.data.io: messages name it
    who = f"{src}: " if src else ""
    span = ""
    if len(ts):
        first, last = pd.Timestamp(int(ts.min()), tz="UTC"), pd.Timestamp(int(ts.max()), tz="UTC")
        span = f"; the {interval_hours:g}h price data spans {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if r.size < 2:
        raise DataCoverageError(
            f"{who}no {interval_hours:g}h returns in the {lookback_days:g}-day window ending "
            f"{end:%Y-%m-%d %H:%M}{span}"
        )
    est = VolEstimate(
        sigma_annual=float(np.std(r, ddof=1) * np.sqrt(HOURS_PER_YEAR / interval_hours)),
        n_returns=int(r.size),
        expected_returns=expected,
        interval_hours=float(interval_hours),
        start=start,
        end=end,
    )
    if est.coverage < min_coverage:
        raise DataCoverageError(
            f"{who}{interval_hours:g}h returns cover {est.coverage:.0%} of the {lookback_days:g}-day window ending "
            f"{end:%Y-%m-%d} (need {min_coverage:.0%}){span if src else ''}"
        )
    return est


def bar_hours_of(candles: pd.DataFrame) -> float:
    """Most common spacing of the bar opens [h] (the bar length of a candle series)."""
    ts = pd.DatetimeIndex(candles["ts"]).sort_values()
    d = np.diff(ts.as_unit("ms").asi8)
    if d.size == 0:
        raise DataCoverageError("need at least two price bars")
    vals, counts = np.unique(d, return_counts=True)
    return float(vals[np.argmax(counts)]) / 3.6e6
