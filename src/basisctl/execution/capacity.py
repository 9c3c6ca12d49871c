"""Strategy capacity from side-specific cost curves (paper Sec. XI.C, eqs. 65-68).

Derivation of φ_s (eq. 65; the paper leaves it open). Write the vault as spot S = Q·p and margin M, equity
V = S + M, α = M / V. A rebalance of spot notional q moves q dollars between the two accounts and changes the
perp short by the same notional (delta neutrality, eq. 8), so V is unchanged up to the trade's cost:
sell-basis: S → S − q, M → M + q, α → α + q / V; buy-basis: S → S + q, M → M − q, α → α − q / V.
Restoring α_t to α† therefore needs q*_s = |α_t − α†| · V_t, i.e. φ_s(α_t, α†) = |α_t − α†| (the same
one-dollar-per-1/V sensitivity as eq. 31). Costs shrink V by c·q; that second-order term is ignored.

Capacity is evaluated at each side's trigger: sell-basis (raise collateral) at α_t = α_L, buy-basis (lower
collateral) at α_t = α_U, the smallest reallocations the band ever asks for; deeper breaches (gaps past the band)
need more and are available through ``alpha_sell`` / ``alpha_buy``. With admissible sets [q_min, Q^max]:
V^max_s = Q^max_s / φ_s (eq. 66) and, as a by-product, V^min_s = q_min / φ_s below which a triggered
rebalance is smaller than q_min. If Q^max_s < q_min the side has no admissible size and V^max_s = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from basisctl.errors import ModelDomainError
from basisctl.execution.costs import q_max
from basisctl.model.policy import CostCurve


def phi(alpha_t: float, alpha_target: float) -> float:
    """φ_s(α_t, α†) = |α_t − α†| [fraction of equity to reallocate]."""
    for name, a in (("alpha_t", alpha_t), ("alpha_target", alpha_target)):
        if not 0.0 < a < 1.0:
            raise ModelDomainError(f"{name} must be in (0, 1) (got {a})")
    return abs(alpha_t - alpha_target)


def q_star(alpha_t: float, alpha_target: float, equity_usd: float) -> float:
    """q*_s(t) = φ_s · V_t (eq. 65) [USD spot notional]."""
    if equity_usd <= 0:
        raise ModelDomainError("equity_usd must be > 0")
    return phi(alpha_t, alpha_target) * equity_usd


def v_max_side(q_max_usd: float, phi_s: float, q_min_usd: float = 0.0) -> float:
    """V^max_s = Q^max_s / φ_s (eq. 66) [USD equity]; inf for φ = 0; 0 when Q^max_s < q_min_s."""
    if q_max_usd < q_min_usd:
        return 0.0
    return np.inf if phi_s == 0 else q_max_usd / phi_s


@dataclass(frozen=True)
class CapacityReport:
    """V^max over a history of cost curves and its conservative quantile V^max_safe (eqs. 66-68) [USD]."""

    ts_ms: NDArray[np.int64]
    q_max_buy_usd: NDArray[np.float64]
    q_max_sell_usd: NDArray[np.float64]
    phi_buy: float
    phi_sell: float
    q_min_usd: float
    p: float

    @property
    def v_max_buy_usd(self) -> NDArray[np.float64]:
        return np.array([v_max_side(q, self.phi_buy, self.q_min_usd) for q in self.q_max_buy_usd])

    @property
    def v_max_sell_usd(self) -> NDArray[np.float64]:
        return np.array([v_max_side(q, self.phi_sell, self.q_min_usd) for q in self.q_max_sell_usd])

    @property
    def v_max_usd(self) -> NDArray[np.float64]:
        """V^max(t) = min(V^max_buy, V^max_sell) (eq. 67)."""
        return np.minimum(self.v_max_buy_usd, self.v_max_sell_usd)

    @property
    def v_max_safe_usd(self) -> float:
        """Quantile_p of V^max(t) (eq. 68; p = 0.25 by default). Lower-interpolated: an observed value."""
        return float(np.quantile(self.v_max_usd, self.p, method="lower"))

    @property
    def v_min_usd(self) -> float:
        """Smallest equity at which both sides' triggered rebalances reach q_min [USD]."""
        vals = [self.q_min_usd / f if f > 0 else np.inf for f in (self.phi_buy, self.phi_sell)]
        return float(max(vals))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"ts": pd.to_datetime(self.ts_ms, unit="ms", utc=True),
                             "q_max_buy_usd": self.q_max_buy_usd, "q_max_sell_usd": self.q_max_sell_usd,
                             "v_max_buy_usd": self.v_max_buy_usd, "v_max_sell_usd": self.v_max_sell_usd,
                             "v_max_usd": self.v_max_usd})

    def to_dict(self) -> dict[str, object]:
        last = -1
        return {"observations": int(self.ts_ms.size), "phi_buy": self.phi_buy, "phi_sell": self.phi_sell,
                "q_min_usd": self.q_min_usd,
                "q_star_buy_per_usd_equity": self.phi_buy, "q_star_sell_per_usd_equity": self.phi_sell,
                "q_max_buy_usd": float(self.q_max_buy_usd[last]), "q_max_sell_usd": float(self.q_max_sell_usd[last]),
                "v_max_buy_usd": float(self.v_max_buy_usd[last]), "v_max_sell_usd": float(self.v_max_sell_usd[last]),
                "v_max_usd": float(self.v_max_usd[last]), "v_max_safe_usd": self.v_max_safe_usd,
                "v_max_safe_quantile": self.p, "v_min_usd": self.v_min_usd}

    def summary(self) -> str:
        d = self.to_dict()
        return (f"capacity over {d['observations']} cost observation(s): V^max = ${d['v_max_usd']:,.0f} "
                f"(buy-basis ${d['v_max_buy_usd']:,.0f}, sell-basis ${d['v_max_sell_usd']:,.0f}); "
                f"V^max_safe (p={self.p}) = ${self.v_max_safe_usd:,.0f}")


