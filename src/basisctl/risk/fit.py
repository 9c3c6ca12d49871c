"""One entry point to calibrate any risk model from bars ending at a time (past only), and to load bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError
from basisctl.risk.base import Bars, ModelFitError, bars_from_frame
from basisctl.risk.registry import RISK_MODELS, check_model

# Each model's module is imported where it is fitted: `static --model fhs` must not import scipy.stats (EVT),
# scipy.signal (adaptive) or numba (for gbm); docs/performance.md, "static end to end".

__all__ = ["RISK_MODELS", "check_model", "fit_model", "load_bars", "window"]

#: the price series the risk models calibrate on (a common perp series for both venues, like sigma)
PRICE_MARKET: str = "binance_perp"


def load_bars(asset: str, prices_file: str | Path | pd.DataFrame | None = None) -> Bars:
    """Bars of ``asset``: the user's file (or its already-read candles, e.g. with spikes excluded), else the
    data's 1h perp bars, else its 4h bars (with a warning)."""
    from basisctl.calibration.volatility import bar_hours_of
    from basisctl.data import locator
    from basisctl.data.io import read_candles

    if isinstance(prices_file, pd.DataFrame):
        return bars_from_frame(prices_file, bar_hours_of(prices_file))
    if prices_file is not None:
        c = read_candles(prices_file)
        return bars_from_frame(c, bar_hours_of(c))
    for interval, hours in (("1h", 1.0), ("4h", 4.0)):
        if locator.has_candles(PRICE_MARKET, asset, interval):
            if hours != 1.0:  # a substituted input: through basisctl.warnings (listed in --json, --strict refuses)
                from basisctl.warnings import substitute

                substitute("missing_data", f"no 1h {PRICE_MARKET} bars for {asset.upper()}; using 4h bars")
            return bars_from_frame(locator.load_candles(PRICE_MARKET, asset, interval), hours)
    a = asset.upper()
    raise DataCoverageError(f"no {PRICE_MARKET} 1h or 4h candles for {a} in the data dirs: get them with `basisctl "
                            f"data fetch --venue binance --asset {a} --kind candles --interval 1h --from 2021-01-01`"
                            ", or pass --prices-file where the command takes one; sizing with the paper's closed form "
                            "needs no bars: --model gbm / --risk-model gbm")


def window(bars: Bars, end: pd.Timestamp | None, lookback_days: float) -> tuple[int, int]:
    """[lo, hi) of the bars that closed by ``end`` (default: the last bar's close) within the lookback."""
    step = round(bars.bar_hours * 3600e9)
    end_ns = int(bars.ts_ns[-1]) + step if end is None else pd.Timestamp(end).value
    hi = int(np.searchsorted(bars.ts_ns, end_ns - step, side="right"))
    lo = int(np.searchsorted(bars.ts_ns, end_ns - round(lookback_days * 86400e9), side="left"))
    if hi - lo < 2:
        raise DataCoverageError(f"no bars in the {lookback_days:g}-day window ending "
                                f"{pd.Timestamp(end_ns, tz='UTC'):%Y-%m-%d %H:%M} ({bars.span_text()})")
    return lo, hi


def fit_model(name: str, bars: Bars, lo: int, hi: int, horizon_hours: float, *, seed: int = 0,
              fhs_paths: int | None = None, stress: float = 1.0) -> Any:
    """Calibrate ``name`` on bars[lo:hi]. Returns a fitted model (n = 1). ``stress`` scales GBM's sigma only;
    ``fhs_paths``: FHS Monte Carlo paths (None: ``risk.fhs.DEFAULT_PATHS``)."""
    m = check_model(name)
    span = bars.span_text(lo, hi)
    ok = bars.consecutive[lo:hi - 1]
    r = np.diff(np.log(bars.close[lo:hi]))[ok]
    if m == "gbm":
        from basisctl.risk.gbm import fit_gbm

        return fit_gbm(r, bars.bar_hours, span, stress)
    if m == "kou":
        from basisctl.risk.kou import fit_kou

        return fit_kou(r, bars.bar_hours, span)
    if m == "adaptive":
        from basisctl.risk.adaptive import fit_adaptive

        return fit_adaptive(r, bars.bar_hours, span)
    if m == "fhs":
        from basisctl.risk import fhs as fhs_mod

        if not ok.all():
            j = lo + int(np.argmin(ok))  # the first hole: where it is, so the user can move the window past it
            t0, t1 = (pd.Timestamp(int(bars.ts_ns[k]), tz="UTC") for k in (j, j + 1))
            raise ModelFitError(f"fhs: the calibration window has missing bars ({span}; {int((~ok).sum())} gap(s), "
                                f"the first after the bar of {t0:%Y-%m-%d %H:%M}, next bar {t1:%Y-%m-%d %H:%M}); "
                                "GARCH needs a gap-free window (shorten --lookback-days, move --asof, or size "
                                "with gbm: --model gbm / --risk-model gbm)")
        paths = fhs_mod.DEFAULT_PATHS if fhs_paths is None else fhs_paths
        return fhs_mod.FHSRisk(fhs_mod.calibrate_fhs(bars, lo, hi), paths, seed)
    from basisctl.risk.evt import fit_evt

    return fit_evt(bars, lo, hi, horizon_hours)
