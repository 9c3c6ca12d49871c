"""The band the report shows for one venue and asset: the ``bands`` command's defaults, shared by sections."""

from __future__ import annotations

from basisctl.band_grids import (
    DEFAULT_EPSILON,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_STRESS,
    BandInputs,
    resolve_band_inputs,
)
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.model.bands import DEFAULT_EPS_LIQ, DEFAULT_H_LIQ_HOURS, alpha_lower


def default_band_inputs(venue: str, asset: str) -> BandInputs:
    """Band inputs at the report's as-of date, lookback, stress and epsilon (calibrated sigma and kappa14)."""
    return resolve_band_inputs(venue, asset, DEFAULT_ASOF, DEFAULT_LOOKBACK_DAYS, None, DEFAULT_STRESS, None, None,
                               DEFAULT_EPSILON)


def default_alpha_lower(inp: BandInputs) -> float:
    """alpha_L [fraction of capital] of ``inp`` at the default liquidation horizon and budget."""
    return float(alpha_lower(inp.sigma_stressed, inp.theta_f, DEFAULT_H_LIQ_HOURS, DEFAULT_EPS_LIQ))
