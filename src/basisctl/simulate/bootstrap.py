"""Bootstrap solvency band alpha_L^boot (paper eq. 40) with a path count sized from the binomial CI.

Design (paper Sec. VIII.B): 1-hour log returns from the lookback window are resampled with replacement into
h_liq-long paths, scaled by the stress multiplier, and the liquidation barrier is checked at every bar end
(discrete, bar-by-bar monitoring, as in the paper's empirical hit frequency). Returns are demeaned before
scaling by default (``demean=True``) and then centred at -v/2 (v the stressed pool's variance) so that
resampled prices have zero drift: the stress multiplies dispersion, not the sample's trend, and the closed
form alpha_L it is compared with has mu = 0 (log drift -sigma^2/2).

Hit of the liquidation barrier at alpha: max_k S_k >= b(alpha) = -ln(1+theta_F) - ln(1-alpha), S_k the
cumulative stressed return after k bars. So the hit frequency at alpha is the share of paths whose running
maximum M reaches b(alpha), and eq. 40's infimum is read off the order statistics of M: with
k = floor(eps n), b* = M_(k+1) (the (k+1)-th largest), alpha^boot = 1 - exp(-b*) / (1 + theta_F); every
alpha above it has frequency <= eps. Only the top K order statistics are kept (streaming over blocks).

Path count: n = ceil(z^2 (1 - eps) / (eps r^2)) makes the normal-approximation CI of a frequency near eps
have relative half-width r (default 10%: about 3.8 million paths at eps = 1e-4). Reported intervals:
Clopper-Pearson for the hit frequency at alpha^boot, and the distribution-free order-statistic interval
for the (1 - eps)-quantile of M mapped to alpha. Both measure Monte Carlo error of the resampling only, not
the sampling error of the historical window itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import prange
from numpy.typing import ArrayLike, NDArray

from basisctl._jit import njit
from basisctl.errors import ModelDomainError
from basisctl.simulate._rng import chunk_states, load_state, uniform_index
from basisctl.simulate.models import bootstrap_pool

BOOT_CHUNK_PATHS: int = 1 << 16
BOOT_BLOCK_PATHS: int = 1 << 22


def required_paths(eps: float, rel_halfwidth: float = 0.1, conf: float = 0.95, minimum: int = 10_000) -> int:
    """Paths so that a binomial frequency near ``eps`` has a ``conf`` CI of relative half-width
    ``rel_halfwidth``: n = z^2 (1 - eps) / (eps r^2) (normal approximation), at least ``minimum``."""
    from scipy import stats  # lazy: keeps `basisctl` start-up fast
    if not 0.0 < eps < 1.0:
        raise ModelDomainError(f"eps must lie in (0, 1) (got {eps!r})")
    if not 0.0 < rel_halfwidth < 1.0:
        raise ModelDomainError(f"rel_halfwidth must lie in (0, 1) (got {rel_halfwidth!r})")
    if not 0.0 < conf < 1.0:
        raise ModelDomainError(f"conf must lie in (0, 1) (got {conf!r})")
    z = stats.norm.ppf(0.5 + conf / 2.0)
    return max(int(np.ceil(z * z * (1.0 - eps) / (eps * rel_halfwidth**2))), int(minimum))


def clopper_pearson(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI for k successes in n trials."""
    from scipy import stats  # lazy: keeps `basisctl` start-up fast
    a = 1.0 - conf
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


@njit(parallel=True, cache=True)
def running_max_nb(chunk_lo: int, chunk_hi: int, chunk_paths: int, n_paths: int, states: NDArray[np.uint64],
                   pool: NDArray[np.float64], n_steps: int, out: NDArray[np.float64]) -> None:
    """out[i - chunk_lo*chunk_paths] = max(0, max_k S_k) for resampled paths i of chunks [chunk_lo, chunk_hi)."""
    n_pool = pool.size
    base = chunk_lo * chunk_paths
    for cc in prange(chunk_hi - chunk_lo):
        c = chunk_lo + cc
        s0, s1, s2, s3 = load_state(states[c])
        i0 = c * chunk_paths
        i1 = min(i0 + chunk_paths, n_paths)
        for i in range(i0, i1):
            cum = 0.0
            m = 0.0
            for _k in range(n_steps):
                j, s0, s1, s2, s3 = uniform_index(s0, s1, s2, s3, n_pool)
                cum += pool[j]
                if cum > m:
                    m = cum
            out[i - base] = m


@dataclass(frozen=True)
class BootstrapLower:
    """alpha_L^boot [fraction of capital] and its Monte Carlo uncertainty.

    hit_freq: empirical liquidation frequency over h_liq at alpha_lower_boot (strictly above the infimum);
    hit_freq_ci: Clopper-Pearson interval of that frequency; alpha_ci: order-statistic interval of the
    alpha at which the (population, given the pool) hit probability equals eps.
    """

    alpha_lower_boot: float
    hit_freq: float
    hit_freq_ci: tuple[float, float]
    alpha_ci: tuple[float, float]
    paths: int
    steps: int
    eps: float
    conf: float
    stress: float
    demean: bool
    theta_f: float
    n_returns: int
    seed: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "alpha_lower_boot": self.alpha_lower_boot,
            "alpha_lower_boot_ci": list(self.alpha_ci),
            "hit_freq": self.hit_freq,
            "hit_freq_ci": list(self.hit_freq_ci),
            "paths": self.paths,
            "steps": self.steps,
            "eps_liq": self.eps,
            "conf": self.conf,
            "stress": self.stress,
            "demeaned": self.demean,
            "theta_f": self.theta_f,
            "n_returns": self.n_returns,
            "seed": self.seed,
            "seconds": self.seconds,
        }


