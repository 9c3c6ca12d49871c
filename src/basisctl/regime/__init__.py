"""The regime rule (issue 23): hold the basis trade only while forecast net carry beats the alternative yield.

Composed from single-position backtests (:func:`basisctl.backtest.run_backtest`) over the "in" segments; capital
outside the trade earns the alternative yield (:mod:`basisctl.regime.alt_yield`). Entry point for the backtest,
the CLI and the path study: :func:`run_regime`.
"""

from basisctl.regime.alt_yield import AltYield, load_alt_yield, read_rate_series
from basisctl.regime.params import RegimeParams
from basisctl.regime.rule import RegimeResult, forecast_series, regime_schedule, run_regime

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
