"""Funding forecasts tested out of sample (issue 23): daily funding panel, models behind one interface,
walk-forward evaluation, Diebold-Mariano with the HLN correction, and the decision metric the regime rule uses.

Units: daily funding = the sum of the settled rates accrued inside one UTC day [decimal of notional per day];
forecasts = the mean daily funding over the next h days [decimal per day]; APR = x 365.
"""

from basisctl.forecast.dm import DieboldMariano, diebold_mariano
from basisctl.forecast.models import MODEL_NAMES, FundingModel, make_model
from basisctl.forecast.panel import daily_funding, funding_panel
from basisctl.forecast.walkforward import DecisionSpec, ForecastEval, evaluate, walk_forward

__all__ = [
    "MODEL_NAMES",
    "DecisionSpec",
    "DieboldMariano",
    "ForecastEval",
    "FundingModel",
    "daily_funding",
    "diebold_mariano",
    "evaluate",
    "funding_panel",
    "make_model",
    "walk_forward",
]
