"""Pure allocation solver: capital across (asset, venue) positions (arrays in, weights out).

Problem (weights w_i = capital share of position i, cash = 1 - sum w)::

    maximise   mu^T w - (lam / 2) w^T Sigma w
    subject to 0 <= w_i <= cap_i                      (V^max_i / D: execution-layer capacity)
               sum_{i in venue v} w_i <= s_venue       (a venue can fail: exposure cap per venue)
               sum_{i in asset a} w_i <= s_asset       (per-asset cap)
               sum_i w_i <= 1                          (budget; capital with no worthwhile use stays in cash)

``mu`` is the expected net carry APY of each position [decimal per year], ``Sigma`` the covariance of the funding
APY streams [1/yr^2] and ``lam`` the risk aversion [1/(decimal per year)]. With ``lam = 0`` the problem is the
linear programme "maximise expected net carry"; ``lam > 0`` adds mean-variance diversification across funding
streams. Sigma is a Ledoit-Wolf shrinkage estimate (towards a scaled identity, see :func:`shrinkage_covariance`):
the sample covariance of short, overlapping funding histories is noisy and often singular (one asset on several
venues is nearly collinear), and shrinkage keeps the problem strictly concave and the weights stable.

Solver: SLSQP with analytic gradients, started from a feasible point; the result is then made exactly feasible
(clip to the boxes, scale down any over-full group), so every constraint holds to float precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from basisctl.errors import ModelDomainError

FloatArray = NDArray[np.float64]


def shrinkage_covariance(x: ArrayLike) -> tuple[FloatArray, float]:
    """Ledoit-Wolf (2004) shrinkage of the sample covariance of ``x`` (T observations x N streams) towards
    ``mean(diag) * I``. Returns (Sigma, shrinkage intensity in [0, 1]). Columns must have no NaN."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.shape[0] < 2:
        raise ModelDomainError("need a (T >= 2) x N matrix of observations")
    if not np.isfinite(a).all():
        raise ModelDomainError("observations must be finite (align the streams first)")
    t, n = a.shape
    xc = a - a.mean(axis=0)
    s = xc.T @ xc / t
    mu = np.trace(s) / n
    target = mu * np.eye(n)
    d2 = float(((s - target) ** 2).sum())
    b2_bar = float(sum(((np.outer(r, r) - s) ** 2).sum() for r in xc) / t**2)
    b2 = min(b2_bar, d2)
    delta = 0.0 if d2 == 0 else b2 / d2
    return delta * target + (1 - delta) * s, float(delta)


@dataclass(frozen=True)
class Problem:
    """Arrays of one allocation problem over N positions (see the module docstring for units)."""

    mu: FloatArray
    cap: FloatArray
    venue_of: NDArray[np.int64]
    asset_of: NDArray[np.int64]
    venue_share: FloatArray
    asset_share: FloatArray
    sigma: FloatArray | None = None
    lam: float = 0.0

    def groups(self) -> list[tuple[NDArray[np.bool_], float]]:
        out = [(self.venue_of == v, float(s)) for v, s in enumerate(self.venue_share)]
        out += [(self.asset_of == a, float(s)) for a, s in enumerate(self.asset_share)]
        out.append((np.ones(self.mu.size, dtype=bool), 1.0))
        return out

    def objective(self, w: ArrayLike) -> float:
        ww = np.asarray(w, dtype=float)
        val = float(self.mu @ ww)
        if self.sigma is not None and self.lam > 0:
            val -= 0.5 * self.lam * float(ww @ self.sigma @ ww)
        return val


def make_problem(mu: ArrayLike, cap: ArrayLike, venue_of: ArrayLike, asset_of: ArrayLike,
                 venue_share: ArrayLike, asset_share: ArrayLike, sigma: ArrayLike | None = None,
                 lam: float = 0.0) -> Problem:
    p = Problem(np.asarray(mu, float), np.asarray(cap, float), np.asarray(venue_of, np.int64),
                np.asarray(asset_of, np.int64), np.asarray(venue_share, float), np.asarray(asset_share, float),
                None if sigma is None else np.asarray(sigma, float), float(lam))
    n = p.mu.size
    if not (p.cap.shape == p.venue_of.shape == p.asset_of.shape == (n,)):
        raise ModelDomainError("mu, cap, venue_of and asset_of must have one entry per position")
    if not np.isfinite(p.mu).all():
        raise ModelDomainError("mu must be finite for every position (leave unranked positions out)")
    if (p.cap < 0).any() or np.isnan(p.cap).any():
        raise ModelDomainError("capacities must be >= 0")
    if n and (p.venue_of.min() < 0 or p.venue_of.max() >= p.venue_share.size or p.asset_of.min() < 0
              or p.asset_of.max() >= p.asset_share.size):
        raise ModelDomainError("venue_of/asset_of index outside the share arrays")
    if ((p.venue_share < 0) | (p.venue_share > 1)).any() or ((p.asset_share < 0) | (p.asset_share > 1)).any():
        raise ModelDomainError("venue and asset shares must lie in [0, 1]")
    if p.lam < 0 or (p.lam > 0 and (p.sigma is None or p.sigma.shape != (n, n))):
        raise ModelDomainError("lam must be >= 0, and lam > 0 needs an N x N covariance")
    return p


def make_feasible(p: Problem, w: ArrayLike) -> FloatArray:
    """Clip to [0, cap] and scale every over-full group down (all constraints are upper bounds on sums of
    non-negative weights, so scaling down never breaks another one)."""
    out = np.clip(np.asarray(w, float), 0.0, np.minimum(p.cap, 1.0))
    for _ in range(3):
        for mask, limit in p.groups():
            tot = out[mask].sum()
            if tot > limit:
                out[mask] *= limit / tot
    return out


def solve(p: Problem, tol: float = 1e-12) -> FloatArray:
    """Optimal weights [fraction of capital] of :class:`Problem`."""
    n = p.mu.size
    if n == 0:
        return np.zeros(0)
    ub = np.minimum(p.cap, 1.0)
    quad = p.sigma is not None and p.lam > 0
    use = (ub > 0) & ((p.mu > 0) | quad)  # in the LP a position with mu <= 0 never helps
    w = np.zeros(n)
    if not use.any():
        return w
    idx = np.flatnonzero(use)
    sub_mu = p.mu[idx]
    sub_sigma = p.sigma[np.ix_(idx, idx)] if quad and p.sigma is not None else None
    groups = [(m[idx], s) for m, s in p.groups()]
    groups = [(m, s) for m, s in groups if m.any()]
    a = np.array([m.astype(float) for m, _ in groups])
    b = np.array([s for _, s in groups])

    def f(x: FloatArray) -> float:
        v = -float(sub_mu @ x)
        if sub_sigma is not None:
            v += 0.5 * p.lam * float(x @ sub_sigma @ x)
        return v

    def g(x: FloatArray) -> FloatArray:
        grad = -sub_mu.copy()
        if sub_sigma is not None:
            grad += p.lam * (sub_sigma @ x)
        return grad

    x0 = np.zeros(idx.size)  # feasible: every constraint is an upper bound on non-negative weights
    res = minimize(f, x0, jac=g, method="SLSQP", bounds=list(zip(np.zeros(idx.size), ub[idx], strict=True)),
                   constraints=[{"type": "ineq", "fun": lambda x: b - a @ x, "jac": lambda x: -a}],
                   options={"ftol": tol, "maxiter": 500})
    if not res.success and res.status not in (8, 9):  # 8/9: line search/iteration limit, still a feasible point
        raise ModelDomainError(f"allocation did not converge: {res.message}")
    w[idx] = res.x
    return make_feasible(p, w)
