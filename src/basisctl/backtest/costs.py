"""Execution-cost models for the backtest: one CostCurve per basis side plus a per-side budget.

The paper's historical backtest (Sec. IX) assumes "instant rebalancing liquidity at a fixed cost"
(Table VIII: BTC/ETH 20 bps, LINK/DOGE 30 bps of the traded notional). That is ``CostModel.paper(asset)``:
a flat :class:`~basisctl.model.policy.CostCurve` on both sides with budgets = +inf, so the fixed cost never
blocks a trade (Q^max = inf) and the policy's size test reduces to q* >= q_min. A finite budget (e.g.
``CostModel.fixed(20, budget_bps=40)``) makes Q^max and the buffer b bite exactly as in Table VI.

Cost convention: a basis trade of spot notional q [USD] costs ``C(q) * q / 1e4`` [USD] in total for both legs
(the fixed schedule is per basis trade; fractal-defi splits it 50/50 across the legs, which for a delta-neutral
trade is the same total).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from basisctl.errors import ModelDomainError
from basisctl.model.policy import CostCurve

#: Table VIII: fixed execution cost per basis trade [bps of traded notional].
PAPER_COST_BPS: dict[str, float] = {"BTC": 20.0, "ETH": 20.0, "DOGE": 30.0, "LINK": 30.0}
#: Default for assets not in Table VIII [bps of traded notional].
DEFAULT_COST_BPS: float = 30.0


def paper_cost_bps(asset: str) -> float:
    """The Table VIII cost for ``asset`` [bps]; DEFAULT_COST_BPS for any other asset, with a warning
    (:func:`basisctl.warnings.substitute`: the asset has no pool or book in the paper's schedule)."""
    a = asset.upper()
    if a not in PAPER_COST_BPS:
        from basisctl.warnings import substitute

        substitute("default_input", f"{a}: no execution cost known (not in the paper's Table VIII, no pool or "
                                    f"book); using a flat {DEFAULT_COST_BPS:g} bps per trade (pass --cost-bps)")
        return DEFAULT_COST_BPS
    return PAPER_COST_BPS[a]


@dataclass(frozen=True)
class CostModel:
    """Side-specific executable cost [bps of notional vs USD size] and the policy's cost budgets [bps].

    ``sell`` prices sell-basis trades (raise collateral: sell spot, buy back perp), ``buy`` prices buy-basis
    trades (lower collateral: buy spot, add to the short). Budgets feed Q^max = sup{q: C(q) + b <= budget}.
    """

    sell: CostCurve
    buy: CostCurve
    sell_budget_bps: float = float("inf")
    buy_budget_bps: float = float("inf")
    label: str = field(default="custom")

    def __post_init__(self) -> None:
        for name in ("sell_budget_bps", "buy_budget_bps"):
            v = getattr(self, name)
            if np.isnan(v) or v < 0:
                raise ModelDomainError(f"{name} must be >= 0 or inf (got {v!r})")

    @classmethod
    def fixed(cls, bps: float, budget_bps: float = float("inf"), sell_bps: float | None = None) -> CostModel:
        """Flat cost ``bps`` on the buy-basis side (and ``sell_bps`` or ``bps`` on the sell-basis side)."""
        if bps < 0 or (sell_bps is not None and sell_bps < 0):
            raise ModelDomainError(f"costs must be >= 0 bps (got {bps!r}, {sell_bps!r})")
        s = bps if sell_bps is None else sell_bps
        label = f"flat {bps:g} bps" if sell_bps is None else f"flat buy {bps:g} / sell {s:g} bps"
        return cls(CostCurve.flat(s), CostCurve.flat(bps), budget_bps, budget_bps, label)

    @classmethod
    def paper(cls, asset: str) -> CostModel:
        """Table VIII schedule for ``asset``, unlimited liquidity at that cost (paper Sec. IX assumption)."""
        m = cls.fixed(paper_cost_bps(asset))
        return CostModel(m.sell, m.buy, m.sell_budget_bps, m.buy_budget_bps, f"paper Table VIII {m.label}")

    def sell_cost_bps(self, notional_usd: float) -> float:
        return self.sell(notional_usd)

    def buy_cost_bps(self, notional_usd: float) -> float:
        return self.buy(notional_usd)
