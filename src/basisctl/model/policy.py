"""The operational band policy (paper Table VI) as one pure function, shared by backtest and live controller.

Side mapping (the paper's labels resolved)
------------------------------------------
Table VI calls the lower-band trade "buy" and the upper-band trade "sell", while Section III defines
buy-basis = buy spot + sell perp. Physically:

* alpha_t < alpha_L (margin depleted after a price rise) -> ``RAISE_COLLATERAL``: sell spot, buy back perp,
  move USDC spot -> margin. That is a **sell-basis** trade, priced with the sell-basis cost curve.
* alpha_t > alpha_U (excess margin after a price fall) -> ``LOWER_COLLATERAL``: withdraw margin, buy spot,
  sell more perp. That is a **buy-basis** trade, priced with the buy-basis cost curve.

Sizes are USD notional of the spot leg. The target size restoring alpha_t to alpha_target is
q* = |alpha_t - alpha_target| * V_t (under eq. 31 one dollar of spot moved changes alpha by 1/V).
Q^max_s = sup{q : C_s(q) + b <= budget_s} with C_s in bps of notional, b the execution buffer [bps].
q_hat = min(q*, Q^max). Per-side reset targets (issue 13): a lower breach restores ``reset_lower`` and an upper
breach ``reset_upper`` (the paper resets both to alpha_target; the optimal band of
:mod:`basisctl.model.optimal_band` may reset elsewhere, e.g. to an interior point under fixed costs).
``reset_due`` (a driver's clock, e.g. the weekly ``periodic`` baseline) asks for a reset to alpha_target from
inside the band: executed if the size reaches q_min and Q^max allows it (no eq. 47 gate).
Lower breach with q_hat < q_min -> ``EMERGENCY`` (the driver executes q* at any cost and raises an alert);
upper breach needs (alpha_t - reset_upper) kappa_fix >= K_reb_fix (eq. 47) and q_hat >= q_min, else no action.

The core ``decide_nb`` takes scalars and arrays only, so the compiled backtest loop calls the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.errors import ModelDomainError


class Action(IntEnum):
    NONE = 0
    RAISE_COLLATERAL = 1  # sell-basis: sell spot, buy back perp, move USDC into margin
    LOWER_COLLATERAL = 2  # buy-basis: withdraw margin, buy spot, add to the short
    EMERGENCY = 3  # raise collateral now, at any cost (solvency first)


class Reason(IntEnum):
    IN_BAND = 0
    LOWER_BREACH_EXECUTE = 1
    LOWER_BREACH_BELOW_QMIN = 2
    UPPER_BREACH_EXECUTE = 3
    UPPER_BREACH_CARRY_BELOW_COST = 4
    UPPER_BREACH_BELOW_QMIN = 5
    PERIODIC_RESET = 6


BASIS_SIDE: dict[Action, str | None] = {
    Action.NONE: None,
    Action.RAISE_COLLATERAL: "sell-basis",
    Action.LOWER_COLLATERAL: "buy-basis",
    Action.EMERGENCY: "sell-basis",
}


@dataclass(frozen=True)
class CostCurve:
    """Executable cost of one basis side as a function of size: piecewise linear through the points
    (notional_usd[k], cost_bps[k]) [USD, bps of notional], constant before the first and after the last point.

    The curve must be non-decreasing in size (the admissible-size definitions, eqs. 59-60, rely on it).
    """

    notional_usd: NDArray[np.float64]
    cost_bps: NDArray[np.float64]

    def __post_init__(self) -> None:
        q = np.ascontiguousarray(self.notional_usd, dtype=np.float64)
        c = np.ascontiguousarray(self.cost_bps, dtype=np.float64)
        if q.ndim != 1 or q.shape != c.shape or q.size == 0:
            raise ModelDomainError("cost curve needs two 1-D arrays of equal, non-zero length")
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(c))):
            raise ModelDomainError("cost curve points must be finite")
        if np.any(np.diff(q) <= 0) or q[0] < 0:
            raise ModelDomainError("cost curve sizes must be >= 0 and strictly increasing")
        if np.any(np.diff(c) < -1e-12):
            raise ModelDomainError("cost curve must be non-decreasing in size")
        object.__setattr__(self, "notional_usd", q)
        object.__setattr__(self, "cost_bps", c)

    @classmethod
    def flat(cls, bps: float) -> CostCurve:
        """A size-independent cost, e.g. the paper's fixed backtest schedule (Table VIII)."""
        return cls(np.array([0.0]), np.array([float(bps)]))

    @classmethod
    def from_function(cls, fn: Callable[[float], float], max_notional_usd: float, points: int = 64) -> CostCurve:
        """Sample a monotone cost function on a geometric size grid up to ``max_notional_usd``."""
        q = np.concatenate([[0.0], np.geomspace(max(max_notional_usd * 1e-4, 1.0), max_notional_usd, points)])
        c = np.maximum.accumulate(np.array([fn(float(x)) for x in q]))
        return cls(q, c)

    def __call__(self, notional_usd: float) -> float:
        return float(cost_at_nb(self.notional_usd, self.cost_bps, float(notional_usd)))

    def max_size(self, budget_bps: float, cap_usd: float = np.inf) -> float:
        """Q^max = sup{q <= cap : C(q) <= budget} [USD]."""
        return float(max_admissible_nb(self.notional_usd, self.cost_bps, float(budget_bps), float(cap_usd)))


