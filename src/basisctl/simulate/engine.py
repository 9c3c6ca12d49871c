"""Monte Carlo of alpha_t against band candidates: first hits of alpha_U and alpha_L within a horizon.

One call simulates ONE path set (one seed, one model, one alpha_0 = alpha_target) and scores MANY columns
(alpha_U[j], alpha_L[j]) on it: common random numbers across candidate bands, so differences between columns
are not blurred by independent noise. Backends share this interface and the estimator (see ``kernels``):

* ``numpy``  reference, vectorised over blocks of paths, loops over time;
* ``numba``  CPU default, ``prange`` over fixed-size chunks of paths, one RNG stream per chunk (bit-identical
  results for a seed whatever the thread count);
* ``jax``    optional (``pip install basisctl[gpu]``), ``lax.scan`` over time on blocks of paths, float32.

Times are measured from the start; ``hist`` holds the hit mass per step, from which hit-time quantiles are
read with linear interpolation inside the step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import ModelDomainError
from basisctl.simulate._rng import ZIG_RATIO, ZIG_X, chunk_states
from basisctl.simulate.kernels import hits_block_numpy, hits_kernel_nb
from basisctl.simulate.models import PathModel, StepParams, log_barriers

Backend = Literal["numpy", "numba", "jax"]
Monitoring = Literal["continuous", "discrete"]
BACKENDS: tuple[str, ...] = ("numpy", "numba", "jax")

#: units (paths or antithetic pairs) per RNG stream in the numba backend: fixed, so results do not depend on
#: the thread count; chunks are processed in super-blocks of ``CHUNKS_PER_CALL`` to bound scratch memory.
CHUNK_UNITS: int = 2048
CHUNKS_PER_CALL: int = 64
NUMPY_BLOCK_UNITS: int = 32_768
JAX_BLOCK_UNITS: int = 1 << 20

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class HitResult:
    """Hit statistics per column. Rates are probabilities within the horizon; times in hours from start.

    ``upper_*`` refer to alpha_t >= alpha_U (a price fall), ``lower_*`` to alpha_t <= alpha_L (a rise).
    Standard errors are over independent units (an antithetic pair counts as one unit).
    """

    alpha0: float
    alpha_upper: NDArray[np.float64]
    alpha_lower: NDArray[np.float64]
    upper_hit_rate: NDArray[np.float64]
    upper_hit_rate_se: NDArray[np.float64]
    lower_hit_rate: NDArray[np.float64]
    lower_hit_rate_se: NDArray[np.float64]
    upper_hist: NDArray[np.float64]  # (C, steps + 1) hit mass per step [paths]
    lower_hist: NDArray[np.float64]
    paths: int
    steps: int
    step_hours: float
    backend: str
    monitoring: str
    antithetic: bool
    seed: int
    seconds: float
    model: dict[str, object] = field(default_factory=dict)

    @property
    def horizon_hours(self) -> float:
        return self.steps * self.step_hours

    @property
    def path_steps_per_s(self) -> float:
        """Throughput [path-steps per second] (nominal paths x steps, wall clock of the simulation)."""
        return self.paths * self.steps / self.seconds if self.seconds > 0 else float("nan")

    def _quantile(self, hist: NDArray[np.float64], q: float) -> NDArray[np.float64]:
        out = np.full(hist.shape[0], np.nan)
        for j in range(hist.shape[0]):
            h = hist[j]
            tot = h.sum()
            if tot <= 0:
                continue
            cum = np.cumsum(h)
            target = q * tot
            k = int(np.searchsorted(cum, target, side="left"))
            if k == 0:
                out[j] = 0.0
                continue
            prev = cum[k - 1]
            frac = (target - prev) / h[k] if h[k] > 0 else 1.0
            out[j] = (k - 1 + frac) * self.step_hours
        return out

    def upper_hit_quantile_hours(self, q: float) -> NDArray[np.float64]:
        """q-quantile of the alpha_U hit time among paths that hit within the horizon [hours]."""
        return self._quantile(self.upper_hist, q)

    def lower_hit_quantile_hours(self, q: float) -> NDArray[np.float64]:
        """q-quantile of the alpha_L hit time among paths that hit within the horizon [hours]."""
        return self._quantile(self.lower_hist, q)

    @property
    def median_upper_hit_days(self) -> NDArray[np.float64]:
        return self.upper_hit_quantile_hours(0.5) / 24.0

    @property
    def median_lower_hit_days(self) -> NDArray[np.float64]:
        return self.lower_hit_quantile_hours(0.5) / 24.0

    def columns(self) -> list[dict[str, float]]:
        """One dict per column with rates, standard errors and hit-time quantiles [days]."""
        uq = {q: self.upper_hit_quantile_hours(q) / 24.0 for q in (0.1, 0.5, 0.9)}
        lq = {q: self.lower_hit_quantile_hours(q) / 24.0 for q in (0.1, 0.5, 0.9)}
        rows = []
        for j in range(self.alpha_upper.size):
            rows.append({
                "alpha_upper": float(self.alpha_upper[j]),
                "alpha_lower": float(self.alpha_lower[j]),
                "upper_hit_rate": float(self.upper_hit_rate[j]),
                "upper_hit_rate_se": float(self.upper_hit_rate_se[j]),
                "upper_hit_days_q10": float(uq[0.1][j]),
                "upper_hit_days_median": float(uq[0.5][j]),
                "upper_hit_days_q90": float(uq[0.9][j]),
                "lower_hit_rate": float(self.lower_hit_rate[j]),
                "lower_hit_rate_se": float(self.lower_hit_rate_se[j]),
                "lower_hit_days_q10": float(lq[0.1][j]),
                "lower_hit_days_median": float(lq[0.5][j]),
                "lower_hit_days_q90": float(lq[0.9][j]),
            })
        return rows

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.columns())

    def meta(self) -> dict[str, object]:
        return {
            "alpha_target": self.alpha0,
            "paths": self.paths,
            "steps": self.steps,
            "step_hours": self.step_hours,
            "horizon_days": self.horizon_hours / 24.0,
            "backend": self.backend,
            "monitoring": self.monitoring,
            "antithetic": self.antithetic,
            "seed": self.seed,
            "seconds": self.seconds,
            "path_steps_per_s": self.path_steps_per_s,
            **{f"model_{k}" if k != "model" else "model": v for k, v in self.model.items()},
        }

    def to_dict(self) -> dict[str, object]:
        return {**self.meta(), "columns": self.columns()}

    def summary(self) -> str:
        lines = [f"{self.paths:,} paths x {self.steps} steps of {self.step_hours:g} h ({self.backend}, "
                 f"{self.monitoring}{', antithetic' if self.antithetic else ''}), alpha_0={self.alpha0:.4f}"]
        for c in self.columns():
            lines.append(f"  alpha_U={c['alpha_upper']:.4f}: hit {c['upper_hit_rate']:.4f} "
                         f"(se {c['upper_hit_rate_se']:.4f}), median {c['upper_hit_days_median']:.1f} d; "
                         f"alpha_L={c['alpha_lower']:.4f}: hit {c['lower_hit_rate']:.2e}")
        return "\n".join(lines)


def _n_steps(horizon_hours: float, step_hours: float) -> int:
    if not (np.isfinite(horizon_hours) and horizon_hours > 0):
        raise ModelDomainError(f"horizon must be > 0 hours (got {horizon_hours!r})")
    if not (np.isfinite(step_hours) and step_hours > 0):
        raise ModelDomainError(f"step must be > 0 hours (got {step_hours!r})")
    n = round(horizon_hours / step_hours)
    if n < 1 or abs(n * step_hours - horizon_hours) > 1e-9 * max(horizon_hours, 1.0):
        raise ModelDomainError(
            f"horizon {horizon_hours:g} h is not a whole number of {step_hours:g} h steps")
    return n


def _run_numba(sp: StepParams, units: int, n_sub: int, bu: NDArray[np.float64], bl: NDArray[np.float64],
               spot_share: float, n_steps: int, bridge: bool, seed: int,
               progress: ProgressFn | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n_chunks = -(-units // CHUNK_UNITS)
    states = chunk_states(seed, n_chunks)
    n_col = bu.size
    sums = np.zeros((4, n_col))
    hist = np.zeros((2, n_col, n_steps + 1))
    for lo in range(0, n_chunks, CHUNKS_PER_CALL):
        hi = min(lo + CHUNKS_PER_CALL, n_chunks)
        s_blk = np.zeros((hi - lo, 4, n_col))
        h_blk = np.zeros((hi - lo, 2, n_col, n_steps + 1))
        hits_kernel_nb(lo, hi, CHUNK_UNITS, units, n_sub, states, sp.kind, sp.drift, sp.vol, sp.bridge_var,
                       sp.returns, sp.funding, sp.funding_const, spot_share, bu, bl, n_steps, bridge,
                       ZIG_X, ZIG_RATIO, s_blk, h_blk)
        sums += s_blk.sum(axis=0)  # fixed reduction order: bit-identical whatever the thread count
        hist += h_blk.sum(axis=0)
        if progress is not None:
            progress(min(hi * CHUNK_UNITS, units), units)
    return sums, hist


def _run_numpy(sp: StepParams, units: int, n_sub: int, bu: NDArray[np.float64], bl: NDArray[np.float64],
               spot_share: float, n_steps: int, bridge: bool, seed: int,
               progress: ProgressFn | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n_blocks = -(-units // NUMPY_BLOCK_UNITS)
    children = np.random.SeedSequence(seed).spawn(n_blocks)
    sums = np.zeros((4, bu.size))
    hist = np.zeros((2, bu.size, n_steps + 1))
    done = 0
    for b in range(n_blocks):
        m = min(NUMPY_BLOCK_UNITS, units - done)
        s, h = hits_block_numpy(np.random.default_rng(children[b]), m, n_sub, sp.kind, sp.drift, sp.vol,
                                sp.bridge_var, sp.returns, sp.funding, sp.funding_const, spot_share, bu, bl,
                                n_steps, bridge)
        sums += s
        hist += h
        done += m
        if progress is not None:
            progress(done, units)
    return sums, hist


def simulate_hits(
    model: PathModel,
    alpha_target: float,
    alpha_upper: ArrayLike,
    alpha_lower: ArrayLike | None = None,
    *,
    horizon_hours: float,
    step_hours: float = 1.0,
    paths: int = 100_000,
    seed: int = 0,
    backend: Backend = "numba",
    monitoring: Monitoring = "continuous",
    antithetic: bool = False,
    progress: ProgressFn | None = None,
) -> HitResult:
    """First hits of alpha_U[j] (from below, a price fall) and alpha_L[j] (from above, a rise) within
    ``horizon_hours`` for every column j, on one common set of ``paths`` paths started at alpha_target.

    alpha_* [fraction of capital]; NaN in either list means "no such barrier" for that column.
    monitoring: "continuous" adds the Brownian-bridge crossing probability per step (exact for GBM at any
    step; for bootstrap paths it uses the pool's sample variance), "discrete" checks only the step ends.
    antithetic: pairs (z, -z) of Gaussian increments (not available for the bootstrap model).
    """
    if backend not in BACKENDS:
        raise ModelDomainError(f"unknown backend '{backend}': expected one of {', '.join(BACKENDS)}")
    if monitoring not in ("continuous", "discrete"):
        raise ModelDomainError(f"monitoring must be 'continuous' or 'discrete' (got '{monitoring}')")
    if int(paths) < 2:
        raise ModelDomainError(f"need at least 2 paths (got {paths!r})")
    n_steps = _n_steps(horizon_hours, step_hours)
    sp = model.step_params(step_hours)
    if antithetic and sp.kind != 0:
        raise ModelDomainError("antithetic variates need Gaussian increments (not the bootstrap model)")
    bu, bl = log_barriers(float(alpha_target), alpha_upper, alpha_lower)
    n_sub = 2 if antithetic else 1
    units = -(-int(paths) // n_sub)
    bridge = monitoring == "continuous"
    spot_share = 1.0 - float(alpha_target)
    t0 = time.perf_counter()
    if backend == "numba":
        sums, hist = _run_numba(sp, units, n_sub, bu, bl, spot_share, n_steps, bridge, seed, progress)
    elif backend == "numpy":
        sums, hist = _run_numpy(sp, units, n_sub, bu, bl, spot_share, n_steps, bridge, seed, progress)
    else:
        from basisctl.simulate.jax_backend import run_jax

        sums, hist = run_jax(sp, units, n_sub, bu, bl, spot_share, n_steps, bridge, seed, progress)
    seconds = time.perf_counter() - t0
    n = float(units)
    mean_u, mean_l = sums[0] / n, sums[2] / n
    var_u = np.maximum(sums[1] / n - mean_u**2, 0.0) * n / (n - 1)
    var_l = np.maximum(sums[3] / n - mean_l**2, 0.0) * n / (n - 1)
    au = np.atleast_1d(np.asarray(alpha_upper, dtype=float))
    al = np.full_like(au, np.nan) if alpha_lower is None else np.atleast_1d(np.asarray(alpha_lower, dtype=float))
    return HitResult(
        alpha0=float(alpha_target), alpha_upper=au, alpha_lower=al,
        upper_hit_rate=np.where(np.isnan(au), np.nan, mean_u), upper_hit_rate_se=np.sqrt(var_u / n),
        lower_hit_rate=np.where(np.isnan(al), np.nan, mean_l), lower_hit_rate_se=np.sqrt(var_l / n),
        upper_hist=hist[0] * n_sub, lower_hist=hist[1] * n_sub,
        paths=units * n_sub, steps=n_steps, step_hours=float(step_hours), backend=backend,
        monitoring=monitoring, antithetic=antithetic, seed=int(seed), seconds=seconds, model=model.describe(),
    )


def warm_up(backend: Backend = "numba") -> None:
    """Compile (or load from cache) the kernels so that timings exclude compilation."""
    from basisctl.simulate.models import GBM

    simulate_hits(GBM(0.5), 0.2, [0.4], [0.05], horizon_hours=2, paths=4, backend=backend)
