"""Dynamic band boundaries (paper Section VIII): solvency lower band alpha_L and carry-vs-cost upper band alpha_U.

alpha_L (eq. 38) is Variant 2 over the short operational horizon h_liq with budget eps_liq.
alpha_U (eq. 45) = alpha_target + K_reb / (D kappa_h), clipped at ``ALPHA_UPPER_CAP`` = 0.99.
K_reb is a cost in fraction of capital D ("bps of capital"), kappa_h a cumulative carry [decimal].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import ModelDomainError
from basisctl.model.static import solve_alpha_risk
from basisctl.units import hours_to_years

ALPHA_UPPER_CAP: float = 0.99
DEFAULT_H_LIQ_HOURS: float = 3.0
DEFAULT_EPS_LIQ: float = 1e-4
DEFAULT_UPPER_HORIZON_DAYS: float = 14.0


def alpha_lower(
    sigma_stressed: ArrayLike,
    theta_f: ArrayLike,
    h_liq_hours: ArrayLike = DEFAULT_H_LIQ_HOURS,
    eps_liq: ArrayLike = DEFAULT_EPS_LIQ,
    mu: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Closed-form solvency band alpha_L (eq. 38) [fraction of capital]; sigma already stressed."""
    return solve_alpha_risk(sigma_stressed, theta_f, hours_to_years(np.asarray(h_liq_hours, float)), eps_liq, mu)


@dataclass(frozen=True)
class RebalanceCost:
    """Components of K_reb (eq. 46), each in bps of capital D. ``total_bps`` <= 0 means always rebalance."""

    fee_bps: float = 0.0
    impact_bps: float = 0.0
    gas_bps: float = 0.0
    exec_bps: float = 0.0
    basis_captured_bps: float = 0.0

    @property
    def total_bps(self) -> float:
        return self.fee_bps + self.impact_bps + self.gas_bps + self.exec_bps - self.basis_captured_bps


def upper_delta(k_reb_capital: ArrayLike, kappa_h: ArrayLike, capital: float = 1.0) -> NDArray[np.float64]:
    """Delta_U = K_reb / (D kappa_h) (eq. 45) [fraction of capital].

    K_reb <= 0 gives 0 (always rebalance down); kappa_h <= 0 with K_reb > 0 gives +inf (never worth it).
    """
    k = np.asarray(k_reb_capital, dtype=float)
    kap = np.asarray(kappa_h, dtype=float)
    if capital <= 0:
        raise ModelDomainError("capital D must be > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(k <= 0, 0.0, np.where(kap > 0, k / (capital * np.where(kap > 0, kap, 1.0)), np.inf))
    return d if d.ndim else d[()]


def alpha_upper(
    alpha_target: ArrayLike,
    k_reb_capital: ArrayLike,
    kappa_h: ArrayLike,
    capital: float = 1.0,
    cap: float = ALPHA_UPPER_CAP,
) -> NDArray[np.float64]:
    """alpha_U = min(alpha_target + Delta_U, cap) (eqs. 44-45, Fig. 5 clipping) [fraction of capital]."""
    a = np.asarray(alpha_target, dtype=float)
    out = np.minimum(a + upper_delta(k_reb_capital, kappa_h, capital), cap)
    return out if out.ndim else out[()]


def upper_rule_fires(
    alpha: float, alpha_target: float, alpha_upper_: float, kappa_fix: float, k_reb_fix: float, capital: float = 1.0
) -> bool:
    """Practical upper rule (eq. 47): alpha > alpha_U and (alpha - alpha_target) D kappa_fix >= K_reb_fix."""
    return alpha > alpha_upper_ and (alpha - alpha_target) * capital * kappa_fix >= k_reb_fix
