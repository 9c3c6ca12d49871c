"""Statistics of the path study: pure functions of arrays, no I/O, no state.

Units: probabilities and fractions; rates per path-year. ``level`` is the two-sided confidence level (0.90 gives
the 5 % and 95 % bounds). Resampling always draws whole *clusters* (a calendar window with every asset in it, or
one simulated path index with every asset), because a crash hits every asset at once.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sst

F64 = NDArray[np.float64]


def clopper_pearson(k: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """Exact binomial CI for a proportion k/n (Clopper-Pearson). n = 0 gives (0, 1)."""
    if n <= 0:
        return 0.0, 1.0
    a = 1.0 - level
    lo = 0.0 if k <= 0 else float(sst.beta.ppf(a / 2.0, k, n - k + 1))
    hi = 1.0 if k >= n else float(sst.beta.ppf(1.0 - a / 2.0, k + 1, n - k))
    return lo, hi


def garwood(k: int, exposure: float, level: float = 0.90) -> tuple[float, float]:
    """Exact Poisson CI (Garwood) for a rate: k events over ``exposure`` (path-years) -> events per path-year."""
    if exposure <= 0:
        return 0.0, float("inf")
    a = 1.0 - level
    lo = 0.0 if k <= 0 else float(sst.chi2.ppf(a / 2.0, 2 * k)) / 2.0
    hi = float(sst.chi2.ppf(1.0 - a / 2.0, 2 * k + 2)) / 2.0
    return lo / exposure, hi / exposure


def cluster_index(clusters: NDArray[Any]) -> tuple[NDArray[np.int64], int]:
    """Integer codes 0..C-1 of the cluster labels, and C."""
    _, codes = np.unique(np.asarray(clusters), return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1 if codes.size else 0


def cluster_sums(x: F64, codes: NDArray[np.int64], n_clusters: int) -> F64:
    """Sum of x within each cluster."""
    return np.bincount(codes, weights=x, minlength=n_clusters).astype(np.float64)


def cluster_bootstrap_weights(n_clusters: int, reps: int, seed: int) -> F64:
    """(reps, C) multiplicities of each cluster in a resample of C whole clusters with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_clusters, size=(reps, n_clusters))
    w = np.zeros((reps, n_clusters))
    np.add.at(w, (np.repeat(np.arange(reps), n_clusters), idx.ravel()), 1.0)
    return w


