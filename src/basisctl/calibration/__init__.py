"""Calibration of model inputs from market data: realised volatility and the funding estimator kappa_h."""

from basisctl.calibration.funding import (
    FundingWindowStats,
    KappaEstimate,
    funding_window_stats,
    kappa_tilde,
    rolling_carry,
)
from basisctl.calibration.volatility import VolEstimate, realised_vol

__all__ = [
    "FundingWindowStats",
    "KappaEstimate",
    "VolEstimate",
    "funding_window_stats",
    "kappa_tilde",
    "realised_vol",
    "rolling_carry",
]
