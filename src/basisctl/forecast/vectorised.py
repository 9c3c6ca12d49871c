"""Whole-series walk-forward forecasts of the stateless models in compiled loops (the path study's hot path).

:func:`basisctl.forecast.walkforward.walk_forward` calls a model once per origin through Python; a one-year
simulated path with a 180-day burn-in has ~540 origins, so that loop and the pandas day aggregation dominated the
regime candidate's cost. Here ``rolling_mean`` and ``ewma`` (the models that need nothing but daily funding) are
computed for every origin in one numba loop, from a numpy day aggregation. Same definitions as
:mod:`basisctl.forecast.models` and :func:`basisctl.forecast.panel.daily_funding` (same windows, coverage rules and
NaN handling, default parameters taken from the model classes); the sums run in another order, so values agree to
rounding (~1e-16 relative), tested against the per-origin models in ``tests/forecast/test_vectorised.py``.
Other models (``har``, ``gbm``) return None: callers fall back to the per-origin walk-forward.
"""

from __future__ import annotations

import numpy as np

from basisctl._jit import njit
from basisctl.forecast.models import Ewma, RollingMean, make_model

#: models :func:`walk_forward_fast` computes; the others need the panel's features
FAST_MODELS: tuple[str, ...] = ("rolling_mean", "ewma")
DAY_NS: int = 86_400 * 10**9


def daily_funding_arrays(ts_ns: np.ndarray, rate: np.ndarray, hours: np.ndarray) -> tuple[int, np.ndarray]:
    """(first day [ns since epoch, UTC midnight], funding per day [decimal per day]) as
    :func:`basisctl.forecast.panel.daily_funding`: a settlement at t accrues in (t - interval, t] and belongs to the
    day d with d < t <= d + 1 day; a day whose settlements do not cover 24 h is NaN (never filled)."""
    t = np.asarray(ts_ns, np.int64)
    if t.size == 0:
        from basisctl.errors import DataCoverageError

        raise DataCoverageError("no funding rows to aggregate into days")
    day = (t - 1000) // DAY_NS  # 1 microsecond before the settlement, floored to the UTC day
    d0 = int(day.min())
    k = day - d0
    n = int(k.max()) + 1
    s = np.bincount(k, weights=np.asarray(rate, float), minlength=n)
    hr = np.bincount(k, weights=np.asarray(hours, float), minlength=n)
    return d0 * DAY_NS, np.where(np.isclose(hr, 24.0), s, np.nan)


@njit
def _rolling_mean_nb(f: np.ndarray, first: int, lookback: int) -> np.ndarray:  # pragma: no cover - compiled
    n = f.size
    out = np.full(n, np.nan)
    for d in range(first, n):
        if d + 1 < lookback:
            continue
        s = 0.0
        c = 0
        for j in range(d + 1 - lookback, d + 1):
            if np.isfinite(f[j]):
                s += f[j]
                c += 1
        if c >= 0.8 * lookback:
            out[d] = s / c
    return out


@njit
def _ewma_nb(f: np.ndarray, first: int, window: int, halflife: float, min_obs: int) -> np.ndarray:  # pragma: no cover
    n = f.size
    out = np.full(n, np.nan)
    for d in range(first, n):
        lo = max(0, d + 1 - window)
        num = 0.0
        den = 0.0
        c = 0
        for j in range(lo, d + 1):
            if np.isfinite(f[j]):
                w = 0.5 ** ((d - j) / halflife)
                num += w * f[j]
                den += w
                c += 1
        if c >= min_obs:
            out[d] = num / den
    return out


def walk_forward_fast(daily: np.ndarray, model: str, min_history_days: int) -> np.ndarray | None:
    """Forecast at every origin d >= min_history_days - 1 from days <= d [decimal per day] (NaN elsewhere and
    where the model cannot say); None for a model without a compiled form."""
    if model not in FAST_MODELS:
        return None
    f = np.ascontiguousarray(daily, dtype=float)
    first = max(0, min_history_days - 1)
    m = make_model(model)
    if isinstance(m, RollingMean):
        return np.asarray(_rolling_mean_nb(f, first, int(m.lookback_days)))
    assert isinstance(m, Ewma)
    window = int(np.ceil(10 * m.halflife_days))
    return np.asarray(_ewma_nb(f, first, window, float(m.halflife_days), min(window, 7)))