def ratio_ci(num: F64, den: F64, clusters: NDArray[Any], level: float = 0.90, reps: int = 2000,
             seed: int = 0) -> tuple[float, float, float]:
    """sum(num)/sum(den) and its percentile CI under the cluster bootstrap (whole clusters resampled).

    The mean of paired differences is ``ratio_ci(d, ones)``; a rate per path-year is ``ratio_ci(events, years)``.
    """
    codes, c = cluster_index(clusters)
    est = float(np.sum(num) / np.sum(den))
    if c < 2:
        return est, float("nan"), float("nan")
    sn, sd = cluster_sums(num, codes, c), cluster_sums(den, codes, c)
    w = cluster_bootstrap_weights(c, reps, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = (w @ sn) / (w @ sd)
    a = 1.0 - level
    lo, hi = np.nanquantile(b, [a / 2.0, 1.0 - a / 2.0])
    return est, float(lo), float(hi)


def wilcoxon_p(d: F64, clusters: NDArray[Any]) -> float:
    """Two-sided Wilcoxon signed-rank p of the per-cluster mean differences (1.0 when all are zero)."""
    codes, c = cluster_index(clusters)
    if c == 0:
        return float("nan")
    m = cluster_sums(d, codes, c) / np.bincount(codes, minlength=c)
    if not np.any(m != 0.0):
        return 1.0
    return float(sst.wilcoxon(m, zero_method="wilcox", alternative="two-sided").pvalue)


def mcnemar_exact(x_only: int, base_only: int) -> float:
    """Exact McNemar p (two-sided binomial on the discordant pairs): paths where only X / only the base had a
    liquidation. 1.0 without discordant pairs."""
    n = x_only + base_only
    if n == 0:
        return 1.0
    return float(sst.binomtest(x_only, n, 0.5, alternative="two-sided").pvalue)


def spa_pvalue(benchmark: F64, candidates: F64, reps: int = 2000, seed: int = 0) -> float:
    """Hansen's SPA p (consistent) that no candidate beats the benchmark; inputs are per-cluster performance
    (higher is better), ``candidates`` shape (clusters, k). Uses ``arch.bootstrap.SPA`` (the [study] extra)."""
    try:
        from arch.bootstrap import SPA
    except ImportError as e:  # pragma: no cover - depends on the install
        from basisctl.errors import BasisctlError

        raise BasisctlError("the snooping-adjusted test needs the 'arch' package: pip install 'basisctl[study]'") \
            from e
    if candidates.shape[1] == 0 or benchmark.size < 3:
        return float("nan")
    # a candidate whose difference to the benchmark is the same on every cluster has zero variance, which arch's
    # studentisation turns into p = 0 even for a candidate identical to the benchmark: decide it exactly instead
    d = candidates - benchmark[:, None]
    scale = np.abs(benchmark).max() + np.abs(candidates).max(axis=0)
    const = np.ptp(d, axis=0) <= 1e-12 * scale  # the same difference on every cluster, to rounding
    if np.any(const & (d.mean(axis=0) > 1e-12 * scale)):
        return 0.0  # beats the benchmark by the same amount on every cluster
    candidates = candidates[:, ~const]
    if candidates.shape[1] == 0:
        return 1.0  # every candidate equals or trails the benchmark by a constant on every cluster
    spa = SPA(-benchmark, -candidates, reps=reps, block_size=1, bootstrap="stationary",
              seed=np.random.default_rng(seed))
    spa.compute()
    return float(spa.pvalues["consistent"])


def mcs_included(perf: F64, names: list[str], level: float = 0.90, reps: int = 2000, seed: int = 0) -> list[str]:
    """Model confidence set (Hansen, Lunde, Nason) at ``level`` over per-cluster performance (clusters, k);
    ``arch.bootstrap.MCS``. Identical columns (e.g. ``hold`` = ``paper`` on every cluster) are one model: arch
    fails on them, so the set is computed over the distinct columns and a name is in it with its twin."""
    from arch.bootstrap import MCS

    if perf.shape[0] < 3:
        return list(names)
    import pandas as pd

    _, first, twin = np.unique(perf.T, axis=0, return_index=True, return_inverse=True)
    twin = np.asarray(twin).ravel()
    if first.size == 1:
        return list(names)
    keep = np.sort(first)
    mcs = MCS(pd.DataFrame(-perf[:, keep], columns=[names[i] for i in keep]), size=1.0 - level, reps=reps,
              block_size=1, bootstrap="stationary", seed=np.random.default_rng(seed))
    mcs.compute()
    inc = {str(i) for i in mcs.included}
    rep = {j: names[int(first[j])] for j in range(first.size)}
    return [n for i, n in enumerate(names) if rep[int(twin[i])] in inc]


def pbo_cscv(perf: F64, n_blocks: int = 8) -> float:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey, Borwein,
    Lopez de Prado, Zhu 2017). ``perf``: (observations, configurations), higher is better. The observations are
    cut into ``n_blocks`` contiguous blocks; for every half of the blocks as in-sample, the best in-sample
    configuration's out-of-sample relative rank w gives logit(w); PBO = share of logits <= 0. NaN when the
    configurations are identical on every observation (there is no selection to overfit)."""
    t, k = perf.shape
    if k < 2 or n_blocks < 2 or n_blocks % 2 or t < n_blocks:
        return float("nan")
    if np.all(perf == perf[:, :1]):  # the tuned setting changes nothing: no selection, nothing to overfit
        return float("nan")
    blocks = np.array_split(np.arange(t), n_blocks)
    logits = []
    for ins in combinations(range(n_blocks), n_blocks // 2):
        i_idx = np.concatenate([blocks[j] for j in ins])
        o_idx = np.concatenate([blocks[j] for j in range(n_blocks) if j not in ins])
        best = int(np.argmax(perf[i_idx].mean(axis=0)))
        oos = perf[o_idx].mean(axis=0)
        rank = float(np.sum(oos < oos[best]) + 0.5 * (np.sum(oos == oos[best]) - 1) + 1)  # 1..k, ties averaged
        w = rank / (k + 1)
        logits.append(np.log(w / (1.0 - w)))
    return float(np.mean(np.asarray(logits) <= 0.0))
