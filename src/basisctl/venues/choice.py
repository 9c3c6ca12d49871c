"""Venue choice: for one asset, rank the venues with funding data by expected net carry under their margin rule.

Per venue, over the calibration window (asof - lookback, asof]:

- ``kappa_bps_day``: mean 1-day cumulative funding [bps of notional per day] (complete 24 h windows only);
- ``share_positive``: share of those 1-day windows with positive carry; ``q05_apr``: their 5% quantile x 365;
- ``theta_f``: the venue's maintenance margin fraction (:mod:`basisctl.model.margin`);
- ``alpha_target``: Variant 2 alpha* (risk budget ``epsilon`` over ``horizon_days``, stressed sigma, the venue's
  theta_F and kappa) [fraction of capital];
- ``net_carry_apy`` = (1 - alpha_target) * carry - expected rebalancing cost [decimal per year], with carry =
  kappa_day * 365 and the rebalancing cost from the band (see :func:`rebalance_cost_apy`);
- ``data_days``: funding hours actually inside the window / 24; ``warnings``: thin data, no data, no margin rule.

A venue with no data, no complete window or no documented margin rule is listed with a warning and never ranked
(``net_carry_apy`` is None and the row sorts last).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from basisctl.calibration.funding import rolling_carry
from basisctl.calibration.inputs import margin_for
from basisctl.errors import BasisctlError
from basisctl.model.bands import alpha_lower, alpha_upper
from basisctl.model.static import StaticInputs, solve_static
from basisctl.venues.registry import get_venue

KEYS = ("venue", "kappa_bps_day", "share_positive", "q05_apr", "theta_f", "alpha_target", "net_carry_apy",
        "data_days", "warnings")
THIN_DATA_SHARE = 0.8
UPPER_HORIZON_DAYS = 14.0


def rebalance_cost_apy(sigma_annual: float, alpha_target: float, alpha_l: float, alpha_u: float,
                       cost_bps_per_leg: float) -> tuple[float, float]:
    """Expected rebalancing cost [decimal of capital per year] and rebalances per year of a delta-neutral
    position held in the band [alpha_l, alpha_u] around alpha_target.

    With total capital constant, alpha moves with the price ratio x as alpha = alpha_target - (x - 1)(1 - alpha_target),
    so the lower band is reached at log-price b_L = ln(1 + (alpha_target - alpha_l)/(1 - alpha_target)) and the upper
    at -b_U, b_U = -ln(1 - (alpha_u - alpha_target)/(1 - alpha_target)). For a driftless log-price the expected exit
    time of (-b_U, b_L) is b_L b_U / sigma^2 [yr] and the lower side is hit first with probability
    b_U / (b_L + b_U). A rebalance moves phi = |alpha - alpha_target| of capital on both legs at
    ``cost_bps_per_leg`` [bps of notional]."""
    if not (0 < alpha_l < alpha_target < alpha_u < 1) or sigma_annual <= 0:
        return math.nan, math.nan
    b_l = math.log1p((alpha_target - alpha_l) / (1 - alpha_target))
    b_u = -math.log1p(-(alpha_u - alpha_target) / (1 - alpha_target))
    per_year = sigma_annual**2 / (b_l * b_u)
    p_low = b_u / (b_l + b_u)
    phi = p_low * (alpha_target - alpha_l) + (1 - p_low) * (alpha_u - alpha_target)
    return per_year * 2 * cost_bps_per_leg * 1e-4 * phi, per_year


def venue_row(venue: str, asset: str, funding: pd.DataFrame | None, *, asof: pd.Timestamp, lookback_days: float,
              sigma_annual: float, stress: float = 1.5, epsilon: float = 1e-3, horizon_days: float = 1.0,
              theta_f: float | None = None, spread_bps: float = 2.0,
              barriers: Mapping[str, float] | None = None) -> dict[str, object]:
    """One row of the venue table (keys :data:`KEYS`); see the module docstring. ``barriers`` ({"target",
    "lower"}: log barriers of a calibrated risk model, ``basisctl.risk.sizing.model_barriers``) size alpha_target
    and alpha_L for this venue's theta_F (alpha = 1 - exp(-b) / (1 + theta_F)); None = the paper's stressed GBM."""
    row: dict[str, object] = {k: None for k in KEYS}
    row["venue"] = venue
    warnings: list[str] = []
    row["warnings"] = warnings
    if funding is None or funding.empty:
        warnings.append(f"no funding data for {asset} on {venue}: not ranked")
        return row
    start = asof - pd.Timedelta(days=lookback_days)
    inside = funding[(funding["ts"] > start) & (funding["ts"] <= asof)]
    days = float(inside["interval_hours"].sum()) / 24.0 if len(inside) else 0.0
    row["data_days"] = days
    carry = rolling_carry(inside, 24.0) if len(inside) else pd.Series(dtype=float)
    if carry.empty:
        warnings.append(f"no complete 1-day funding window in ({start:%Y-%m-%d}, {asof:%Y-%m-%d}]: not ranked")
        return row
    if days < THIN_DATA_SHARE * lookback_days:
        warnings.append(f"thin data: {days:.0f} of {lookback_days:g} days in the window")
    c = carry.to_numpy()
    kappa_day = float(c.mean())
    row.update(kappa_bps_day=kappa_day * 1e4, share_positive=float((c > 0).mean()),
               q05_apr=float(np.quantile(c, 0.05)) * 365.0)
    try:
        theta, lmax = margin_for(venue, asset, theta_f=theta_f)  # listed Hyperliquid assets: its margin table
    except BasisctlError as e:
        warnings.append(f"{e}: not ranked")
        return row
    row["theta_f"] = theta
    res = solve_static(StaticInputs(venue, asset, sigma_annual, stress, theta, lmax,  # lmax: reported only (NaN: OKX)
                                    horizon_days, epsilon, 0.1, kappa_day * horizon_days))
    a_t = float(res.alpha_risk)
    a_l = float(alpha_lower(sigma_annual * stress, theta))
    if barriers is not None:  # alpha whose liquidation barrier is b: 1 - exp(-b) / (1 + theta_F) (eq. 16)
        a_t = 1.0 - math.exp(-float(barriers["target"])) / (1.0 + theta)
        a_l = min(1.0 - math.exp(-float(barriers["lower"])) / (1.0 + theta), a_t)
    row["alpha_target"] = a_t
    fee = get_venue(venue).taker_fee_bps
    leg_bps = fee + spread_bps / 2
    phi_l = max(a_t - a_l, 0.0)
    a_u = float(alpha_upper(a_t, 2 * leg_bps * 1e-4 * phi_l, kappa_day * UPPER_HORIZON_DAYS))
    cost, _ = rebalance_cost_apy(sigma_annual, a_t, a_l, a_u, leg_bps)
    if not math.isfinite(cost):
        warnings.append("band degenerate (alpha_L >= alpha_target): rebalancing cost taken as 0")
        cost = 0.0
    row["net_carry_apy"] = (1 - a_t) * kappa_day * 365.0 - cost
    return row


def venue_table(asset: str, funding: Mapping[str, pd.DataFrame | None], *, asof: pd.Timestamp,
                lookback_days: float, sigma_annual: float, theta_f: Mapping[str, float] | None = None,
                barriers: Mapping[str, float] | None = None, **kw: float) -> pd.DataFrame:
    """All venues' rows, ranked ones best first (by net_carry_apy), then the unranked ones."""
    rows = [venue_row(v, asset, f, asof=asof, lookback_days=lookback_days, sigma_annual=sigma_annual,
                      theta_f=(theta_f or {}).get(v), barriers=barriers, **kw) for v, f in funding.items()]
    df = pd.DataFrame(rows, columns=list(KEYS))
    ranked = df["net_carry_apy"].notna()
    return pd.concat([df[ranked].sort_values("net_carry_apy", ascending=False), df[~ranked]], ignore_index=True)