@njit
def cost_at_nb(qg: NDArray[np.float64], cg: NDArray[np.float64], q: float) -> float:
    n = qg.size
    if q <= qg[0]:
        return cg[0]
    if q >= qg[n - 1]:
        return cg[n - 1]
    k = np.searchsorted(qg, q)
    w = (q - qg[k - 1]) / (qg[k] - qg[k - 1])
    return cg[k - 1] + w * (cg[k] - cg[k - 1])


@njit
def max_admissible_nb(qg: NDArray[np.float64], cg: NDArray[np.float64], limit: float, cap: float) -> float:
    """Largest q in [0, cap] with C(q) <= limit, C piecewise linear non-decreasing (0 if even C(0) > limit)."""
    if cg[0] > limit:
        return 0.0
    n = qg.size
    for k in range(1, n):
        if cg[k] > limit:
            w = (limit - cg[k - 1]) / (cg[k] - cg[k - 1])
            q = qg[k - 1] + w * (qg[k] - qg[k - 1])
            return q if q < cap else cap
    return cap


@njit
def decide_nb(
    alpha: float,
    equity_usd: float,
    alpha_target: float,
    alpha_lower: float,
    alpha_upper: float,
    kappa_fix: float,
    k_reb_fix: float,
    q_min_usd: float,
    buffer_bps: float,
    sell_q: NDArray[np.float64],
    sell_c: NDArray[np.float64],
    sell_budget_bps: float,
    buy_q: NDArray[np.float64],
    buy_c: NDArray[np.float64],
    buy_budget_bps: float,
    reset_lower: float,
    reset_upper: float,
    reset_due: bool,
) -> tuple[int, int, float, float, float]:
    """Table VI with per-side reset targets [fraction] (pass alpha_target twice for the paper's rule) and an
    optional clock-driven reset to alpha_target (``reset_due``). Returns (action, reason, q_target_usd,
    q_max_usd, q_hat_usd)."""
    if alpha < alpha_lower:
        q_target = (reset_lower - alpha) * equity_usd
        q_max = max_admissible_nb(sell_q, sell_c, sell_budget_bps - buffer_bps, np.inf)
        q_hat = q_target if q_target < q_max else q_max
        if q_hat >= q_min_usd and q_hat > 0.0:
            return 1, 1, q_target, q_max, q_hat
        return 3, 2, q_target, q_max, q_hat
    if alpha > alpha_upper:
        q_target = (alpha - reset_upper) * equity_usd
        q_max = max_admissible_nb(buy_q, buy_c, buy_budget_bps - buffer_bps, np.inf)
        q_hat = q_target if q_target < q_max else q_max
        if (alpha - reset_upper) * kappa_fix < k_reb_fix:
            return 0, 4, q_target, q_max, q_hat
        if q_hat < q_min_usd or q_hat <= 0.0:
            return 0, 5, q_target, q_max, q_hat
        return 2, 3, q_target, q_max, q_hat
    if reset_due:
        if alpha < alpha_target:
            q_target = (alpha_target - alpha) * equity_usd
            q_max = max_admissible_nb(sell_q, sell_c, sell_budget_bps - buffer_bps, np.inf)
            act = 1
        else:
            q_target = (alpha - alpha_target) * equity_usd
            q_max = max_admissible_nb(buy_q, buy_c, buy_budget_bps - buffer_bps, np.inf)
            act = 2
        q_hat = q_target if q_target < q_max else q_max
        if q_hat >= q_min_usd and q_hat > 0.0:
            return act, 6, q_target, q_max, q_hat
        return 0, 0, q_target, q_max, q_hat
    return 0, 0, 0.0, 0.0, 0.0


