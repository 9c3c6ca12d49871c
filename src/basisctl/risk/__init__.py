"""Liquidation-risk models behind one contract (see ``base``): gbm (the paper's closed form), kou (jump
diffusion), fhs (filtered historical simulation), evt (peaks over threshold), adaptive (eq. 39 EWMA floor),
and the out-of-sample coverage study (``coverage``).

The public names are imported on first use (PEP 562): ``basisctl static`` sizes with one model and must not
pay for the others' imports (scipy.stats for EVT, scipy.signal for the adaptive floor; docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basisctl._lazy import lazy_attributes

if TYPE_CHECKING:
    from basisctl.risk.base import (
        Bars,
        ModelFitError,
        RiskModel,
        alpha_at,
        alpha_of_barrier,
        pi_liq,
        solve_barrier,
    )
    from basisctl.risk.fit import fit_model, load_bars
    from basisctl.risk.gbm import GBMRisk
    from basisctl.risk.kou import KouRisk
    from basisctl.risk.registry import RISK_MODELS

_LAZY: dict[str, str] = {
    **dict.fromkeys(("Bars", "ModelFitError", "RiskModel", "alpha_at", "alpha_of_barrier", "pi_liq",
                     "solve_barrier"), "basisctl.risk.base"),
    **dict.fromkeys(("fit_model", "load_bars"), "basisctl.risk.fit"),
    "RISK_MODELS": "basisctl.risk.registry",
    "GBMRisk": "basisctl.risk.gbm",
    "KouRisk": "basisctl.risk.kou",
}

__all__ = ["RISK_MODELS", "Bars", "GBMRisk", "KouRisk", "ModelFitError", "RiskModel", "alpha_at",
           "alpha_of_barrier", "fit_model", "load_bars", "pi_liq", "solve_barrier"]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
