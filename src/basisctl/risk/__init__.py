"""Liquidation-risk models behind one contract (see ``base``): gbm (the paper's closed form), kou (jump
diffusion), fhs (filtered historical simulation), evt (peaks over threshold), adaptive (eq. 39 EWMA floor),
and the out-of-sample coverage study (``coverage``)."""

from basisctl.risk.base import (
    Bars,
    ModelFitError,
    RiskModel,
    alpha_at,
    alpha_of_barrier,
    pi_liq,
    solve_barrier,
)
from basisctl.risk.fit import RISK_MODELS, fit_model, load_bars
from basisctl.risk.gbm import GBMRisk
from basisctl.risk.kou import KouRisk

__all__ = ["RISK_MODELS", "Bars", "GBMRisk", "KouRisk", "ModelFitError", "RiskModel", "alpha_at",
           "alpha_of_barrier", "fit_model", "load_bars", "pi_liq", "solve_barrier"]
