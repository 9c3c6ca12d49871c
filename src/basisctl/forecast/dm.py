"""Diebold-Mariano test of equal forecast accuracy with a HAC variance and the Harvey-Leybourne-Newbold correction.

d_t = L(e1_t) - L(e2_t) (absolute-error loss by default, matching the MAE the evaluation reports), t = 1..T.

* DM = mean(d) / sqrt(V / T), V = gamma_0 + 2 sum_{k=1}^{h-1} gamma_k,
  gamma_k = (1/T) sum_{t>k} (d_t - dbar)(d_{t-k} - dbar)
  (the rectangular truncation at h-1 lags of Diebold & Mariano 1995: h-step forecasts made daily overlap, so their
  errors are MA(h-1)). When that V is not positive (it can be, in small samples) the Bartlett (Newey-West) weights
  1 - k/h over the same lags are used instead and ``kernel`` says so.
* HLN (Harvey, Leybourne & Newbold 1997): DM* = DM x sqrt((T + 1 - 2h + h(h-1)/T) / T), compared with Student t
  with T - 1 degrees of freedom; ``p`` is two-sided.

Negative ``stat``: model 1 has the smaller loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from basisctl.errors import ModelDomainError


@dataclass(frozen=True)
class DieboldMariano:
    """Result: mean loss differential, DM, HLN-corrected DM*, two-sided p (t_{T-1}), T, h, HAC kernel used."""

    mean_diff: float
    dm: float
    stat: float
    p: float
    n: int
    h: int
    kernel: str


def _autocov(d: np.ndarray, k: int) -> float:
    x = d - d.mean()
    return float(np.dot(x[k:], x[: x.size - k]) / x.size)


def diebold_mariano(e1: np.ndarray, e2: np.ndarray, h: int, power: int = 1) -> DieboldMariano:
    """DM test of model 1 vs model 2 from their forecast errors at the same origins (``power`` 1 = |e|, 2 = e^2)."""
    a, b = np.asarray(e1, float), np.asarray(e2, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ModelDomainError("diebold_mariano: e1 and e2 must be 1-d arrays of the same length")
    if h < 1:
        raise ModelDomainError(f"diebold_mariano: h must be >= 1 (got {h})")
    if power not in (1, 2):
        raise ModelDomainError(f"diebold_mariano: power must be 1 or 2 (got {power})")
    d = np.abs(a) ** power - np.abs(b) ** power
    t = d.size
    if t < max(3, 2 * h):
        raise ModelDomainError(f"diebold_mariano: {t} paired errors are too few for h = {h}")
    g = [_autocov(d, k) for k in range(h)]
    v = g[0] + 2.0 * sum(g[1:])
    kernel = "rectangular"
    if not v > 0:
        v = g[0] + 2.0 * sum((1.0 - k / h) * g[k] for k in range(1, h))
        kernel = "bartlett"
    dbar = float(d.mean())
    if not v > 0:  # identical losses
        return DieboldMariano(dbar, float("nan"), float("nan"), 1.0 if dbar == 0 else 0.0, t, h, kernel)
    dm = dbar / math.sqrt(v / t)
    stat = dm * math.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
    from scipy.stats import t as student_t

    p = float(2.0 * student_t.sf(abs(stat), df=t - 1))
    return DieboldMariano(dbar, float(dm), float(stat), p, t, h, kernel)
