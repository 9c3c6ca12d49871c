"""Side-specific execution cost functions (paper Sec. XI, eqs. 53-64) that the band policy consumes.

Sides are *basis directions* (Sec. III): ``buy-basis`` = buy spot + sell perp, ``sell-basis`` = sell spot + buy
perp. The band policy maps a lower-band breach (raise collateral) to sell-basis and an upper-band breach (lower
collateral) to buy-basis (see :mod:`basisctl.model.policy`).

* :class:`InstantCost` is C^inst_s(q, t) = C_spot + C_perp + F_s (eqs. 55-56) [bps of notional], each leg
  priced against its own mid with LP / venue fees included, F_s = fixed USD frictions / q.
* :class:`CostHistory` + :func:`smoothed_cost` give Ĉ_s (eq. 58): rolling median, stressed quantile or a
  parametric fit a + b·(q / $1M)^γ over the window [t − Δ, t] (never later observations).
* :func:`q_max`, :func:`admissible_set`, :func:`feasible` implement eqs. 59-64; :class:`FixedCostBudget`
  turns the fixed friction layer into q_min (the paper's ≈ $10k).

Every cost function exports ``to_cost_curve`` -> :class:`basisctl.model.policy.CostCurve`, the object
``decide()`` takes. Sizes the venues cannot fill are given :data:`INFEASIBLE_BPS`, so Q^max never extends past
them, and a curve ends with an INFEASIBLE point just past its sampled range (it never claims unmeasured depth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import DataValidationError, ModelDomainError, ValidationIssue
from basisctl.execution.orderbook import L2Book, PerpFees, impact_cost_bps
from basisctl.execution.uniswap_v3 import SwapResult, V3Pool
from basisctl.model.policy import CostCurve

BasisSide = Literal["buy-basis", "sell-basis"]
SIDES: tuple[BasisSide, BasisSide] = ("buy-basis", "sell-basis")
#: Cost [bps] standing for "cannot be filled at this size" (finite so CostCurve accepts it).
INFEASIBLE_BPS: float = 1e6


def _check_side(side: str) -> BasisSide:
    if side not in SIDES:
        raise ModelDomainError(f"side must be 'buy-basis' or 'sell-basis' (got {side!r})")
    return side


def _sizes(notional_usd: ArrayLike) -> NDArray[np.float64]:
    q = np.atleast_1d(np.asarray(notional_usd, dtype=np.float64))
    if np.any(~np.isfinite(q)) or np.any(q <= 0):
        raise ModelDomainError("notional_usd must be finite and > 0")
    return q


class Leg(Protocol):
    """One leg's all-in cost [bps of notional] against its mid; inf where the venue cannot fill the size."""

    @property
    def name(self) -> str: ...  # read-only: the frozen dataclass legs satisfy it

    def cost_bps(self, side: BasisSide, notional_usd: ArrayLike) -> NDArray[np.float64]: ...


