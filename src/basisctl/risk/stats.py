"""Coverage tests of a breach sequence: Kupiec proportion of failures and Christoffersen independence.

Kupiec (1995): LR_pof = -2 [ (n-x) ln(1-p) + x ln p - (n-x) ln(1-x/n) - x ln(x/n) ] ~ chi2(1).
Christoffersen (1998): with transition counts n_ij (state i then j, 1 = breach), pi_i = n_i1/(n_i0+n_i1),
pi = (n_01+n_11)/(all transitions),
LR_ind = -2 [ (n00+n10) ln(1-pi) + (n01+n11) ln pi - n00 ln(1-pi0) - n01 ln pi0 - n10 ln(1-pi1) - n11 ln pi1 ]
~ chi2(1). 0 ln 0 = 0 throughout (``scipy.special.xlogy``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import xlog1py, xlogy
from scipy.stats import chi2


def kupiec_lr(n: int, x: int, p: float) -> float:
    """Kupiec likelihood-ratio statistic for x breaches in n trials at nominal probability p."""
    if n <= 0:
        return float("nan")
    phat = x / n
    ll0 = xlog1py(n - x, -p) + xlogy(x, p)
    ll1 = xlog1py(n - x, -phat) + xlogy(x, phat)
    return float(max(-2.0 * (ll0 - ll1), 0.0))


def kupiec_p(n: int, x: int, p: float) -> float:
    """p-value of the Kupiec test (chi2 with 1 degree of freedom); NaN when n = 0."""
    lr = kupiec_lr(n, x, p)
    return float(chi2.sf(lr, 1)) if np.isfinite(lr) else float("nan")


def transitions(seq: ArrayLike) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11) of a 0/1 sequence."""
    s = np.asarray(seq, dtype=bool)
    a, b = s[:-1], s[1:]
    return (int(np.sum(~a & ~b)), int(np.sum(~a & b)), int(np.sum(a & ~b)), int(np.sum(a & b)))


def christoffersen_lr(seq: ArrayLike) -> float:
    """Christoffersen independence likelihood-ratio statistic of a breach sequence."""
    n00, n01, n10, n11 = transitions(seq)
    tot = n00 + n01 + n10 + n11
    if tot == 0:
        return float("nan")
    pi = (n01 + n11) / tot
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    ll0 = xlog1py(n00 + n10, -pi) + xlogy(n01 + n11, pi)
    ll1 = xlog1py(n00, -pi0) + xlogy(n01, pi0) + xlog1py(n10, -pi1) + xlogy(n11, pi1)
    return float(max(-2.0 * (ll0 - ll1), 0.0))


def christoffersen_p(seq: ArrayLike) -> float:
    """p-value of the Christoffersen independence test (chi2, 1 dof); NaN for sequences shorter than 2."""
    lr = christoffersen_lr(seq)
    return float(chi2.sf(lr, 1)) if np.isfinite(lr) else float("nan")
