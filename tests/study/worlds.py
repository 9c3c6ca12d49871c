"""Small synthetic worlds for the path-study tests: hourly candles and funding frames per asset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from basisctl.study.generators import History, history_from_frames

START = pd.Timestamp("2022-01-01", tz="UTC")


def gbm_frames(assets: tuple[str, ...], days: int, sigma_annual: float, seed: int, funding_per_8h: float,
               jump_rate_annual: float = 0.0, jump_mean: float = 0.0, jump_fixed: bool = False
               ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Zero-drift (in price) GBM hourly bars with 4 sub-steps per bar for the high, optional planted up-jumps
    (log size Exp(jump_mean), or exactly ``jump_mean`` with ``jump_fixed``) at rate ``jump_rate_annual`` [per
    year], at the end of a bar (bar high = close); constant 8-hourly funding."""
    rng = np.random.default_rng(seed)
    n = days * 24
    ts = pd.date_range(START, periods=n, freq="1h")
    sub = 4
    sd = sigma_annual / np.sqrt(8760 * sub)
    candles, funding = {}, {}
    for a in assets:
        x = (-0.5 * sd * sd + sd * rng.standard_normal((n, sub)))
        if jump_rate_annual > 0:
            nj = rng.poisson(jump_rate_annual / 8760.0, n)
            size = np.full(n, jump_mean) if jump_fixed else rng.exponential(jump_mean, n)
            x[:, -1] += np.where(nj > 0, size * nj, 0.0)
        path = np.cumsum(x.ravel()).reshape(n, sub)
        prev = np.r_[0.0, path[:-1, -1]]
        close = 100.0 * np.exp(path[:, -1])
        high = 100.0 * np.exp(np.maximum(path.max(axis=1), prev))
        opn = 100.0 * np.exp(prev)
        candles[a] = pd.DataFrame({"ts": ts, "open": opn, "high": high, "low": np.minimum(opn, close),
                                   "close": close})
        fts = pd.date_range(START, periods=days * 3, freq="8h")
        funding[a] = pd.DataFrame({"ts": fts, "rate": funding_per_8h, "interval_hours": 8.0})
    return candles, funding


def gbm_history(assets: tuple[str, ...] = ("BTC", "ETH"), days: int = 730, sigma_annual: float = 0.6,
                seed: int = 1, funding_per_8h: float = 1e-4, **kw: Any) -> History:
    c, f = gbm_frames(assets, days, sigma_annual, seed, funding_per_8h, **kw)
    return history_from_frames(c, f, START + pd.Timedelta(days=days))