def capacity_from_curves(
    buy_curves: Sequence[CostCurve],
    sell_curves: Sequence[CostCurve],
    *,
    alpha_target: float,
    alpha_lower: float,
    alpha_upper: float,
    buy_budget_bps: float,
    sell_budget_bps: float,
    buffer_bps: float = 0.0,
    q_min_usd: float = 0.0,
    p: float = 0.25,
    ts_ms: Sequence[int] | None = None,
    alpha_buy: float | None = None,
    alpha_sell: float | None = None,
) -> CapacityReport:
    """Capacity (eqs. 65-68) from aligned histories of buy-basis and sell-basis cost curves.

    Q^max_s(t) = sup{q : Ĉ_s(q, t) + buffer <= budget_s}; φ_buy at α_U (or ``alpha_buy``), φ_sell at α_L
    (or ``alpha_sell``); budgets [bps of notional], q_min [USD], p the V^max_safe quantile.
    """
    if len(buy_curves) != len(sell_curves) or not buy_curves:
        raise ModelDomainError("need equally many (>= 1) buy-basis and sell-basis cost curves")
    if not 0.0 < alpha_lower <= alpha_target <= alpha_upper < 1.0:
        raise ModelDomainError("band must satisfy 0 < alpha_lower <= alpha_target <= alpha_upper < 1")
    if not 0.0 < p < 1.0:
        raise ModelDomainError("p must be in (0, 1)")
    ts = np.arange(len(buy_curves), dtype=np.int64) if ts_ms is None else np.asarray(ts_ms, dtype=np.int64)
    qb = np.array([q_max(c, buy_budget_bps, buffer_bps) for c in buy_curves])
    qs = np.array([q_max(c, sell_budget_bps, buffer_bps) for c in sell_curves])
    return CapacityReport(ts, qb, qs, phi(alpha_upper if alpha_buy is None else alpha_buy, alpha_target),
                          phi(alpha_lower if alpha_sell is None else alpha_sell, alpha_target), float(q_min_usd), p)
