"""Rolling-horizon funding estimator kappa_h (paper Section V.C) and funding-window diagnostics (Tables I-III).

A funding row at settlement time t with ``interval_hours`` = c accrues over (t - c, t]. The cumulative carry
over a window (T - h, T] is the sum of the rates of the rows whose accrual lies inside it. Only windows that
are fully covered (accrued hours == h) count: gaps are excluded, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError
from basisctl.units import DAYS_PER_YEAR


def _utc(t: pd.Timestamp | str) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def rolling_carry(funding: pd.DataFrame, horizon_hours: float) -> pd.Series:
    """Cumulative funding over (t - h, t] for every settlement t whose window is fully covered [decimal].

    Index: window end (settlement ts). Windows containing a gap or a row that straddles the window start are
    dropped. ``horizon_hours`` must be a multiple of the funding cadence in the window to produce rows.
    """
    if horizon_hours <= 0:
        raise ValueError("horizon_hours must be > 0")
    f = funding.sort_values("ts")
    ts = f["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    rate = f["rate"].to_numpy(dtype=float)
    ih = f["interval_hours"].to_numpy(dtype=float)
    h_ns = round(horizon_hours * 3600e9)
    csum_r = np.concatenate([[0.0], np.cumsum(rate)])
    csum_h = np.concatenate([[0.0], np.cumsum(ih)])
    # first row j whose settlement is > t_i - h
    j = np.searchsorted(ts, ts - h_ns, side="right")
    i = np.arange(ts.size)
    hours = csum_h[i + 1] - csum_h[j]
    total = csum_r[i + 1] - csum_r[j]
    accrual_start_first = ts[j] - (ih[j] * 3600e9).astype(np.int64)
    ok = np.isclose(hours, horizon_hours) & (accrual_start_first >= ts - h_ns)
    idx = pd.DatetimeIndex(f["ts"])[ok]  # not via to_numpy(): tz-aware -> object Timestamps, 40x slower
    return pd.Series(total[ok], index=idx, name=f"carry_{horizon_hours:g}h")


@dataclass(frozen=True)
class KappaEstimate:
    """kappa_h: mean cumulative funding over h-long windows ending in (start, end] [decimal of notional]."""

    kappa: float
    horizon_hours: float
    n_windows: int
    start: pd.Timestamp
    end: pd.Timestamp
    first_window_end: pd.Timestamp | None
    last_window_end: pd.Timestamp | None

    @property
    def kappa_bps(self) -> float:
        return self.kappa * 1e4

    @property
    def apy(self) -> float:
        """Simple annualisation of kappa: kappa * (8760 / h) [decimal per year]."""
        return self.kappa * 8760.0 / self.horizon_hours

    @property
    def days_covered(self) -> float:
        if self.first_window_end is None or self.last_window_end is None:
            return 0.0
        span = self.last_window_end - self.first_window_end
        return span.total_seconds() / 86400.0 + self.horizon_hours / 24.0


def kappa_tilde(
    funding: pd.DataFrame,
    horizon_hours: float,
    end: pd.Timestamp | str,
    lookback_days: float,
    label: str = "",
) -> KappaEstimate:
    """Rolling-horizon estimator kappa_h over the calibration sample [end - lookback, end).

    ``label`` (e.g. "binance BTC") names the stream in the thin-sample warning.

    Windows lie entirely inside the sample (window start >= sample start, window end < ``end`` or equal).
    """
    end_ts = _utc(end)
    start_ts = end_ts - pd.Timedelta(days=lookback_days)
    inside = funding[(funding["ts"] > start_ts) & (funding["ts"] <= end_ts)]
    from basisctl.calibration.gaps import warn_funding_gaps

    warn_funding_gaps(funding, start_ts, end_ts)  # the user's own file only: its holes are said
    carry = rolling_carry(inside, horizon_hours) if len(inside) else pd.Series(dtype=float)
    if carry.empty:
        src = funding.attrs.get("source")  # a file read by basisctl.data.io: the message names it
        raise DataCoverageError(
            (f"{src}: " if src else "")
            + f"no complete {horizon_hours:g}h funding windows in ({start_ts:%Y-%m-%d}, {end_ts:%Y-%m-%d}]"
            + (_gap_hint(funding) if src else "")
        )
    est = KappaEstimate(
        kappa=float(carry.mean()),
        horizon_hours=float(horizon_hours),
        n_windows=int(carry.size),
        start=start_ts,
        end=end_ts,
        first_window_end=carry.index[0],
        last_window_end=carry.index[-1],
    )
    _warn_if_thin(est, lookback_days, pd.DatetimeIndex(carry.index), label)
    return est


def _gap_hint(funding: pd.DataFrame) -> str:
    """Why a file has no complete window: its span, and settlements spaced wider than ``interval_hours`` says
    (e.g. 8-hourly rates labelled interval_hours = 1, which no window can be complete with)."""
    if len(funding) < 2:
        return f"; the file has {len(funding)} settlement(s)"
    ts = pd.DatetimeIndex(funding["ts"])
    out = f"; the file spans {ts[0]:%Y-%m-%d %H:%M} to {ts[-1]:%Y-%m-%d %H:%M}"
    gap_h = np.diff(ts.as_unit("ns").asi8) / 3.6e12
    ih = funding["interval_hours"].to_numpy(dtype=float)[1:]
    wide = gap_h > ih * 1.5
    if wide.mean() > 0.5:
        out += (f" and {int(wide.sum())} of {wide.size} settlements are further apart than their interval_hours "
                f"(median spacing {float(np.median(gap_h)):g} h vs interval_hours {float(np.median(ih)):g}): is "
                "interval_hours right?")
    return out


#: kappa_tilde from windows spanning less than this share of the lookback is a thin sample (warning).
MIN_KAPPA_COVERAGE: float = 0.8


def _warn_if_thin(est: KappaEstimate, lookback_days: float, ends: pd.DatetimeIndex, label: str) -> None:
    """A kappa from a fraction of its window (one 14-day stretch, 42 of 180 days) is said out loud.

    Covered days = the union of the h-long windows (holes in the funding do not count)."""
    h = pd.Timedelta(hours=est.horizon_hours)
    steps = np.minimum(np.diff(ends.as_unit("ns").asi8), h.value) if len(ends) > 1 else np.zeros(0)
    days = (h.value + float(np.sum(steps))) / 86_400e9
    if lookback_days > 0 and days < MIN_KAPPA_COVERAGE * lookback_days:
        from basisctl.warnings import substitute

        single = " (a single window)" if est.n_windows == 1 or days <= est.horizon_hours / 24.0 + 1e-9 else ""
        who = f"{label}: " if label else ""
        substitute("thin_sample", f"{who}kappa_{est.horizon_hours:g}h calibrated from {days:.0f} of "
                                  f"{lookback_days:.0f} days of funding{single}, {est.n_windows} windows ending "
                                  f"{est.first_window_end:%Y-%m-%d}..{est.last_window_end:%Y-%m-%d}: a thin sample")


@dataclass(frozen=True)
class FundingWindowStats:
    """Distribution of 1-day cumulative funding expressed as APY (x365) over one window (Tables I-III)."""

    window_days: float
    mean: float
    median: float
    std: float
    q05: float
    q95: float
    share_positive: float
    n_windows: int
    days_covered: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def funding_window_stats(
    funding: pd.DataFrame,
    end: pd.Timestamp | str,
    windows_days: tuple[float, ...] = (90.0, 180.0, 360.0),
    horizon_hours: float = 24.0,
) -> list[FundingWindowStats]:
    """Mean, median, std, q05, q95 and positive share of h-cumulative funding as APY, per lookback window."""
    out = []
    end_ts = _utc(end)
    for w in windows_days:
        start_ts = end_ts - pd.Timedelta(days=w)
        inside = funding[(funding["ts"] > start_ts) & (funding["ts"] <= end_ts)]
        carry = rolling_carry(inside, horizon_hours) if len(inside) else pd.Series(dtype=float)
        if carry.empty:
            span = (f"the funding data spans {funding['ts'].min():%Y-%m-%d} to {funding['ts'].max():%Y-%m-%d}"
                    if len(funding) else "the funding data is empty")  # issue 20 d: name the data's span
            raise DataCoverageError(f"no funding windows in the {w:g}-day window ending {end_ts:%Y-%m-%d}; {span}")
        apy = carry.to_numpy() * (DAYS_PER_YEAR * 24.0 / horizon_hours)
        covered = (carry.index[-1] - carry.index[0]).total_seconds() / 86400.0 + horizon_hours / 24.0
        out.append(FundingWindowStats(
            window_days=float(w),
            mean=float(apy.mean()),
            median=float(np.median(apy)),
            std=float(apy.std(ddof=1)) if apy.size > 1 else 0.0,
            q05=float(np.quantile(apy, 0.05)),
            q95=float(np.quantile(apy, 0.95)),
            share_positive=float((apy > 0).mean()),
            n_windows=int(apy.size),
            days_covered=float(covered),
        ))
    return out
