"""The small contract every liquidation-risk model honours, and the pieces they share.

A *fitted* model is a frozen dataclass whose parameters are numpy arrays of one common shape ``(n,)``: one row
per calibration (e.g. one per rolling origin of the coverage study). A single fit is ``n = 1``. Every model
answers one question, the upward first-passage probability of the log price over a horizon,

    hit_prob(b, horizon_hours) = P( max_{0 <= t <= h} ln(p_t / p_0) >= b )        [probability]

for a log barrier ``b`` broadcast against the parameter rows. Everything else is derived here once:

* Pi_liq(alpha; h, theta_F) = hit_prob(b(alpha, theta_F), h) with b = -ln(1 + theta_F) - ln(1 - alpha), eq. (16);
* the barrier at budget epsilon, b_eps = inf{b : hit_prob(b, h) <= epsilon} (vectorised bisection, or a model's
  own ``barrier_at`` when it has a direct quantile: FHS, EVT);
* alpha at epsilon = 1 - exp(-b_eps) / (1 + theta_F). The barrier does not depend on theta_F, so one barrier per
  (origin, epsilon, h) serves every venue margin rule.

The short perp of a buy-basis position is liquidated by *up*-moves, so only the upper tail enters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import BasisctlError, ModelDomainError
from basisctl.model.static import log_barrier

FloatArray = NDArray[np.float64]

#: bisection tolerance on the log barrier; d alpha / d b <= 1, so this bounds the error in alpha too
BARRIER_TOL: float = 1e-9
#: log barrier searched up to this value (a 20x price move): beyond it the answer is "no alpha < 1 is safe"
B_MAX: float = 3.0


class ModelFitError(BasisctlError, ValueError):
    """A model cannot be calibrated from the data given (too short, too few exceedances, no convergence)."""


@dataclass(frozen=True)
class Bars:
    """Consecutive price bars of one asset: bar-open times [ns since epoch, UTC], close and high prices.

    ``bar_hours`` is the nominal bar length. Gaps are allowed (windows that need them are skipped by callers).
    """

    ts_ns: NDArray[np.int64]
    close: FloatArray
    high: FloatArray
    bar_hours: float

    def __len__(self) -> int:
        return int(self.close.size)

    @property
    def log_returns(self) -> FloatArray:
        """Close-to-close log returns (index i = return into bar i+1)."""
        return np.diff(np.log(self.close))

    @property
    def consecutive(self) -> NDArray[np.bool_]:
        """Whether bar i+1 follows bar i without a gap (aligned with ``log_returns``)."""
        return np.diff(self.ts_ns) == round(self.bar_hours * 3600e9)

    def span_text(self, lo: int = 0, hi: int | None = None) -> str:
        hi = len(self) if hi is None else hi
        if hi <= lo:
            return "no bars"
        a = np.datetime64(int(self.ts_ns[lo]), "ns").astype("datetime64[m]")
        b = np.datetime64(int(self.ts_ns[hi - 1]), "ns").astype("datetime64[m]")
        return f"{hi - lo} bars of {self.bar_hours:g}h, {a} -> {b}"


def bars_from_frame(candles: Any, bar_hours: float) -> Bars:
    """Bars from a candle frame (columns ts [bar open, UTC], high, close), sorted by time."""
    df = candles.sort_values("ts")
    ts = df["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return Bars(ts, df["close"].to_numpy(dtype=float), df["high"].to_numpy(dtype=float), float(bar_hours))


@runtime_checkable
class RiskModel(Protocol):
    """A fitted liquidation-risk model (parameters as arrays of one shape (n,))."""

    @property
    def name(self) -> str:
        """Model name (gbm, kou, fhs, evt, adaptive)."""
        ...

    @property
    def n(self) -> int:
        """Number of parameter rows."""
        ...

    def hit_prob(self, b: ArrayLike, horizon_hours: float) -> FloatArray:
        """P(max log return over ``horizon_hours`` >= b) per parameter row [probability]."""
        ...

    def params(self) -> dict[str, Any]:
        """Fitted parameters with units in their names (arrays, or floats when n = 1)."""
        ...


def require_returns(model: str, r: FloatArray, minimum: int, span: str) -> None:
    """A clear error when a model gets fewer than ``minimum`` returns."""
    if r.size < minimum:
        raise ModelFitError(
            f"{model}: too little data to calibrate ({r.size} returns in {span}; need at least {minimum})"
        )


def solve_barrier(model: RiskModel, epsilon: ArrayLike, horizon_hours: float, tol: float = BARRIER_TOL) -> FloatArray:
    """b_eps = smallest log barrier with hit_prob(b, h) <= epsilon, per parameter row (vectorised bisection).

    Models with a direct quantile (``barrier_at``) answer themselves. Rows where even ``B_MAX`` is not safe
    get +inf (no alpha < 1 meets the budget).
    """
    direct = getattr(model, "barrier_at", None)
    if direct is not None:
        return np.asarray(direct(epsilon, horizon_hours), dtype=float)
    eps = np.broadcast_to(np.asarray(epsilon, dtype=float), (model.n,))
    if np.any((eps <= 0) | (eps >= 1)):
        raise ModelDomainError("epsilon must lie in (0, 1)")
    lo = np.zeros(model.n)
    hi = np.full(model.n, B_MAX)
    unsafe = model.hit_prob(hi, horizon_hours) > eps
    for _ in range(int(np.ceil(np.log2(B_MAX / tol)))):
        mid = 0.5 * (lo + hi)
        ok = model.hit_prob(mid, horizon_hours) <= eps
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(unsafe, np.inf, hi)


def alpha_of_barrier(b: ArrayLike, theta_f: ArrayLike) -> FloatArray:
    """alpha whose liquidation barrier is b: 1 - exp(-b)/(1 + theta_F) [fraction of capital]; b = inf -> 1."""
    return 1.0 - np.exp(-np.asarray(b, dtype=float)) / (1.0 + np.asarray(theta_f, dtype=float))


def pi_liq(model: RiskModel, alpha: ArrayLike, theta_f: ArrayLike, horizon_hours: float) -> FloatArray:
    """Pi_liq(alpha; h, theta_F) under ``model`` [probability]; alpha at or below alpha_liq gives 1."""
    b = log_barrier(alpha, theta_f)
    return np.where(b <= 0.0, 1.0, model.hit_prob(np.maximum(b, 1e-300), horizon_hours))


def alpha_at(model: RiskModel, epsilon: ArrayLike, theta_f: ArrayLike, horizon_hours: float) -> FloatArray:
    """Smallest alpha with Pi_liq(alpha; h, theta_F) <= epsilon under ``model`` [fraction of capital]."""
    return alpha_of_barrier(solve_barrier(model, epsilon, horizon_hours), theta_f)


def scalar_params(d: dict[str, Any]) -> dict[str, Any]:
    """Arrays of length 1 become floats (for single fits printed as JSON)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        a = np.asarray(v)
        out[k] = a.item() if a.size == 1 else a.tolist()
    return out
