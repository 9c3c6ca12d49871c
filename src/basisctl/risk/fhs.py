"""Filtered historical simulation: GARCH(1,1) volatility, bootstrapped standardised residuals, bar highs.

Calibration on a window of consecutive bars: fit GARCH(1,1) (``garch.py``), filter the conditional variances
sigma2_t, and keep the pairs (z_t, u_t) of each bar: z_t = (r_t - m) / sigma_t the standardised close-to-close
return and u_t = (ln(high_t / close_{t-1}) - m) / sigma_t its standardised intrabar high. A path draws whole bars
(z, u) with replacement, rescaled by the simulated conditional volatility, which starts at the one-step forecast
after the window and follows the GARCH recursion. The running maximum includes every bar's high, so first
passage is checked on bar highs exactly as the coverage study checks the data.

The Monte Carlo runs in a numba kernel here rather than in ``simulate.engine``: the engine's path models are
i.i.d. (GBM, full state, plain bootstrap) and have no volatility state or bar highs. All horizons come from
one path set (nested maxima), so one simulation serves every (epsilon, h, venue).
Barrier at epsilon = the (1 - epsilon) empirical quantile of the simulated maxima (Hazen plotting position).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from basisctl._jit import njit
from basisctl.errors import ModelDomainError
from basisctl.risk.base import Bars, FloatArray, ModelFitError, require_returns
from basisctl.risk.garch import GarchFit, fit_garch_cached
from basisctl.simulate._rng import chunk_states, uniform_index

#: 30 days of gap-free 1h bars hold 720 bars, i.e. 719 close-to-close returns (returns = bars - 1)
MIN_RETURNS: int = 24 * 30 - 1
DEFAULT_PATHS: int = 4000
#: Sizing (``static``, ``bands``, ``backtest``, ``pi-liq``): simulated paths beyond the barrier at epsilon. 800 tail
#: paths put the Monte Carlo SE of alpha near 0.001 at epsilon = 1e-3 over 24 h (BTC), so alpha moves by at most
#: 0.005 across seeds (tests/risk/test_fhs_sizing.py).
SIZING_TAIL_PATHS: int = 800
#: Sizing path counts lie in [MIN_SIZING_PATHS, MAX_SIZING_PATHS]; at epsilon = 1e-4 the cap leaves 100 tail paths,
#: and the SE printed with alpha says what that buys.
MIN_SIZING_PATHS: int = 20_000
MAX_SIZING_PATHS: int = 1_000_000


def sizing_paths(epsilon: float) -> int:
    """Monte Carlo paths for sizing at budget ``epsilon`` (see ``SIZING_TAIL_PATHS``)."""
    return int(min(MAX_SIZING_PATHS, max(MIN_SIZING_PATHS, np.ceil(SIZING_TAIL_PATHS / float(epsilon)))))


@njit(inline="always")  # numba-IR inlined: the caller's loop stays one function
def _fhs_bar_nb(z: FloatArray, u: FloatArray, omega: float, a: float, beta: float, mean: float, idx: np.ndarray,
                s2: FloatArray, cum: FloatArray, mx: FloatArray) -> None:
    """Advance every path one bar, in place: the drawn bar ``idx[i]`` rescaled by the path's volatility, the
    running maximum over its high and close (log price), and the GARCH(1,1) variance of the next bar."""
    for i in range(mx.size):
        sd = np.sqrt(s2[i])
        hi = cum[i] + mean + sd * u[idx[i]]
        e = sd * z[idx[i]]
        c = cum[i] + mean + e
        m = mx[i]
        if hi > m:
            m = hi
        if c > m:
            m = c
        mx[i] = m
        cum[i] = c
        s2[i] = omega + a * e * e + beta * s2[i]


@njit
def fhs_max_nb(z: FloatArray, u: FloatArray, s2_next: float, omega: float, a: float, beta: float, mean: float,
               steps: np.ndarray, n_paths: int, state: np.ndarray) -> FloatArray:
    """Running maxima of the log price (with bar highs) after steps[j] bars, shape (n_paths, len(steps)).

    ``state``: one xoshiro256** state (4 uint64, ``simulate._rng.chunk_states``), the project's RNG stream.
    Bar draws for path i, step k are taken in the order (k, i); the inner loop runs over paths, so the
    variance recursion of different paths pipelines instead of waiting on one sqrt after another.
    """
    s0, s1, s2r, s3 = state[0], state[1], state[2], state[3]
    n_pool = z.size
    n_out = steps.size
    last = steps[n_out - 1]
    out = np.empty((n_paths, n_out))
    s2 = np.full(n_paths, s2_next)
    cum = np.zeros(n_paths)
    mx = np.full(n_paths, -1e300)
    idx = np.empty(n_paths, dtype=np.int64)
    j = 0
    for k in range(1, last + 1):
        for i in range(n_paths):
            idx[i], s0, s1, s2r, s3 = uniform_index(s0, s1, s2r, s3, n_pool)
        _fhs_bar_nb(z, u, omega, a, beta, mean, idx, s2, cum, mx)
        while j < n_out and steps[j] == k:
            for i in range(n_paths):
                out[i, j] = mx[i]
            j += 1
    return out


@njit
def fhs_last_max_nb(z: FloatArray, u: FloatArray, s2_next: float, omega: float, a: float, beta: float,
                    mean: float, n_steps: int, state: np.ndarray, s2: FloatArray, cum: FloatArray, mx: FloatArray,
                    idx: np.ndarray) -> None:
    """:func:`fhs_max_nb` for one horizon of ``n_steps`` bars into caller-owned buffers (length n_paths each):
    ``mx`` receives the running maxima, equal bit for bit to ``fhs_max_nb(..., [n_steps], ...)[:, 0]`` (same
    draws in the same order, same arithmetic). Reusing the buffers across origins saves the allocation and first
    touch of five arrays per call, which dominate a short horizon (the band floor cell: 40,000 paths x 3 bars)."""
    s0, s1, s2r, s3 = state[0], state[1], state[2], state[3]
    n_paths = mx.size
    n_pool = z.size
    for i in range(n_paths):
        s2[i] = s2_next
        cum[i] = 0.0
        mx[i] = -1e300
    for _ in range(n_steps):
        for i in range(n_paths):
            idx[i], s0, s1, s2r, s3 = uniform_index(s0, s1, s2r, s3, n_pool)
        _fhs_bar_nb(z, u, omega, a, beta, mean, idx, s2, cum, mx)


class MaximaBuffers:
    """Work arrays for :func:`simulate_last_maxima`, reused across calls with the same path count."""

    def __init__(self, n_paths: int) -> None:
        self.s2, self.cum, self.mx = np.empty(n_paths), np.empty(n_paths), np.empty(n_paths)
        self.idx = np.empty(n_paths, dtype=np.int64)


def simulate_last_maxima(cal: FHSCalibration, horizon_hours: float, buf: MaximaBuffers, seed: int) -> FloatArray:
    """``simulate_maxima(cal, [horizon_hours], n_paths, seed)[:, 0]`` bit for bit, in ``buf.mx`` (overwritten by
    the next call)."""
    g = cal.garch
    st = chunk_states(int(seed), 1)[0]
    fhs_last_max_nb(cal.z, cal.u, cal.s2_next, g.omega, g.a, g.beta, 0.0, steps_of(horizon_hours, cal.bar_hours), st,
                    buf.s2, buf.cum, buf.mx, buf.idx)
    return buf.mx


@dataclass(frozen=True)
class FHSCalibration:
    """What a path set needs: the GARCH fit, the residual pool and the next-bar variance."""

    garch: GarchFit
    z: FloatArray
    u: FloatArray
    s2_next: float
    bar_hours: float


def calibrate_fhs(bars: Bars, lo: int, hi: int, garch: GarchFit | None = None) -> FHSCalibration:
    """Calibrate on bars[lo:hi] (every return inside must be consecutive; gaps raise). ``garch`` reuses params."""
    span = bars.span_text(lo, hi)
    c = bars.close[lo:hi]
    h = bars.high[lo:hi]
    if hi - lo < 2:
        raise ModelFitError(f"fhs: too little data to calibrate (no returns in {span}; need {MIN_RETURNS})")
    r = np.diff(np.log(c))
    require_returns("fhs", r, MIN_RETURNS, span)
    g = garch if garch is not None else fit_garch_cached(r, span)
    s2 = g.filter(r)
    sd = np.sqrt(s2[:-1])
    z = (r - g.mean) / sd
    u = (np.log(h[1:] / c[:-1]) - g.mean) / sd
    return FHSCalibration(g, np.ascontiguousarray(z), np.ascontiguousarray(u), float(s2[-1]), bars.bar_hours)


def steps_of(horizon_hours: float, bar_hours: float) -> int:
    k = horizon_hours / bar_hours
    if k < 1 or abs(k - round(k)) > 1e-9:
        raise ModelDomainError(f"horizon {horizon_hours:g}h is not a whole number of {bar_hours:g}h bars")
    return round(k)


def simulate_maxima(cal: FHSCalibration, horizons_hours: list[float], n_paths: int, seed: int) -> FloatArray:
    """Simulated running maxima (n_paths, len(horizons)) of the log price over each horizon."""
    steps = np.array([steps_of(h, cal.bar_hours) for h in horizons_hours], dtype=np.int64)
    order = np.argsort(steps, kind="stable")
    g = cal.garch
    st = chunk_states(int(seed), 1)[0]
    m = fhs_max_nb(cal.z, cal.u, cal.s2_next, g.omega, g.a, g.beta, 0.0, steps[order], int(n_paths), st)
    out = np.empty_like(m)
    out[:, order] = m
    return out


def quantile_barrier(maxima: FloatArray, epsilon: ArrayLike) -> FloatArray:
    """(1 - epsilon) quantile of simulated maxima along axis 0 (Hazen), one barrier per epsilon and column."""
    eps = np.atleast_1d(np.asarray(epsilon, dtype=float))
    if np.any(eps * maxima.shape[0] < 1.0):
        raise ModelDomainError(f"fhs: {maxima.shape[0]} paths cannot resolve epsilon={eps.min():g}; "
                               "raise the path count")
    return np.quantile(maxima, 1.0 - eps, axis=0, method="hazen")


@njit
def largest_nb(x: FloatArray, k: int) -> FloatArray:
    """The ``k`` largest values of ``x`` in ascending order (one pass, a k-slot insertion buffer; k small)."""
    buf = np.full(k, -np.inf)
    for v in x:
        if v > buf[0]:
            j = 0
            while j + 1 < k and buf[j + 1] < v:
                buf[j] = buf[j + 1]
                j += 1
            buf[j] = v
    return buf


#: above this many order statistics from the top, :func:`upper_quantile` partitions like np.quantile instead
MAX_TOP_K: int = 64


def upper_quantile(x: FloatArray, epsilon: float) -> float:
    """``np.quantile(x, 1 - epsilon, method="hazen")`` bit for bit, read from the few largest values of ``x``
    instead of a partition of all of them (the band floor cell: 40,000 maxima, epsilon = 1e-4, needs the top 5).

    numpy's own steps, on the same float64 operations: virtual index v = n q + (1/2 + q (1 - 1/2 - 1/2)) - 1 with
    q = 1 - epsilon, neighbours floor(v) and floor(v) + 1 (the maximum when v >= n - 1), gamma = v - floor(v), and
    its two-sided lerp. NaNs, a small sample or a deep quantile fall back to np.quantile itself."""
    n = x.size
    q = 1.0 - np.atleast_1d(np.asarray(epsilon, dtype=float))
    v = n * q + (0.5 + q * (1 - 0.5 - 0.5)) - 1
    prev = np.floor(v)
    if not (n >= 2 and v[0] >= 0 and np.isfinite(v[0])) or np.isnan(x).any():
        return float(np.quantile(x, q[0], method="hazen"))
    if v[0] >= n - 1:  # numpy takes the maximum (index -1) for both neighbours
        prev[0] = -1
    i = int(prev[0])
    k = n - i if i >= 0 else 1
    if k > MAX_TOP_K:
        return float(np.quantile(x, q[0], method="hazen"))
    top = largest_nb(np.ascontiguousarray(x, dtype=np.float64), k)
    a, b = (top[0], top[1]) if i >= 0 else (top[-1], top[-1])
    gamma = v - prev.astype(np.intp)
    diff = np.asarray([b - a])
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return float(out[0])


@dataclass(frozen=True)
class FHSRisk:
    """One FHS calibration; maxima are simulated lazily per horizon and cached (same seed for every horizon)."""

    cal: FHSCalibration
    n_paths: int = DEFAULT_PATHS
    seed: int = 0
    name: str = "fhs"
    _cache: dict[float, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return 1

    def maxima(self, horizon_hours: float) -> FloatArray:
        m = self._cache.get(horizon_hours)
        if m is None:
            m = np.sort(simulate_maxima(self.cal, [horizon_hours], self.n_paths, self.seed)[:, 0])
            self._cache[horizon_hours] = m
        return m

    def hit_prob(self, b: ArrayLike, horizon_hours: float) -> FloatArray:
        m = self.maxima(horizon_hours)
        bb = np.atleast_1d(np.asarray(b, dtype=float))
        return 1.0 - np.searchsorted(m, bb, side="left") / m.size

    def barrier_at(self, epsilon: ArrayLike, horizon_hours: float) -> FloatArray:
        return quantile_barrier(self.maxima(horizon_hours)[:, None], epsilon)[..., 0].reshape(-1)

    def barrier_se(self, epsilon: float, horizon_hours: float) -> float:
        """Monte Carlo standard error of the barrier at ``epsilon`` [log price]: half the distance between the
        order statistics one binomial standard deviation either side of the quantile's rank (the count of paths
        beyond a fixed barrier is Binomial(n, epsilon)); distribution-free."""
        m = self.maxima(horizon_hours)
        n = m.size
        k = n * (1.0 - float(epsilon))
        d = np.sqrt(n * float(epsilon) * (1.0 - float(epsilon)))
        lo, hi = int(np.clip(np.floor(k - d), 0, n - 1)), int(np.clip(np.ceil(k + d), 0, n - 1))
        return float(0.5 * (m[hi] - m[lo]))

    def alpha_se(self, epsilon: float, theta_f: float, horizon_hours: float) -> float:
        """Monte Carlo standard error of alpha at ``epsilon`` [fraction of capital]: the barrier's SE times
        d alpha / d b = exp(-b) / (1 + theta_F) (delta method)."""
        b = float(self.barrier_at(epsilon, horizon_hours)[0])
        return float(np.exp(-b) / (1.0 + float(theta_f)) * self.barrier_se(epsilon, horizon_hours))

    def params(self) -> dict[str, Any]:
        g = self.cal.garch
        per_year = 8760.0 / self.cal.bar_hours
        return {"garch_omega": g.omega, "garch_alpha": g.a, "garch_beta": g.beta, "mean_per_bar": g.mean,
                "sigma_next_annual": float(np.sqrt(self.cal.s2_next * per_year)),
                "sigma_uncond_annual": float(np.sqrt(g.omega / max(1 - g.persistence, 1e-12) * per_year)),
                "residuals": int(self.cal.z.size), "paths": self.n_paths, "seed": self.seed}
