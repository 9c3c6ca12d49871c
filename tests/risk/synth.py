"""Synthetic hourly candles for the risk tests: GBM plus optional Kou jumps, highs from 1-minute sub-steps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from basisctl.risk.base import Bars

T0_NS = 1_640_995_200 * 10**9  # 2022-01-01 00:00 UTC


def kou_returns(n: int, bar_hours: float, sigma: float, lam: float, p_up: float, m_up: float, m_down: float,
                seed: int) -> np.ndarray:
    """Bar log returns of a Kou process with martingale price (independent of the code under test)."""
    rng = np.random.default_rng(seed)
    dt = bar_hours / 8760.0
    zeta = p_up / (1 - m_up) + (1 - p_up) / (1 + m_down) - 1.0  # E[e^Y] - 1 with eta = 1/m
    mu = -0.5 * sigma**2 - lam * zeta
    r = mu * dt + sigma * np.sqrt(dt) * rng.standard_normal(n)
    k = rng.poisson(lam * dt, n)
    for i in np.flatnonzero(k):
        up = rng.uniform(size=k[i]) < p_up
        r[i] += np.sum(np.where(up, rng.exponential(m_up, k[i]), -rng.exponential(m_down, k[i])))
    return r


def candles(hours: int, sigma: float, seed: int, lam_up: float = 0.0, mean_up: float = 0.03,
            sub: int = 60) -> Bars:
    """Hourly bars of a zero-drift-price GBM with optional upward Exp(mean_up) jumps at rate lam_up [1/yr];
    the high is the max over ``sub`` sub-steps (and the bar's open), the close the last sub-step."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / 8760.0 / sub
    zeta = (1.0 / (1.0 - mean_up) - 1.0) if lam_up > 0 else 0.0
    mu = -0.5 * sigma**2 - lam_up * zeta
    inc = mu * dt + sigma * np.sqrt(dt) * rng.standard_normal((hours, sub))
    if lam_up > 0:
        j = rng.uniform(size=(hours, sub)) < lam_up * dt
        inc += np.where(j, rng.exponential(mean_up, (hours, sub)), 0.0)
    path = np.cumsum(inc, axis=1)
    start = np.concatenate([[0.0], np.cumsum(path[:, -1])[:-1]])
    log_close = start + path[:, -1]
    log_high = start + np.maximum(path.max(axis=1), 0.0)
    ts = T0_NS + np.arange(hours, dtype=np.int64) * 3600 * 10**9
    return Bars(ts, 100.0 * np.exp(log_close), 100.0 * np.exp(log_high), 1.0)


def to_frame(b: Bars) -> pd.DataFrame:
    """The shipped candle schema (ts = bar open, UTC)."""
    close = b.close
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame({"ts": pd.to_datetime(b.ts_ns, utc=True), "open": open_, "high": b.high,
                         "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1.0})


def assert_kou_recovered(fitted: dict[str, float], true: dict[str, float], rel_sigma: float, rel_lam: float,
                         abs_p_up: float, rel_means: float) -> None:
    """A Kou fit's ``params()`` against the simulated truth (keys sigma, lam, p_up, m_up, m_down), each within
    its tolerance: sigma and lam relative, p_up absolute, the two mean jump sizes relative."""
    import pytest

    assert fitted["sigma_annual"] == pytest.approx(true["sigma"], rel=rel_sigma)
    assert fitted["jump_rate_annual"] == pytest.approx(true["lam"], rel=rel_lam)
    assert fitted["jump_p_up"] == pytest.approx(true["p_up"], abs=abs_p_up)
    assert fitted["jump_mean_up"] == pytest.approx(true["m_up"], rel=rel_means)
    assert fitted["jump_mean_down"] == pytest.approx(true["m_down"], rel=rel_means)
