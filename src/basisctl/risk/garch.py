"""GARCH(1,1) by Gaussian quasi-maximum likelihood with variance targeting (numba recursion, scipy optimiser).

sigma2_t = omega + a eps_{t-1}^2 + beta sigma2_{t-1}, eps = r - mean(r). Variance targeting fixes
omega = var(eps) (1 - a - beta), so the optimiser searches only (a, beta) on a + beta < 1, through the
unconstrained map persistence = logistic(u), a = persistence * logistic(v). Returns are scaled to unit variance
before fitting (omega is reported in the data's units).

Why not the ``arch`` package: it is a heavy dependency for one two-parameter likelihood, and the coverage study
refits hundreds of windows, where a jitted recursion plus L-BFGS-B is faster than a general model object. The
fit is checked against simulated GARCH series (tests/risk/test_garch_fhs.py). Nelder-Mead (derivative-free)
rather than L-BFGS-B: on this 2-parameter surface it needs ~70 likelihood evaluations and no finite-difference
gradients. The coverage study starts every refit at ``GARCH_START`` (no warm start) so that a fit depends only
on its window (a warm start moves the Nelder-Mead optimum within its tolerance and made alpha depend on --from).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from basisctl._jit import njit
from basisctl.risk.base import FloatArray, ModelFitError

MAX_PERSISTENCE: float = 0.9995
#: the optimiser's fixed start (a, beta): the coverage study refits from it, never warm, so a fit depends only on
#: its window's data
GARCH_START: tuple[float, float] = (0.08, 0.9)


@njit
def garch_filter_nb(eps: FloatArray, omega: float, a: float, beta: float, s2_0: float) -> FloatArray:
    """Conditional variances sigma2[0..n]: sigma2[t] is the forecast for eps[t]; sigma2[n] is the next one."""
    n = eps.size
    out = np.empty(n + 1)
    s2 = s2_0
    for t in range(n):
        out[t] = s2
        s2 = omega + a * eps[t] * eps[t] + beta * s2
    out[n] = s2
    return out


@njit
def _negloglik_nb(eps: FloatArray, omega: float, a: float, beta: float, s2_0: float) -> float:
    s2 = s2_0
    ll = 0.0
    for t in range(eps.size):
        ll += np.log(s2) + eps[t] * eps[t] / s2
        s2 = omega + a * eps[t] * eps[t] + beta * s2
    return 0.5 * ll


@dataclass(frozen=True)
class GarchFit:
    """Fitted GARCH(1,1): ``omega`` [return units^2], ``a`` (ARCH), ``beta`` (GARCH), ``mean`` [per bar]."""

    omega: float
    a: float
    beta: float
    mean: float
    sample_var: float

    @property
    def persistence(self) -> float:
        return self.a + self.beta

    def filter(self, r: FloatArray) -> FloatArray:
        """Conditional variances for r[0..n-1] and the one-step forecast after the last (length n + 1)."""
        return garch_filter_nb(np.ascontiguousarray(r - self.mean), self.omega, self.a, self.beta, self.sample_var)


def _unpack(x: FloatArray) -> tuple[float, float]:
    pers = MAX_PERSISTENCE / (1.0 + np.exp(-x[0]))
    a = pers / (1.0 + np.exp(-x[1]))
    return float(a), float(pers - a)


def fit_garch(r: FloatArray, span: str = "the window", start: tuple[float, float] = GARCH_START) -> GarchFit:
    """Quasi-ML GARCH(1,1) with variance targeting, started at ``start`` = (a, beta).

    Raises ModelFitError when the optimiser does not converge."""
    from scipy.optimize import minimize  # here: a cached fit (the warm path) never imports scipy.optimize

    m = float(np.mean(r))
    eps = np.ascontiguousarray(r - m)
    v = float(np.var(eps))
    if not v > 0:
        raise ModelFitError(f"fhs: returns in {span} have zero variance; cannot fit GARCH")
    z = eps / np.sqrt(v)
    a0, b0 = start
    pers0 = min(max(a0 + b0, 0.05), MAX_PERSISTENCE * 0.999)
    x0 = np.array([np.log(pers0 / (MAX_PERSISTENCE - pers0)), np.log(max(a0, 1e-4) / max(pers0 - a0, 1e-4))])

    def f(x: FloatArray) -> float:
        a, b = _unpack(x)
        return float(_negloglik_nb(z, 1.0 - a - b, a, b, 1.0))

    res = minimize(f, x0, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7 * z.size, "maxiter": 400})
    if not res.success or not np.isfinite(res.fun):
        raise ModelFitError(f"fhs: GARCH(1,1) likelihood did not converge on {span} ({res.message})")
    a, b = _unpack(res.x)
    return GarchFit(omega=v * (1.0 - a - b), a=a, beta=b, mean=m, sample_var=v)


def window_key(r: FloatArray, start: tuple[float, float] = GARCH_START) -> str:
    """Content key of a fit: SHA-256 of the returns' bytes (float64) with the optimiser start. The returns ARE the
    window of the data file, so two equal keys are the same fit; an appended bar changes no earlier window."""
    h = hashlib.sha256(np.ascontiguousarray(r, dtype=np.float64).tobytes())
    h.update(repr(tuple(float(x) for x in start)).encode())
    return h.hexdigest()[:40]


def fit_garch_cached(r: FloatArray, span: str = "the window", start: tuple[float, float] = GARCH_START,
                     table: dict[str, Any] | None = None) -> GarchFit:
    """:func:`fit_garch` through the result cache (:mod:`basisctl.cache`), keyed by :func:`window_key` and the
    package source. ``table``: a lookup table from :func:`basisctl.cache.load_table` (many fits of one series,
    stored once by the caller); without it each fit is its own cache entry. Identical floats either way."""
    key = window_key(r, start)
    if table is not None:
        got = table.get(key)
        if got is None:
            g = fit_garch(r, span, start)
            table[key] = (g.omega, g.a, g.beta, g.mean, g.sample_var)
            return g
        return GarchFit(*got)
    from basisctl import cache

    return cache.memoize("risk/garch fit", {"window": key}, lambda: fit_garch(r, span, start)).value


def simulate_garch(n: int, omega: float, a: float, beta: float, seed: int, df: float | None = None) -> FloatArray:
    """A GARCH(1,1) series of length n (normal or unit-variance Student-t innovations), for tests and docs."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n) if df is None else rng.standard_t(df, n) / np.sqrt(df / (df - 2.0))
    out = np.empty(n)
    s2 = omega / (1.0 - a - beta)
    for t in range(n):
        out[t] = np.sqrt(s2) * z[t]
        s2 = omega + a * out[t] ** 2 + beta * s2
    return out