# ------------------------------------------------------------------------------------------------ spot legs
@dataclass(frozen=True)
class UniswapV3SpotLeg:
    """Spot leg on one Uniswap v3 pool. ``base_symbol`` is the traded asset's token (e.g. WETH); the other
    token is the quote, valued at ``quote_usd`` USD (1.0 for USDC). Buy-basis buys base with quote (exact-in
    quote); sell-basis sells base worth q at mid (exact-in base). Cost includes the LP fee.

    One convention on both sides (docs/conventions.md): C_s(q) [bps] = USD lost against mid / USD notional q
    x 1e4, so C_s(q) x q is the USD that leaves the book. Buy: (q - base received x mid) / q; sell:
    (q - quote received x quote_usd) / q."""

    pool: V3Pool
    base_symbol: str
    quote_usd: float = 1.0
    name: str = "uniswap_v3"
    _curve: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_symbol not in (self.pool.token0.symbol, self.pool.token1.symbol):
            raise ModelDomainError(f"{self.base_symbol} is not a token of the pool "
                                   f"({self.pool.token0.symbol}/{self.pool.token1.symbol})")
        object.__setattr__(self, "_curve", self.pool.float_curve())

    @property
    def base_is_token0(self) -> bool:
        return self.pool.token0.symbol == self.base_symbol

    @property
    def mid_usd(self) -> float:
        """Mid price of the base token [USD]."""
        return self.pool.price_of(self.base_symbol) * self.quote_usd

    def _tokens(self) -> tuple[int, int]:
        b, q = (self.pool.token0, self.pool.token1) if self.base_is_token0 else (self.pool.token1, self.pool.token0)
        return b.decimals, q.decimals

    def cost_bps(self, side: BasisSide, notional_usd: ArrayLike) -> NDArray[np.float64]:
        """Float fast path (vectorised)."""
        side = _check_side(side)
        q = _sizes(notional_usd)
        db, dq = self._tokens()
        mid = self.mid_usd
        curve = self._curve
        if side == "buy-basis":  # quote in, base out
            zfo = not self.base_is_token0
            out, ok = curve.exact_in(zfo, q / self.quote_usd * 10.0**dq)  # type: ignore[attr-defined]
            c = (1.0 - (out / 10.0**db * mid) / q) * 1e4  # USD lost vs mid / USD notional (docs/conventions.md)
        else:  # base in, quote out
            zfo = self.base_is_token0
            out, ok = curve.exact_in(zfo, q / mid * 10.0**db)  # type: ignore[attr-defined]
            c = (1.0 - (out / 10.0**dq * self.quote_usd) / q) * 1e4
        return np.where(ok, c, np.inf)

    def exact(self, side: BasisSide, notional_usd: float) -> tuple[float, SwapResult]:
        """Exact integer path for one size: (cost [bps], SwapResult)."""
        side = _check_side(side)
        q = float(_sizes(notional_usd)[0])
        db, dq = self._tokens()
        mid = self.mid_usd
        if side == "buy-basis":
            amt = round(q / self.quote_usd * 10**dq)
            r = self.pool.swap_exact_in(not self.base_is_token0, amt)
            got = r.amount_out / 10**db
            spent_usd = r.amount_in / 10**dq * self.quote_usd
            cost = (1.0 - got * mid / spent_usd) * 1e4 if spent_usd > 0 else float("inf")
        else:
            amt = round(q / mid * 10**db)
            r = self.pool.swap_exact_in(self.base_is_token0, amt)
            cost = (1.0 - (r.amount_out / 10**dq * self.quote_usd) / (r.amount_in / 10**db * mid)) * 1e4
        return (cost if r.complete else float("inf")), r


@dataclass(frozen=True)
class ParametricSpotLeg:
    """Parametric spot cost for assets without a pool snapshot [bps of notional]:
    c(q) = fee_bps + half_spread_bps + impact_bps_at_1m · (q / $1M)^exponent (square-root law by default),
    times ``sell_multiplier`` on the sell-basis side. Monotone non-decreasing in q by construction."""

    fee_bps: float
    impact_bps_at_1m: float
    half_spread_bps: float = 0.0
    exponent: float = 0.5
    sell_multiplier: float = 1.0
    name: str = "parametric"

    def __post_init__(self) -> None:
        if min(self.fee_bps, self.impact_bps_at_1m, self.half_spread_bps) < 0 or self.exponent <= 0 \
                or self.sell_multiplier <= 0:
            raise ModelDomainError("parametric spot cost needs fee, spread, impact >= 0 and exponent, "
                                   "sell_multiplier > 0")

    def cost_bps(self, side: BasisSide, notional_usd: ArrayLike) -> NDArray[np.float64]:
        side = _check_side(side)
        q = _sizes(notional_usd)
        c = self.fee_bps + self.half_spread_bps + self.impact_bps_at_1m * (q / 1e6) ** self.exponent
        return c * (self.sell_multiplier if side == "sell-basis" else 1.0)


