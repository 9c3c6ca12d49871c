"""basisctl: spot-perpetual basis trading on permissionless venues as a collateral control problem.

The public API re-exports the pieces users call from notebooks; see docs/ for units and conventions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'basisctl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