class ResetTargets:
    """Per-side reset targets of a band rule (mixed into :class:`BandPolicy` and the backtest's frozen rule):
    ``reset_lower`` / ``reset_upper`` [fraction], None = the paper's alpha_target."""

    alpha_target: float
    reset_lower: float | None
    reset_upper: float | None

    @property
    def reset_lower_target(self) -> float:
        """Where a lower breach restores alpha [fraction]: ``reset_lower`` or the paper's alpha_target."""
        return self.alpha_target if self.reset_lower is None else self.reset_lower

    @property
    def reset_upper_target(self) -> float:
        """Where an upper breach restores alpha [fraction]: ``reset_upper`` or the paper's alpha_target."""
        return self.alpha_target if self.reset_upper is None else self.reset_upper


@dataclass(frozen=True)
class BandPolicy(ResetTargets):
    """Frozen parameters of the band policy.

    alpha_* [fraction of capital]; kappa_fix: expected cumulative funding over the decision horizon [decimal];
    k_reb_fix: fixed rebalance cost budget [fraction of capital] used in eq. 47; q_min_usd [USD];
    buffer_bps [bps of notional]; *_budget_bps: per-side executable-cost budget [bps of notional]
    (defaults: k_reb_fix expressed in bps).
    """

    alpha_target: float
    alpha_lower: float
    alpha_upper: float
    kappa_fix: float
    k_reb_fix: float
    q_min_usd: float = 10_000.0
    buffer_bps: float = 10.0
    sell_budget_bps: float | None = None
    buy_budget_bps: float | None = None
    reset_lower: float | None = None
    reset_upper: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha_lower <= self.alpha_target <= self.alpha_upper < 1.0:
            raise ModelDomainError(
                "band must satisfy 0 < alpha_lower <= alpha_target <= alpha_upper < 1 "
                f"(got {self.alpha_lower:.4f}, {self.alpha_target:.4f}, {self.alpha_upper:.4f})"
            )
        if not self.alpha_lower <= self.reset_lower_target <= self.alpha_upper:
            raise ModelDomainError(f"reset_lower {self.reset_lower_target:.4f} must lie inside the band "
                                   f"[{self.alpha_lower:.4f}, {self.alpha_upper:.4f}]")
        if not self.alpha_lower <= self.reset_upper_target <= self.alpha_upper:
            raise ModelDomainError(f"reset_upper {self.reset_upper_target:.4f} must lie inside the band "
                                   f"[{self.alpha_lower:.4f}, {self.alpha_upper:.4f}]")
        if self.q_min_usd < 0 or self.buffer_bps < 0:
            raise ModelDomainError("q_min_usd and buffer_bps must be >= 0")

    @property
    def sell_budget(self) -> float:
        return self.sell_budget_bps if self.sell_budget_bps is not None else self.k_reb_fix * 1e4

    @property
    def buy_budget(self) -> float:
        return self.buy_budget_bps if self.buy_budget_bps is not None else self.k_reb_fix * 1e4


