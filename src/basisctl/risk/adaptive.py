"""The paper's eq. (39), adaptive lower band: alpha_L(t) = inf{alpha : Pi_liq(alpha; h_liq, sigma_t) <= eps_liq}.

sigma_t is a local EWMA volatility of bar log returns (half-life ``half_life_hours``), known at the bar close
(past only). As a risk model it is GBM at sigma_t: the closed form, wrapped through ``GBMRisk``. The paper
keeps a fixed alpha_L for interpretability; here the adaptive floor is offered as a model of the coverage study
and a function the policy/backtest can call (``adaptive_alpha_lower``).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from basisctl.risk.base import FloatArray, alpha_at, require_returns
from basisctl.risk.gbm import GBMRisk
from basisctl.units import HOURS_PER_YEAR

DEFAULT_HALF_LIFE_HOURS: float = 48.0
MIN_RETURNS: int = 48


def ewma_sigma_annual(returns: FloatArray, bar_hours: float, half_life_hours: float = DEFAULT_HALF_LIFE_HOURS,
                      ) -> FloatArray:
    """EWMA volatility after each return [1/sqrt(yr)]: v_t = (1-w) v_{t-1} + w r_t^2, w = 1 - 2^(-bar/half_life),
    started at the mean square of the first ``ceil(half_life / bar)`` returns. Element t uses returns <= t."""
    r = np.asarray(returns, dtype=float)
    w = 1.0 - 2.0 ** (-bar_hours / half_life_hours)
    k = max(int(np.ceil(half_life_hours / bar_hours)), 1)
    if r.size == 0:
        return r.copy()
    acc = float(np.mean(r[:k] ** 2))
    v, _ = lfilter([w], [1.0, -(1.0 - w)], r * r, zi=[(1.0 - w) * acc])
    return np.sqrt(np.asarray(v) * HOURS_PER_YEAR / bar_hours)


def fit_adaptive(returns: FloatArray, bar_hours: float, span: str = "the window",
                 half_life_hours: float = DEFAULT_HALF_LIFE_HOURS) -> GBMRisk:
    """GBM at the local volatility after the last return of the window."""
    r = returns[np.isfinite(returns)]
    require_returns("adaptive", r, MIN_RETURNS, span)
    s = ewma_sigma_annual(r, bar_hours, half_life_hours)[-1]
    return GBMRisk(np.array([s]), np.array([0.0]), name="adaptive")


def adaptive_alpha_lower(returns: FloatArray, bar_hours: float, theta_f: float, epsilon: float,
                         horizon_hours: float, half_life_hours: float = DEFAULT_HALF_LIFE_HOURS) -> FloatArray:
    """alpha_L(t) after every return (eq. 39), one vectorised closed-form solve [fraction of capital]."""
    s = ewma_sigma_annual(returns, bar_hours, half_life_hours)
    return alpha_at(GBMRisk.of(s), epsilon, theta_f, horizon_hours)