def _alpha_of_b(b: float, theta_f: float) -> float:
    """alpha with log barrier b: 1 - exp(-b) / (1 + theta_F); b <= 0 gives alpha_liq."""
    return float(1.0 - np.exp(-max(b, 0.0)) / (1.0 + theta_f))


def alpha_lower_bootstrap(
    returns: ArrayLike,
    theta_f: float,
    h_liq_hours: float = 3.0,
    eps_liq: float = 1e-4,
    stress: float = 1.5,
    *,
    interval_hours: float = 1.0,
    demean: bool = True,
    paths: int | None = None,
    rel_halfwidth: float = 0.1,
    conf: float = 0.95,
    seed: int = 0,
) -> BootstrapLower:
    """eq. 40: the smallest alpha whose empirical h_liq liquidation frequency on bootstrap paths is <= eps_liq.

    returns: historical log returns of consecutive ``interval_hours`` bars [log]; theta_F [fraction of
    notional]; h_liq_hours must be a whole number of bars; paths: None sizes it with
    :func:`required_paths` (eps_liq, rel_halfwidth, conf).
    """
    from scipy import stats  # lazy: keeps `basisctl` start-up fast
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1 or r.size < 2 or not np.all(np.isfinite(r)):
        raise ModelDomainError("bootstrap needs a 1-D array of at least 2 finite returns")
    if not 0.0 < theta_f < 1.0:
        raise ModelDomainError(f"theta_f must lie in (0, 1) (got {theta_f!r})")
    if not (np.isfinite(stress) and stress > 0):
        raise ModelDomainError(f"stress must be > 0 (got {stress!r})")
    if not 0.0 < eps_liq < 1.0:
        raise ModelDomainError(f"eps_liq must lie in (0, 1) (got {eps_liq!r})")
    n_steps = round(h_liq_hours / interval_hours)
    if n_steps < 1 or abs(n_steps * interval_hours - h_liq_hours) > 1e-9:
        raise ModelDomainError(f"h_liq {h_liq_hours:g} h is not a whole number of {interval_hours:g} h bars")
    n = int(paths) if paths is not None else required_paths(eps_liq, rel_halfwidth, conf)
    if n < 2:
        raise ModelDomainError(f"need at least 2 bootstrap paths (got {n})")
    pool = bootstrap_pool(r, stress, demean)
    a = 1.0 - conf
    k_lo = int(stats.binom.ppf(a / 2, n, eps_liq))
    k_hi = int(stats.binom.ppf(1 - a / 2, n, eps_liq))
    k = int(np.floor(eps_liq * n))
    keep = min(max(k_hi, k) + 2, n)
    t0 = time.perf_counter()
    n_chunks = -(-n // BOOT_CHUNK_PATHS)
    states = chunk_states(seed, n_chunks)
    chunks_per_block = max(BOOT_BLOCK_PATHS // BOOT_CHUNK_PATHS, 1)
    top = np.empty(0)
    for lo in range(0, n_chunks, chunks_per_block):
        hi = min(lo + chunks_per_block, n_chunks)
        m = min(hi * BOOT_CHUNK_PATHS, n) - lo * BOOT_CHUNK_PATHS
        out = np.empty(m)
        running_max_nb(lo, hi, BOOT_CHUNK_PATHS, n, states, pool, n_steps, out)
        cand = np.concatenate([top, out])
        if cand.size > keep:
            cand = np.partition(cand, cand.size - keep)[cand.size - keep:]
        top = cand
    desc = np.sort(top)[::-1]  # desc[i] = (i+1)-th largest running maximum
    b_star = float(desc[k]) if k < desc.size else 0.0
    alpha_boot = _alpha_of_b(b_star, theta_f)
    # frequency strictly above the infimum: paths with M > b* (ties at b* excluded)
    hits = int(np.count_nonzero(desc > b_star)) if b_star > 0 else int(np.count_nonzero(desc > 0))
    freq = hits / n
    alpha_ci = (_alpha_of_b(float(desc[min(k_hi, desc.size - 1)]), theta_f),
                _alpha_of_b(float(desc[min(k_lo, desc.size - 1)]), theta_f))
    return BootstrapLower(
        alpha_lower_boot=alpha_boot, hit_freq=freq, hit_freq_ci=clopper_pearson(hits, n, conf),
        alpha_ci=alpha_ci, paths=n, steps=n_steps, eps=float(eps_liq), conf=float(conf), stress=float(stress),
        demean=bool(demean), theta_f=float(theta_f), n_returns=int(r.size), seed=int(seed),
        seconds=time.perf_counter() - t0,
    )
