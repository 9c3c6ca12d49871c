"""The regime rule (issue 23): hold the basis trade only while forecast net carry beats the alternative yield.

Composed from single-position backtests (:func:`basisctl.backtest.run_backtest`) over the "in" segments; capital
outside the trade earns the alternative yield (:mod:`basisctl.regime.alt_yield`). Entry point for the backtest,
the CLI and the path study: :func:`run_regime`.

The names below load on first use, so that importing :mod:`basisctl.regime.params` (the controller config does)
does not import the backtest engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basisctl.regime.alt_yield import AltYield, load_alt_yield, read_rate_series
    from basisctl.regime.params import RegimeParams
    from basisctl.regime.rule import RegimeResult, forecast_series, regime_schedule, run_regime

_WHERE: dict[str, str] = {
    "AltYield": "alt_yield", "load_alt_yield": "alt_yield", "read_rate_series": "alt_yield",
    "RegimeParams": "params", "RegimeResult": "rule", "forecast_series": "rule", "regime_schedule": "rule",
    "run_regime": "rule",
}

__all__ = [
    "AltYield",
    "RegimeParams",
    "RegimeResult",
    "forecast_series",
    "load_alt_yield",
    "read_rate_series",
    "regime_schedule",
    "run_regime",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"basisctl.regime.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'basisctl.regime' has no attribute {name!r}")