# ------------------------------------------------------------------------------------------------ perp leg
@dataclass(frozen=True)
class OrderBookPerpLeg:
    """Perp leg as a taker against an L2 book. Buy-basis sells perp (hits bids); sell-basis buys perp (lifts
    asks). Cost = impact vs mid + taker fee [bps]; inf beyond the book's depth."""

    book: L2Book
    fees: PerpFees = field(default_factory=PerpFees)
    name: str = "l2book"

    def cost_bps(self, side: BasisSide, notional_usd: ArrayLike) -> NDArray[np.float64]:
        side = _check_side(side)
        return impact_cost_bps(self.book, "sell" if side == "buy-basis" else "buy", _sizes(notional_usd),
                               self.fees)


@dataclass(frozen=True)
class FlatLeg:
    """A size-independent leg cost [bps] (e.g. the paper's Table VIII backtest schedule split per leg)."""

    bps: float
    name: str = "flat"

    def cost_bps(self, side: BasisSide, notional_usd: ArrayLike) -> NDArray[np.float64]:
        _check_side(side)
        return np.full(_sizes(notional_usd).shape, float(self.bps))


# ------------------------------------------------------------------------------------------- fixed layer
@dataclass(frozen=True)
class FixedFrictions:
    """Per-trade fixed charges F_s [USD]: gas, withdrawal (e.g. Hyperliquid bridge withdrawal), bridge, other.
    In bps of notional they are F / q · 1e4, which falls with size."""

    gas_usd: float = 0.0
    withdrawal_usd: float = 0.0
    bridge_usd: float = 0.0
    other_usd: float = 0.0

    def __post_init__(self) -> None:
        if min(self.gas_usd, self.withdrawal_usd, self.bridge_usd, self.other_usd) < 0:
            raise ModelDomainError("fixed frictions must be >= 0 USD")

    @property
    def total_usd(self) -> float:
        return self.gas_usd + self.withdrawal_usd + self.bridge_usd + self.other_usd

    def bps(self, notional_usd: ArrayLike) -> NDArray[np.float64]:
        return self.total_usd / _sizes(notional_usd) * 1e4


@dataclass(frozen=True)
class FixedCostBudget:
    """The fixed-cost budget behind q_min (eq. 61): the smallest trade whose fixed frictions stay within
    ``max_fixed_bps`` of notional, q_min = F / max_fixed_bps · 1e4 [USD]. $1 withdrawal + $1 gas at 2 bps
    gives $10k, the paper's order of magnitude."""

    frictions: FixedFrictions
    max_fixed_bps: float

    def __post_init__(self) -> None:
        if self.max_fixed_bps <= 0:
            raise ModelDomainError("max_fixed_bps must be > 0")

    @property
    def q_min_usd(self) -> float:
        return self.frictions.total_usd / self.max_fixed_bps * 1e4


# -------------------------------------------------------------------------------------- instant cost (55/56)
@dataclass(frozen=True)
class CostBreakdown:
    """C^inst_s(q) split by leg [bps of notional]; notional_usd [USD]."""

    side: BasisSide
    notional_usd: float
    spot_bps: float
    perp_bps: float
    fixed_bps: float

    @property
    def total_bps(self) -> float:
        return self.spot_bps + self.perp_bps + self.fixed_bps

    def to_dict(self) -> dict[str, object]:
        return {"side": self.side, "notional_usd": self.notional_usd, "spot_bps": self.spot_bps,
                "perp_bps": self.perp_bps, "fixed_bps": self.fixed_bps, "total_bps": self.total_bps}


