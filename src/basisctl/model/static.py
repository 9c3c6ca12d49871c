"""Static collateral control (paper Sections V-VII): barrier, closed-form liquidation probability, Variants 1/2.

Conventions
-----------
alpha : share of capital posted as perp margin [fraction of capital, in (0, 1)]
theta_f : maintenance margin fraction of the venue [fraction of notional]
sigma : annualised volatility of log spot returns [1/sqrt(yr)], 8760 h/yr
horizon_years : review horizon h [yr]; 1 day = 1/365 yr
mu : annual drift of the spot GBM [1/yr]; default 0 (then the log drift is -sigma^2/2)
kappa : expected cumulative funding carry over the horizon [decimal of notional], e.g. 1.7 bps = 1.7e-4
lgd : loss given liquidation [fraction of capital D]

Every function broadcasts over numpy arrays, so a whole venue x asset x lookback x stress grid is one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_ndtr

from basisctl.errors import ModelDomainError

FloatArray = NDArray[np.float64]

ALPHA_TOL: float = 1e-10  # bisection tolerance in alpha (well inside the 1e-6 promise)


def _check_positive(name: str, x: FloatArray) -> None:
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        bad = float(x[~(np.isfinite(x) & (x > 0))].ravel()[0])
        raise ModelDomainError(f"{name} must be finite and > 0 (got {bad!r})")


def _check_open_unit(name: str, x: FloatArray) -> None:
    if not np.all(np.isfinite(x)) or np.any((x <= 0) | (x >= 1)):
        bad = float(x[~(np.isfinite(x) & (x > 0) & (x < 1))].ravel()[0])
        raise ModelDomainError(f"{name} must lie in the open interval (0, 1) (got {bad!r})")


def alpha_liq(theta_f: ArrayLike) -> FloatArray:
    """Collateral share at which the position is liquidated: theta_f / (1 + theta_f) [fraction of capital]."""
    th = np.asarray(theta_f, dtype=float)
    _check_open_unit("theta_f", th)
    return th / (1.0 + th)


def barrier_z(alpha: ArrayLike, theta_f: ArrayLike) -> FloatArray:
    """Liquidation barrier on the price ratio p_t/p_0, eq. (16): z = 1 / ((1 + theta_f)(1 - alpha))."""
    a = np.asarray(alpha, dtype=float)
    th = np.asarray(theta_f, dtype=float)
    _check_open_unit("alpha", a)
    _check_open_unit("theta_f", th)
    return 1.0 / ((1.0 + th) * (1.0 - a))


def log_barrier(alpha: ArrayLike, theta_f: ArrayLike) -> FloatArray:
    """b = ln z(alpha) [log price ratio]; b <= 0 means the position is already at/through liquidation."""
    a = np.asarray(alpha, dtype=float)
    th = np.asarray(theta_f, dtype=float)
    return -np.log1p(th) - np.log1p(-a)


def hit_probability_log_barrier(
    b: ArrayLike, sigma: ArrayLike, horizon_years: ArrayLike, mu: ArrayLike = 0.0
) -> FloatArray:
    """P(max_{t<=h} ln(p_t/p_0) >= b) for GBM with drift mu and volatility sigma (first passage upward).

    Closed form (Borodin-Salminen): Phi((-b + m h)/(s)) + exp(2 m b / sigma^2) Phi((-b - m h)/s),
    m = mu - sigma^2/2, s = sigma sqrt(h). Evaluated in log space so no term overflows. b <= 0 gives 1.
    """
    b_ = np.asarray(b, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    h = np.asarray(horizon_years, dtype=float)
    m = np.asarray(mu, dtype=float) - 0.5 * sig * sig
    s = sig * np.sqrt(h)
    bp = np.maximum(b_, 0.0)
    t1 = log_ndtr((-bp + m * h) / s)
    t2 = 2.0 * m * bp / (sig * sig) + log_ndtr((-bp - m * h) / s)
    p = np.exp(np.logaddexp(t1, t2))
    return np.where(b_ <= 0.0, 1.0, np.clip(p, 0.0, 1.0))


def pi_liq(
    alpha: ArrayLike,
    sigma: ArrayLike,
    theta_f: ArrayLike,
    horizon_years: ArrayLike,
    mu: ArrayLike = 0.0,
) -> FloatArray:
    """Closed-form liquidation probability Pi_liq(alpha; h), eq. (17) [probability].

    alpha <= alpha_liq (barrier at or below the current price) returns 1.
    """
    a = np.asarray(alpha, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    th = np.asarray(theta_f, dtype=float)
    h = np.asarray(horizon_years, dtype=float)
    _check_open_unit("alpha", a)
    _check_open_unit("theta_f", th)
    _check_positive("sigma", sig)
    _check_positive("horizon", h)
    return hit_probability_log_barrier(log_barrier(a, th), sig, h, mu)


def hedge_leverage(alpha: ArrayLike) -> FloatArray:
    """Hedge-leg leverage L = (1 - alpha) / alpha [x]."""
    a = np.asarray(alpha, dtype=float)
    return (1.0 - a) / a


def alpha_from_leverage(leverage: ArrayLike) -> FloatArray:
    """Inverse of :func:`hedge_leverage`: alpha = 1 / (1 + L)."""
    return 1.0 / (1.0 + np.asarray(leverage, dtype=float))


def solve_alpha_risk(
    sigma: ArrayLike,
    theta_f: ArrayLike,
    horizon_years: ArrayLike,
    epsilon: ArrayLike,
    mu: ArrayLike = 0.0,
    tol: float = ALPHA_TOL,
) -> FloatArray:
    """Variant 2, eq. (25): the smallest alpha with Pi_liq(alpha; h) <= epsilon [fraction of capital].

    Pi_liq is strictly decreasing in the log barrier b = -ln(1+theta) - ln(1-alpha) for b > 0, so the root
    is bracketed on b in (0, b_hi) and found by vectorised bisection (every cell of a grid at once), then
    mapped back: alpha = 1 - exp(-b) / (1 + theta).
    """
    sig, th, h, eps, mu_ = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                                 for x in (sigma, theta_f, horizon_years, epsilon, mu)))
    _check_positive("sigma", sig)
    _check_positive("horizon", h)
    _check_open_unit("epsilon", eps)
    _check_open_unit("theta_f", th)
    s = sig * np.sqrt(h)
    lo = np.zeros_like(s)
    # an upper bracket: many standard deviations plus the drift over h; widen until it holds.
    hi = 10.0 * s + np.abs(mu_) * h + 1e-12
    for _ in range(60):
        p_hi = hit_probability_log_barrier(hi, sig, h, mu_)
        bad = p_hi > eps
        if not bad.any():
            break
        hi = np.where(bad, hi * 2.0, hi)
    else:  # pragma: no cover - only for absurd drifts
        raise ModelDomainError("could not bracket the Variant 2 barrier (drift too large for this horizon)")
    # bisection on b; tolerance in alpha: d alpha / d b = exp(-b)/(1+theta) <= 1, so |db| bounds |dalpha|
    n_iter = int(np.ceil(np.log2(max(float(np.max(hi)), 1e-300) / tol))) + 1
    for _ in range(max(n_iter, 1)):
        mid = 0.5 * (lo + hi)
        feasible = hit_probability_log_barrier(mid, sig, h, mu_) <= eps
        hi = np.where(feasible, mid, hi)
        lo = np.where(feasible, lo, mid)
    alpha = 1.0 - np.exp(-hi) / (1.0 + th)
    return alpha if alpha.ndim else alpha[()]


ECON_GRID_POINTS: int = 4001


def solve_alpha_econ(
    sigma: ArrayLike,
    theta_f: ArrayLike,
    horizon_years: ArrayLike,
    kappa: ArrayLike,
    lgd: ArrayLike = 0.1,
    capital: float = 1.0,
    mu: ArrayLike = 0.0,
    tol: float = 1e-9,
) -> FloatArray:
    """Variant 1, eq. (22): global maximiser of J(alpha) = (1-alpha) D kappa - LGD Pi_liq(alpha; h) on (0, 1).

    The objective need not be concave (it is flat at -LGD + carry below alpha_liq and has a kink there), so a
    dense grid over (0, 1) locates the global maximum for every cell at once and a vectorised golden-section
    search refines it inside the neighbouring grid cells to ``tol`` in alpha.

    kappa <= 0: carry never pays for risk; J increases towards alpha -> 1 and the supremum is not attained in
    (0, 1). The function then returns exactly 1.0 ("stay out": all capital as margin, no position).
    """
    sig, th, h, kap, lg, mu_ = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                                    for x in (sigma, theta_f, horizon_years, kappa, lgd, mu)))
    _check_positive("sigma", sig)
    _check_positive("horizon", h)
    _check_open_unit("theta_f", th)
    if np.any(lg < 0) or not np.all(np.isfinite(lg)):
        raise ModelDomainError("lgd must be finite and >= 0")
    if not np.all(np.isfinite(kap)):
        raise ModelDomainError("kappa must be finite")
    if capital <= 0:
        raise ModelDomainError(f"capital D must be > 0 (got {capital!r})")

    shape = sig.shape
    flat = [x.reshape(-1, 1) for x in (sig, th, h, kap, lg, mu_)]
    s1, t1, h1, k1, l1, m1 = flat

    def objective(a: FloatArray) -> FloatArray:
        b = -np.log1p(t1) - np.log1p(-a)
        return (1.0 - a) * capital * k1 - l1 * hit_probability_log_barrier(b, s1, h1, m1)

    step = 1.0 / (ECON_GRID_POINTS + 1)
    grid = np.linspace(step, 1.0 - step, ECON_GRID_POINTS)[None, :]
    vals = objective(grid)
    k = np.argmax(vals, axis=1)
    lo = np.maximum(grid[0, k] - step, 1e-12)[:, None]
    hi = np.minimum(grid[0, k] + step, 1.0 - 1e-12)[:, None]
    inv_phi = (np.sqrt(5.0) - 1.0) / 2.0
    n_iter = int(np.ceil(np.log(2 * step / tol) / -np.log(inv_phi))) + 1
    c = hi - inv_phi * (hi - lo)
    d = lo + inv_phi * (hi - lo)
    fc, fd = objective(c), objective(d)
    for _ in range(n_iter):
        left = fc >= fd  # maximum in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        c_new = hi - inv_phi * (hi - lo)
        d_new = lo + inv_phi * (hi - lo)
        # reuse one evaluation per iteration would need bookkeeping; two vector evals are cheap here
        c, d = c_new, d_new
        fc, fd = objective(c), objective(d)
    alpha = (0.5 * (lo + hi)).reshape(shape)
    alpha = np.where(kap.reshape(shape) <= 0.0, 1.0, alpha)
    return alpha if alpha.ndim else alpha[()]


@dataclass(frozen=True)
class StaticInputs:
    """Inputs of one static cell. sigma_annual is unstressed; the model uses sigma_annual * stress."""

    venue: str
    asset: str
    sigma_annual: float
    stress: float
    theta_f: float
    l_max: float
    horizon_days: float = 1.0
    epsilon: float = 1e-3
    lgd: float = 0.1
    kappa: float = 0.0  # expected cumulative funding over the horizon [decimal of notional]
    mu: float = 0.0


@dataclass(frozen=True)
class StaticResult:
    """Both variants for one cell, with the liquidation probability at the risk-constrained answer."""

    inputs: StaticInputs
    alpha_risk: float
    alpha_econ: float
    pi_liq_at_alpha_risk: float
    pi_liq_at_alpha_econ: float

    @property
    def sigma_stressed(self) -> float:
        return self.inputs.sigma_annual * self.inputs.stress

    @property
    def leverage_risk(self) -> float:
        return float(hedge_leverage(self.alpha_risk))

    @property
    def leverage_econ(self) -> float:
        return float(hedge_leverage(self.alpha_econ)) if self.alpha_econ < 1.0 else 0.0

    def to_dict(self) -> dict[str, float | str]:
        i = self.inputs
        return {
            "venue": i.venue,
            "asset": i.asset,
            "sigma_annual": i.sigma_annual,
            "stress": i.stress,
            "sigma_stressed": self.sigma_stressed,
            "horizon_days": i.horizon_days,
            "theta_f": i.theta_f,
            "l_max": i.l_max,
            "epsilon": i.epsilon,
            "lgd": i.lgd,
            "mu": i.mu,
            "kappa_bps": i.kappa * 1e4,
            "alpha_liq": float(alpha_liq(i.theta_f)),
            "alpha_risk": self.alpha_risk,
            "alpha_econ": self.alpha_econ,
            "leverage_risk": self.leverage_risk,
            "leverage_econ": self.leverage_econ,
            "pi_liq_at_alpha_risk": self.pi_liq_at_alpha_risk,
            "pi_liq_at_alpha_econ": self.pi_liq_at_alpha_econ,
        }

    def summary(self) -> str:
        d = self.to_dict()
        return (
            f"{d['venue']} {d['asset']}: sigma={d['sigma_annual']:.3f}x{d['stress']:.2f} theta_F={d['theta_f']:.4f} "
            f"-> alpha_risk={d['alpha_risk']:.4f} ({d['leverage_risk']:.2f}x, Pi={d['pi_liq_at_alpha_risk']:.2e}), "
            f"alpha_econ={d['alpha_econ']:.4f}"
        )


def solve_static(inp: StaticInputs) -> StaticResult:
    """Solve both variants for one cell (see :func:`solve_static_grid` for many cells at once)."""
    return solve_static_grid([inp])[0]


def solve_static_grid(cells: list[StaticInputs]) -> list[StaticResult]:
    """Solve Variants 1 and 2 for every cell in one vectorised pass."""
    if not cells:
        return []
    sig = np.array([c.sigma_annual * c.stress for c in cells])
    th = np.array([c.theta_f for c in cells])
    h = np.array([c.horizon_days / 365.0 for c in cells])
    eps = np.array([c.epsilon for c in cells])
    lgd = np.array([c.lgd for c in cells])
    kap = np.array([c.kappa for c in cells])
    mu = np.array([c.mu for c in cells])
    a_risk = np.atleast_1d(solve_alpha_risk(sig, th, h, eps, mu))
    a_econ = np.atleast_1d(solve_alpha_econ(sig, th, h, kap, lgd, 1.0, mu))
    p_risk = pi_liq(a_risk, sig, th, h, mu)
    a_econ_eval = np.minimum(a_econ, 1.0 - 1e-12)
    p_econ = np.where(a_econ >= 1.0, 0.0, pi_liq(a_econ_eval, sig, th, h, mu))
    return [
        StaticResult(c, float(a_risk[i]), float(a_econ[i]), float(p_risk[i]), float(p_econ[i]))
        for i, c in enumerate(cells)
    ]