@dataclass(frozen=True)
class Decision:
    """The policy's answer: what to do, on which basis side, how much [USD spot notional], and why."""

    action: Action
    reason_code: Reason
    alpha: float
    q_target_usd: float
    q_max_usd: float
    q_hat_usd: float
    reason: str = field(default="")

    @property
    def basis_side(self) -> str | None:
        return BASIS_SIDE[self.action]

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action.name.lower(),
            "basis_side": self.basis_side,
            "reason_code": self.reason_code.name.lower(),
            "reason": self.reason,
            "alpha": self.alpha,
            "q_target_usd": self.q_target_usd,
            "q_max_usd": self.q_max_usd,
            "q_hat_usd": self.q_hat_usd,
        }


def _reset_name(reset: float | None) -> str:
    return "alpha_target" if reset is None else "reset target"


def _reason_text(r: Reason, alpha: float, p: BandPolicy, qt: float, qm: float, qh: float) -> str:
    a = f"alpha={alpha:.4f}"
    if r is Reason.IN_BAND:
        return f"{a} inside [{p.alpha_lower:.4f}, {p.alpha_upper:.4f}]: no rebalance"
    if r is Reason.LOWER_BREACH_EXECUTE:
        return (f"{a} < alpha_L={p.alpha_lower:.4f}: raise collateral (sell-basis) ${qh:,.0f} "
                f"of ${qt:,.0f} to restore {_reset_name(p.reset_lower)}={p.reset_lower_target:.4f}")
    if r is Reason.LOWER_BREACH_BELOW_QMIN:
        return (f"{a} < alpha_L={p.alpha_lower:.4f} but executable size ${qh:,.0f} < q_min ${p.q_min_usd:,.0f} "
                f"(Q^max ${qm:,.0f}): EMERGENCY path, restore ${qt:,.0f} at any cost")
    if r is Reason.UPPER_BREACH_EXECUTE:
        return (f"{a} > alpha_U={p.alpha_upper:.4f} and carry gain covers K_reb: lower collateral (buy-basis) "
                f"${qh:,.0f} of ${qt:,.0f}")
    if r is Reason.PERIODIC_RESET:
        return f"{a}: scheduled reset to alpha_target={p.alpha_target:.4f} (${qh:,.0f} of ${qt:,.0f})"
    if r is Reason.UPPER_BREACH_CARRY_BELOW_COST:
        gain = (alpha - p.reset_upper_target) * p.kappa_fix
        return (f"{a} > alpha_U={p.alpha_upper:.4f} but carry gain {gain * 1e4:.2f} bps < K_reb_fix "
                f"{p.k_reb_fix * 1e4:.2f} bps of capital: hold")
    return (f"{a} > alpha_U={p.alpha_upper:.4f} but executable size ${qh:,.0f} < q_min ${p.q_min_usd:,.0f}: hold")


def decide(
    alpha: float,
    equity_usd: float,
    policy: BandPolicy,
    sell_basis_cost: CostCurve,
    buy_basis_cost: CostCurve,
    reset_due: bool = False,
) -> Decision:
    """Apply Table VI to an observed state (alpha_t, equity V_t [USD]) with side-specific cost curves
    (``reset_due``: a scheduled reset to alpha_target is due, see ``decide_nb``)."""
    if not np.isfinite(alpha) or not np.isfinite(equity_usd) or equity_usd <= 0:
        raise ModelDomainError(f"policy needs finite alpha and equity > 0 (got alpha={alpha}, equity={equity_usd})")
    act, rc, qt, qm, qh = decide_nb(
        float(alpha), float(equity_usd), policy.alpha_target, policy.alpha_lower, policy.alpha_upper,
        policy.kappa_fix, policy.k_reb_fix, policy.q_min_usd, policy.buffer_bps,
        sell_basis_cost.notional_usd, sell_basis_cost.cost_bps, policy.sell_budget,
        buy_basis_cost.notional_usd, buy_basis_cost.cost_bps, policy.buy_budget,
        policy.reset_lower_target, policy.reset_upper_target, bool(reset_due),
    )
    action, reason = Action(int(act)), Reason(int(rc))
    return Decision(action, reason, float(alpha), float(qt), float(qm), float(qh),
                    _reason_text(reason, float(alpha), policy, float(qt), float(qm), float(qh)))