@dataclass(frozen=True)
class InstantCost:
    """C^inst_s(q, t) = C_spot(q) + C_perp(q) + F_s / q (eqs. 55-56) for one side at one instant."""

    side: BasisSide
    spot: Leg
    perp: Leg
    fixed: FixedFrictions = field(default_factory=FixedFrictions)

    def __post_init__(self) -> None:
        _check_side(self.side)

    def breakdown(self, notional_usd: float) -> CostBreakdown:
        q = float(_sizes(notional_usd)[0])
        return CostBreakdown(self.side, q, float(self.spot.cost_bps(self.side, q)[0]),
                             float(self.perp.cost_bps(self.side, q)[0]), float(self.fixed.bps(q)[0]))

    def cost_bps(self, notional_usd: ArrayLike) -> NDArray[np.float64]:
        """Total cost [bps] for each size (inf where a leg cannot fill)."""
        q = _sizes(notional_usd)
        return self.spot.cost_bps(self.side, q) + self.perp.cost_bps(self.side, q) + self.fixed.bps(q)

    def __call__(self, notional_usd: float) -> float:
        return float(self.cost_bps(notional_usd)[0])

    def to_cost_curve(self, max_notional_usd: float, points: int = 64, q_min_usd: float = 0.0) -> CostCurve:
        """Sample on a geometric grid from q_min (or max/1e4) to ``max_notional_usd`` into a policy CostCurve.

        The curve is the running maximum of C from its first point (a conservative monotone envelope: the fixed
        layer makes C fall with size at small q, and the policy's eqs. 59-60 need a non-decreasing curve).
        Sizes the venues cannot fill get INFEASIBLE_BPS and a final INFEASIBLE point just past the grid stops
        Q^max from extending past what was measured.
        """
        return curve_from_samples(*sample_grid(self.cost_bps, max_notional_usd, points, q_min_usd))


