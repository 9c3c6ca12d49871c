"""Execution awareness: side-specific cost functions (paper Sec. XI), spot pricing on Uniswap v3 and DEX
aggregators, perp pricing on an L2 book, capacity (eqs. 65-68) and trade-log analytics (Sec. X)."""

from basisctl.execution.analytics import (
    ExecutionReport,
    execution_report,
    load_trade_log,
    min_buffer_for,
    win_rate,
    win_rate_weighted,
)
from basisctl.execution.capacity import CapacityReport, capacity_from_curves, phi, q_star, v_max_side
from basisctl.execution.costs import (
    INFEASIBLE_BPS,
    AdmissibleSet,
    CostBreakdown,
    CostHistory,
    FixedCostBudget,
    FixedFrictions,
    FlatLeg,
    InstantCost,
    OrderBookPerpLeg,
    ParametricSpotLeg,
    UniswapV3SpotLeg,
    admissible_set,
    build_instant_costs,
    feasible,
    q_max,
    smoothed_cost,
)
from basisctl.execution.orderbook import L2Book, PerpFees, synthetic_book_from_depth, walk_book
from basisctl.execution.quotes import AggregatorSpotLeg, OneInchClient, Quote, QuoteStore, ZeroExClient
from basisctl.execution.uniswap_v3 import V3Pool, load_pool_snapshot

__all__ = [
    "INFEASIBLE_BPS",
    "AdmissibleSet",
    "AggregatorSpotLeg",
    "CapacityReport",
    "CostBreakdown",
    "CostHistory",
    "ExecutionReport",
    "FixedCostBudget",
    "FixedFrictions",
    "FlatLeg",
    "InstantCost",
    "L2Book",
    "OneInchClient",
    "OrderBookPerpLeg",
    "ParametricSpotLeg",
    "PerpFees",
    "Quote",
    "QuoteStore",
    "UniswapV3SpotLeg",
    "V3Pool",
    "ZeroExClient",
    "admissible_set",
    "build_instant_costs",
    "capacity_from_curves",
    "execution_report",
    "feasible",
    "load_pool_snapshot",
    "load_trade_log",
    "min_buffer_for",
    "phi",
    "q_max",
    "q_star",
    "smoothed_cost",
    "synthetic_book_from_depth",
    "v_max_side",
    "walk_book",
    "win_rate",
    "win_rate_weighted",
]
