"""Peaks over threshold: a generalised Pareto tail for the maximum adverse excursion over the horizon.

Sample: for every bar i of the calibration window whose next h hours also lie inside it, the excursion
M_i = ln(max(high[i .. i+h-1]) / close[i-1]) — exactly what the coverage study checks going forward. These
windows overlap (they share bars), which leaves the tail estimate consistent but makes exceedances cluster; the
minimum below counts them as they are. Threshold u = the ``THRESHOLD_Q`` empirical quantile; excesses above u
get a GPD by maximum likelihood, and

    P(M >= b) = zeta_u * genpareto.sf(b - u; xi, scale)   for b >= u (empirical share below u),

so the barrier at epsilon is u + genpareto.isf(epsilon / zeta_u) when epsilon < zeta_u. The MLE uses Grimshaw's
profile likelihood in theta = xi / scale (for fixed theta, xi = mean(ln(1 + theta y)) and scale = xi / theta are
explicit), maximised on a grid with refinement: microseconds per fit instead of ``genpareto.fit``'s
milliseconds, which matters for thousands of rolling refits; tests check it against ``scipy.stats.genpareto.fit``.
It is unconditional: it does not know today's volatility (that is what the coverage study probes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import genpareto

from basisctl.errors import ModelDomainError
from basisctl.risk.base import Bars, FloatArray, ModelFitError, scalar_params

THRESHOLD_Q: float = 0.95
MIN_EXCEEDANCES: int = 30


def excursions(bars: Bars, horizon_hours: float) -> FloatArray:
    """M[i] = ln(max high over bars i .. i+k-1 / close[i-1]), k = h / bar_hours; NaN where bars are missing.

    Index i = the bar whose open is the origin; M[0] and the last k-1 entries are NaN.
    """
    k = horizon_hours / bars.bar_hours
    if k < 1 or abs(k - round(k)) > 1e-9:
        raise ModelDomainError(f"horizon {horizon_hours:g}h is not a whole number of {bars.bar_hours:g}h bars")
    k = round(k)
    n = len(bars)
    out = np.full(n, np.nan)
    if n <= k:
        return out
    lh = np.log(bars.high)
    win = np.lib.stride_tricks.sliding_window_view(lh, k).max(axis=1)  # win[i] = max lh[i .. i+k-1]
    step = round(bars.bar_hours * 3600e9)
    # a window is valid when its k bars and the previous bar are consecutive
    span_ok = (bars.ts_ns[k:] - bars.ts_ns[: n - k]) == k * step  # ts[i+k-1] - ts[i-1] == k * step, i >= 1
    m = win[1:] - np.log(bars.close[: n - k])
    out[1 : n - k + 1] = np.where(span_ok, m, np.nan)
    return out


def sorted_quantile(x_sorted: FloatArray, q: ArrayLike) -> FloatArray:
    """numpy's default (linear) quantile of an already sorted sample, without re-sorting it."""
    qq = np.asarray(q, dtype=float)
    pos = qq * (x_sorted.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, x_sorted.size - 1)
    return x_sorted[lo] + (pos - lo) * (x_sorted[hi] - x_sorted[lo])


def gpd_mle(y: FloatArray, grid: int = 64, rounds: int = 3) -> tuple[float, float]:
    """(xi, scale) of a GPD fitted by maximum likelihood to excesses y > 0 (Grimshaw profile in theta)."""
    n = y.size
    ymax, ymean = float(y.max()), float(y.mean())
    lo, hi = -0.999 / ymax, 20.0 / ymean

    def prof(theta: FloatArray) -> FloatArray:
        th = np.where(np.abs(theta) < 1e-12, 1e-12, theta)
        xi = np.mean(np.log1p(th[:, None] * y[None, :]), axis=1)
        scale = xi / th
        return np.where(scale > 0, -n * np.log(np.where(scale > 0, scale, 1.0)) - n * (xi + 1.0), -np.inf)

    th = np.concatenate([np.linspace(lo, 0.0, grid, endpoint=False), np.geomspace(1e-6 / ymean, hi, grid)])
    for _ in range(rounds):
        ll = prof(th)
        j = int(np.argmax(ll))
        a, b = th[max(j - 1, 0)], th[min(j + 1, th.size - 1)]
        th = np.linspace(a, b, grid)
    ll = prof(th)
    t = float(th[int(np.argmax(ll))])
    t = t if abs(t) > 1e-12 else 1e-12
    xi = float(np.mean(np.log1p(t * y)))
    return xi, xi / t


