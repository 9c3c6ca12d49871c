from __future__ import annotations

import numpy as np
import pandas as pd

from basisctl.backtest.data import BacktestData, align_funding
from basisctl.backtest.rule import FrozenRule

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def make_data(close: np.ndarray, high: np.ndarray | None = None, rate: float | np.ndarray = 0.0,
              bar_hours: float = 1.0, asset: str = "TST") -> BacktestData:
    """Synthetic bars: open_i = close_{i-1} (open_0 = close_0), high = max(open, close) unless given; hourly
    funding rows at every bar open after the first with ``rate``."""
    close = np.asarray(close, float)
    n = close.size
    op = np.r_[close[0], close[:-1]]
    hi = np.maximum(op, close) if high is None else np.asarray(high, float)
    ts = pd.date_range(T0, periods=n, freq=f"{bar_hours:g}h")
    r = np.broadcast_to(np.asarray(rate, float), (n,))
    f = pd.DataFrame({"ts": ts[1:], "rate": r[1:], "interval_hours": bar_hours})
    return BacktestData(asset, ts, bar_hours, op, hi, close, op, close.copy(), align_funding(f, ts, bar_hours),
                        "synthetic", "synthetic")


def make_rule(alpha_target: float = 0.2, alpha_lower: float = 0.1, alpha_upper: float = 0.6,
              theta_f: float = 0.0125, kappa_14d: float = 0.003, k_reb_fix: float = 0.002) -> FrozenRule:
    return FrozenRule("TST", T0 - pd.Timedelta(days=730), T0, 0.5, 1.0, 1.5, theta_f, 40.0, alpha_target,
                      alpha_lower, alpha_upper, kappa_14d, 10, "test", k_reb_fix)


