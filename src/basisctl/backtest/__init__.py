"""Historical backtests of the frozen band rule (paper Sec. IX) with a compiled core loop."""

from basisctl.backtest.costs import PAPER_COST_BPS, CostModel, paper_cost_bps
from basisctl.backtest.data import BacktestData, align_funding, prepare
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.results import JSON_KEYS, BacktestResult
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule

__all__ = [
    "JSON_KEYS",
    "PAPER_COST_BPS",
    "BacktestConfig",
    "BacktestData",
    "BacktestResult",
    "CostModel",
    "FrozenRule",
    "RuleSpec",
    "align_funding",
    "calibrate_rule",
    "paper_cost_bps",
    "prepare",
    "run_backtest",
]