@dataclass(frozen=True)
class EVTRisk:
    """One POT fit per horizon: threshold u, exceedance share zeta, GPD (xi, scale); empirical body below u."""

    horizon_hours: float
    threshold: float
    zeta: float
    xi: float
    scale: float
    n_windows: int
    n_exceed: int
    sorted_sample: FloatArray
    name: str = "evt"

    @property
    def n(self) -> int:
        return 1

    def _check_h(self, horizon_hours: float) -> None:
        if abs(horizon_hours - self.horizon_hours) > 1e-9:
            raise ModelDomainError(f"evt: this fit is for h={self.horizon_hours:g}h, asked for {horizon_hours:g}h")

    def hit_prob(self, b: ArrayLike, horizon_hours: float) -> FloatArray:
        self._check_h(horizon_hours)
        bb = np.atleast_1d(np.asarray(b, dtype=float))
        emp = 1.0 - np.searchsorted(self.sorted_sample, bb, side="left") / self.sorted_sample.size
        tail = self.zeta * genpareto.sf(bb - self.threshold, self.xi, scale=self.scale)
        return np.where(bb >= self.threshold, tail, emp)

    def barrier_at(self, epsilon: ArrayLike, horizon_hours: float) -> FloatArray:
        self._check_h(horizon_hours)
        eps = np.atleast_1d(np.asarray(epsilon, dtype=float))
        tail = self.threshold + genpareto.isf(np.minimum(eps / self.zeta, 1.0), self.xi, scale=self.scale)
        body = sorted_quantile(self.sorted_sample, 1.0 - eps)
        return np.where(eps < self.zeta, tail, body)

    def params(self) -> dict[str, Any]:
        return scalar_params({"horizon_hours": self.horizon_hours, "threshold_log": self.threshold,
                              "exceed_share": self.zeta, "gpd_xi": self.xi, "gpd_scale": self.scale,
                              "windows": self.n_windows, "exceedances": self.n_exceed})


def fit_evt_sample(m: FloatArray, horizon_hours: float, span: str = "the window",
                   threshold_q: float = THRESHOLD_Q, min_exceed: int = MIN_EXCEEDANCES) -> EVTRisk:
    """POT fit to excursion samples ``m`` (NaNs dropped). Too few exceedances is a ModelFitError."""
    x = np.sort(m[np.isfinite(m)])
    u = float(sorted_quantile(x, threshold_q)) if x.size else np.nan
    y = x[x > u] - u if x.size else x
    if y.size < min_exceed:
        raise ModelFitError(
            f"evt: too few exceedances for a GPD fit at h={horizon_hours:g}h ({y.size} above the "
            f"{threshold_q:.0%} quantile of {x.size} windows in {span}; need at least {min_exceed})"
        )
    xi, scale = gpd_mle(y)
    if not (np.isfinite(xi) and np.isfinite(scale) and scale > 0):
        raise ModelFitError(f"evt: GPD likelihood did not converge at h={horizon_hours:g}h on {span}")
    return EVTRisk(float(horizon_hours), u, y.size / x.size, xi, scale, int(x.size), int(y.size), x)


def fit_evt(bars: Bars, lo: int, hi: int, horizon_hours: float, **kw: Any) -> EVTRisk:
    """POT fit on the excursions whose whole window lies in bars[lo:hi]."""
    m = excursions(Bars(bars.ts_ns[lo:hi], bars.close[lo:hi], bars.high[lo:hi], bars.bar_hours), horizon_hours)
    return fit_evt_sample(m, horizon_hours, bars.span_text(lo, hi), **kw)