def sample_grid(fn: object, max_notional_usd: float, points: int = 64,
                q_min_usd: float = 0.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Evaluate a vectorised cost function [bps] on the geometric grid used by ``to_cost_curve``."""
    if not np.isfinite(max_notional_usd) or max_notional_usd <= 0:
        raise ModelDomainError("max_notional_usd must be finite and > 0")
    lo = q_min_usd if q_min_usd > 0 else max_notional_usd * 1e-4
    if lo >= max_notional_usd:
        raise ModelDomainError(f"q_min_usd ({q_min_usd}) must be below max_notional_usd ({max_notional_usd})")
    q = np.geomspace(lo, max_notional_usd, max(points, 2))
    return q, np.asarray(fn(q), dtype=np.float64)  # type: ignore[operator]


def curve_from_samples(q: NDArray[np.float64], c: NDArray[np.float64], cap_infeasible: bool = True) -> CostCurve:
    """Monotone envelope of sampled costs as a CostCurve (inf/nan -> INFEASIBLE_BPS)."""
    c = np.where(np.isfinite(c), np.minimum(c, INFEASIBLE_BPS), INFEASIBLE_BPS)
    c = np.maximum.accumulate(c)
    if cap_infeasible:
        q = np.append(q, q[-1] * (1.0 + 1e-9))
        c = np.append(c, INFEASIBLE_BPS)
    return CostCurve(q, c)


# ---------------------------------------------------------------------------------------- smoothing (58)
@dataclass(frozen=True)
class CostHistory:
    """Observed cost curves of one side on a common size grid: ts_ms (T,), notional_usd (K,), cost_bps (T, K)
    [bps; inf/INFEASIBLE where not fillable]. Rows sorted by time."""

    side: BasisSide
    ts_ms: NDArray[np.int64]
    notional_usd: NDArray[np.float64]
    cost_bps: NDArray[np.float64]

    def __post_init__(self) -> None:
        _check_side(self.side)
        if self.cost_bps.shape != (self.ts_ms.size, self.notional_usd.size) or self.ts_ms.size == 0:
            raise ModelDomainError("cost history needs cost_bps of shape (len(ts_ms), len(notional_usd)) > 0")
        if np.any(np.diff(self.ts_ms) < 0) or np.any(np.diff(self.notional_usd) <= 0):
            raise ModelDomainError("cost history: ts_ms must be sorted, notional_usd strictly increasing")

    @classmethod
    def from_costs(cls, side: BasisSide, costs: list[tuple[int, InstantCost | CostCurve]],
                   notional_usd: ArrayLike) -> CostHistory:
        """Evaluate a time series of cost functions on one grid."""
        grid = _sizes(notional_usd)
        rows: list[list[float] | NDArray[np.float64]] = []
        for _, fn in costs:
            if isinstance(fn, CostCurve):
                rows.append([fn(x) for x in grid])
            else:
                rows.append(fn.cost_bps(grid))
        ts = np.array([t for t, _ in costs], dtype=np.int64)
        order = np.argsort(ts, kind="stable")
        return cls(side, ts[order], grid, np.asarray(rows, dtype=np.float64)[order])

    @classmethod
    def from_frame(cls, df: pd.DataFrame, side: BasisSide, source: str = "<frame>") -> CostHistory:
        """Long format: columns ts (datetime or epoch ms), side, notional_usd, cost_bps."""
        need = ["ts", "side", "notional_usd", "cost_bps"]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise DataValidationError(source, [ValidationIssue(None, m, "a column of the cost history")
                                               for m in missing])
        d = df[df["side"] == side]
        if d.empty:
            raise DataValidationError(source, [ValidationIssue(None, "side", f"rows with side == {side!r}", "none")])
        ts = d["ts"]
        if pd.api.types.is_integer_dtype(ts.dtype):
            ts_ms = ts.astype("int64")
        else:
            ts_ms = pd.to_datetime(ts, utc=True).map(lambda x: int(x.timestamp() * 1000))
        wide = pd.DataFrame({"ts": ts_ms.to_numpy(), "q": d["notional_usd"].astype(float).to_numpy(),
                             "c": d["cost_bps"].astype(float).to_numpy()}).pivot_table(
            index="ts", columns="q", values="c", aggfunc="last").sort_index()
        if wide.isna().any().any():
            raise DataValidationError(source, [ValidationIssue(None, "notional_usd",
                                                               "the same size grid at every timestamp",
                                                               "grids differ")])
        return cls(side, wide.index.to_numpy(np.int64), wide.columns.to_numpy(np.float64),
                   wide.to_numpy(np.float64))

    def window(self, asof_ms: int, window_ms: int) -> NDArray[np.float64]:
        """Rows with ts in [asof − window, asof] (no observation after ``asof``)."""
        m = (self.ts_ms <= asof_ms) & (self.ts_ms >= asof_ms - window_ms)
        return self.cost_bps[m]


SmoothMethod = Literal["median", "quantile", "parametric"]


def smoothed_cost(history: CostHistory, asof_ms: int, window_ms: int, method: SmoothMethod = "median",
                  quantile: float = 0.9, exponent: float = 0.5) -> CostCurve:
    """Ĉ_s(q, t) (eq. 58) from the window [t − Δ, t] as a policy CostCurve.

    median: pointwise median; quantile: pointwise ``quantile`` (stressed, e.g. 0.9); parametric: least squares
    c = a + b·(q / $1M)^exponent with b >= 0 over all fillable observations, kept INFEASIBLE where the window's
    median is not fillable. Pointwise order statistics of non-decreasing curves are non-decreasing.
    """
    rows = history.window(asof_ms, window_ms)
    if rows.shape[0] == 0:
        raise ModelDomainError(f"no {history.side} cost observations in the window ending at {asof_ms}")
    c = np.where(np.isfinite(rows), np.minimum(rows, INFEASIBLE_BPS), INFEASIBLE_BPS)
    q = history.notional_usd
    if method == "median":
        out = np.median(c, axis=0)
    elif method == "quantile":
        if not 0.0 < quantile < 1.0:
            raise ModelDomainError("quantile must be in (0, 1)")
        out = np.quantile(c, quantile, axis=0)
    elif method == "parametric":
        ok = c < INFEASIBLE_BPS
        x = np.broadcast_to((q / 1e6) ** exponent, c.shape)[ok]
        y = c[ok]
        if y.size < 2:
            raise ModelDomainError("parametric fit needs at least two fillable observations")
        xm, ym = x.mean(), y.mean()
        sxx = float(np.sum((x - xm) ** 2))
        b = max(float(np.sum((x - xm) * (y - ym))) / sxx, 0.0) if sxx > 0 else 0.0
        a = ym - b * xm
        out = a + b * (q / 1e6) ** exponent
        out = np.where(np.median(c, axis=0) >= INFEASIBLE_BPS, INFEASIBLE_BPS, out)
    else:
        raise ModelDomainError(f"method must be median, quantile or parametric (got {method!r})")
    return curve_from_samples(q, out)


# ---------------------------------------------------------------------------------- admissible sizes (59-64)
def q_max(curve: CostCurve, budget_bps: float, buffer_bps: float = 0.0, cap_usd: float = np.inf) -> float:
    """Q^max_s = sup{q >= 0 : Ĉ_s(q) + b <= K^max_s} (eqs. 59-60) [USD]; 0 if even the smallest size fails."""
    return curve.max_size(budget_bps - buffer_bps, cap_usd)


def q_max_by_leg(spot: CostCurve, perp: CostCurve, spot_budget_bps: float, perp_budget_bps: float) -> float:
    """Leg-by-leg variant below eq. 60: min of each leg's admissible size under its own budget [USD]."""
    return min(spot.max_size(spot_budget_bps), perp.max_size(perp_budget_bps))


@dataclass(frozen=True)
class AdmissibleSet:
    """𝒬_s = [q_min_s, Q^max_s] (eq. 62) [USD]; empty when Q^max_s < q_min_s."""

    side: BasisSide
    q_min_usd: float
    q_max_usd: float

    @property
    def empty(self) -> bool:
        return self.q_max_usd < self.q_min_usd

    def __contains__(self, q: float) -> bool:
        return (not self.empty) and self.q_min_usd <= q <= self.q_max_usd


def admissible_set(side: BasisSide, curve: CostCurve, budget_bps: float, q_min_usd: float,
                   buffer_bps: float = 0.0) -> AdmissibleSet:
    """Eqs. 61-62."""
    if q_min_usd < 0:
        raise ModelDomainError("q_min_usd must be >= 0")
    return AdmissibleSet(_check_side(side), float(q_min_usd), q_max(curve, budget_bps, buffer_bps))


@dataclass(frozen=True)
class Feasibility:
    """Eqs. 63-64 resolved to basis sides: region 'lower' -> sell-basis, 'upper' -> buy-basis, 'inside'."""

    region: Literal["lower", "upper", "inside"]
    side: BasisSide | None
    q_star_usd: float
    feasible: bool


def feasible(alpha: float, alpha_lower: float, alpha_upper: float, q_star_usd: float,
             sell_basis_set: AdmissibleSet, buy_basis_set: AdmissibleSet) -> Feasibility:
    """A lower-side intervention is feasible iff alpha < alpha_L and q* lies in the sell-basis admissible set;
    an upper-side one iff alpha > alpha_U and q* lies in the buy-basis set (eqs. 63-64, the paper's
    buy/sell-collateral labels mapped to basis directions as in :mod:`basisctl.model.policy`)."""
    if alpha < alpha_lower:
        return Feasibility("lower", "sell-basis", q_star_usd, q_star_usd in sell_basis_set)
    if alpha > alpha_upper:
        return Feasibility("upper", "buy-basis", q_star_usd, q_star_usd in buy_basis_set)
    return Feasibility("inside", None, q_star_usd, False)


def build_instant_costs(spot: Leg, perp: Leg, fixed: FixedFrictions | None = None) -> dict[BasisSide, InstantCost]:
    """Both sides' C^inst from one spot leg and one perp leg."""
    f = fixed or FixedFrictions()
    return {s: InstantCost(s, spot, perp, f) for s in SIDES}
