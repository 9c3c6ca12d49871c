"""GBM: the paper's closed form (``model.static``), wrapped behind the risk-model contract — not a copy.

The barrier at epsilon uses the shared fixed-iteration bisection (``base.solve_barrier``) on the closed form rather
than ``static.solve_alpha_risk``, whose bracket and iteration count depend on the whole batch: in the coverage
study that would let later origins nudge earlier answers in the last digits. Both agree to 1e-9 (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from basisctl.model import static
from basisctl.risk.base import FloatArray, require_returns, scalar_params
from basisctl.units import HOURS_PER_YEAR

MIN_RETURNS: int = 48


@dataclass(frozen=True)
class GBMRisk:
    """Geometric Brownian motion with volatility ``sigma_annual`` [1/sqrt(yr)] and price drift ``mu_annual`` [1/yr]."""

    sigma_annual: FloatArray
    mu_annual: FloatArray
    name: str = "gbm"

    @classmethod
    def of(cls, sigma_annual: ArrayLike, mu_annual: ArrayLike = 0.0) -> GBMRisk:
        s, m = np.broadcast_arrays(np.atleast_1d(np.asarray(sigma_annual, float)), np.asarray(mu_annual, float))
        return cls(np.array(s, dtype=float), np.array(m, dtype=float))

    @property
    def n(self) -> int:
        return int(self.sigma_annual.size)

    def hit_prob(self, b: ArrayLike, horizon_hours: float) -> FloatArray:
        return static.hit_probability_log_barrier(b, self.sigma_annual, horizon_hours / HOURS_PER_YEAR,
                                                  self.mu_annual)

    def params(self) -> dict[str, Any]:
        return scalar_params({"sigma_annual": self.sigma_annual, "mu_annual": self.mu_annual})


def fit_gbm(returns: FloatArray, bar_hours: float, span: str = "the window", stress: float = 1.0) -> GBMRisk:
    """sigma = std(log returns, ddof=1) * sqrt(8760 / bar_hours) * stress; price drift 0 (the paper's choice)."""
    r = returns[np.isfinite(returns)]
    require_returns("gbm", r, MIN_RETURNS, span)
    return GBMRisk.of(float(np.std(r, ddof=1)) * np.sqrt(HOURS_PER_YEAR / bar_hours) * stress)
