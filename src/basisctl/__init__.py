"""basisctl: spot-perpetual basis trading on permissionless venues as a collateral control problem.

The public API re-exports the pieces users call from notebooks; see docs/ for units and conventions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basisctl._lazy import lazy_attributes

if TYPE_CHECKING:  # the public names are imported on first use (``basisctl --help`` must not load numpy)
    from basisctl.model.bands import alpha_lower, alpha_upper, upper_delta
    from basisctl.model.margin import theta_f_from_l_max
    from basisctl.model.policy import Action, BandPolicy, CostCurve, Decision, decide
    from basisctl.model.static import (
        StaticInputs,
        StaticResult,
        alpha_liq,
        barrier_z,
        hedge_leverage,
        pi_liq,
        solve_alpha_econ,
        solve_alpha_risk,
        solve_static,
        solve_static_grid,
    )
    from basisctl.venues.margin import theta_f_for

_LAZY: dict[str, str] = {
    **dict.fromkeys(("alpha_lower", "alpha_upper", "upper_delta"), "basisctl.model.bands"),
    "theta_f_for": "basisctl.venues.margin",
    "theta_f_from_l_max": "basisctl.model.margin",
    **dict.fromkeys(("Action", "BandPolicy", "CostCurve", "Decision", "decide"), "basisctl.model.policy"),
    **dict.fromkeys(
        (
            "StaticInputs",
            "StaticResult",
            "alpha_liq",
            "barrier_z",
            "hedge_leverage",
            "pi_liq",
            "solve_alpha_econ",
            "solve_alpha_risk",
            "solve_static",
            "solve_static_grid",
        ),
        "basisctl.model.static",
    ),
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


__version__ = "0.1.0"

__all__ = [
    "Action",
    "BandPolicy",
    "CostCurve",
    "Decision",
    "StaticInputs",
    "StaticResult",
    "__version__",
    "alpha_liq",
    "alpha_lower",
    "alpha_upper",
    "barrier_z",
    "decide",
    "hedge_leverage",
    "pi_liq",
    "solve_alpha_econ",
    "solve_alpha_risk",
    "solve_static",
    "solve_static_grid",
    "theta_f_for",
    "theta_f_from_l_max",
    "upper_delta",
]
