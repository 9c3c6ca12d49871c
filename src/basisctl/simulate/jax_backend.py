"""Optional JAX backend (``pip install basisctl[gpu]``): the same estimator as ``kernels``, float32.

Blocks of units are simulated with ``lax.scan`` over time; the carry holds the (units, C) survival arrays and
each step emits only the (2, C) hit mass summed over the block, so memory is O(block x C), never N x T.
Random numbers: ``jax.random`` threefry keys, ``fold_in(key(seed), block)`` per block (reproducible for a
seed and block size, not equal to the numba or numpy streams).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from basisctl.errors import BasisctlError
from basisctl.simulate.kernels import BRIDGE_CUTOFF, SURV_FLOOR, log_share_step
from basisctl.simulate.models import StepParams


def _jax() -> Any:
    try:
        import jax
    except ImportError:  # pragma: no cover - depends on the environment
        raise BasisctlError("the jax backend needs the optional extra: pip install 'basisctl[gpu]'") from None
    return jax


def default_unroll() -> int:
    """Steps fused per scan iteration: 8 on accelerators (fewer kernel launches and HBM round trips of the
    carry), 1 on CPU (unrolling only lengthens compilation there)."""
    return 1 if _jax().default_backend() == "cpu" else 8


@lru_cache(maxsize=16)
def _block_fn(n_sub: int, n_col: int, n_steps: int, kind: int, bridge: bool, has_fund: bool, paired: bool,
              unroll: int = 1) -> Callable[..., Any]:
    jax = _jax()
    jnp = jax.numpy
    lax = jax.lax

    def run(key: Any, units: int, drift: Any, vol: Any, two_over_v: Any, pool: Any, fund_pool: Any,
            fund_const: Any, spot_share: Any, bu: Any, bl: Any) -> Any:
        n_p = units * n_sub
        has_u = bu > -jnp.inf
        has_l = bl < jnp.inf
        su0 = jnp.broadcast_to(jnp.where(has_u & (bu < 0), 1.0, 0.0), (n_p, n_col)).astype(jnp.float32)
        sl0 = jnp.broadcast_to(jnp.where(has_l & (bl > 0), 1.0, 0.0), (n_p, n_col)).astype(jnp.float32)
        z0 = jnp.zeros(n_p, jnp.float32)

        def side(surv: Any, y0: Any, y1: Any, b: Any, up: bool) -> tuple[Any, Any]:
            crossed = (y1[:, None] <= b[None, :]) if up else (y1[:, None] >= b[None, :])
            p = jnp.where(crossed, 1.0, 0.0)
            if bridge:
                d0 = (y0[:, None] - b[None, :]) if up else (b[None, :] - y0[:, None])
                d1 = (y1[:, None] - b[None, :]) if up else (b[None, :] - y1[:, None])
                a = jnp.where(jnp.isfinite(b)[None, :], two_over_v * d0 * d1, jnp.inf)
                p = jnp.where(crossed, 1.0, jnp.where(a < BRIDGE_CUTOFF, jnp.exp(-jnp.minimum(a, BRIDGE_CUTOFF)), 0.0))
            mass = (surv * p).sum(axis=0)
            s = surv * (1.0 - p)
            s = jnp.where(s <= SURV_FLOOR, 0.0, s)
            return s, mass

        def step(carry: Any, k: Any) -> tuple[Any, Any]:
            x, f, y, su, sl = carry
            kk = jax.random.fold_in(key, k)
            fk = fund_const
            if kind == 0:
                z = jax.random.normal(kk, (units,), jnp.float32)
                dx = drift + vol * (jnp.concatenate([z, -z]) if n_sub == 2 else z)
            else:
                idx = jax.random.randint(kk, (units,), 0, pool.shape[0])
                dx = pool[idx]
                if paired:
                    fk = fund_pool[idx]
            x1, f, y1 = log_share_step(jnp, x, dx, f, fk, spot_share, has_fund)
            su, mu_ = side(su, y, y1, bu, True)
            sl, ml_ = side(sl, y, y1, bl, False)
            return (x1, f, y1, su, sl), jnp.stack([mu_, ml_])

        carry, masses = lax.scan(step, (z0, z0, z0, su0, sl0), jnp.arange(1, n_steps + 1),
                                 unroll=max(1, min(unroll, n_steps)))
        _, _, _, su, sl = carry
        hu = jnp.where(has_u, 1.0 - su.reshape(n_sub, units, n_col).mean(axis=0), 0.0)
        hl = jnp.where(has_l, 1.0 - sl.reshape(n_sub, units, n_col).mean(axis=0), 0.0)
        sums = jnp.stack([hu.sum(0), (hu * hu).sum(0), hl.sum(0), (hl * hl).sum(0)])
        return sums, masses

    return jax.jit(run, static_argnums=(1,))


def run_jax(sp: StepParams, units: int, n_sub: int, bu: NDArray[np.float64], bl: NDArray[np.float64],
            spot_share: float, n_steps: int, bridge: bool, seed: int,
            progress: Callable[[int, int], None] | None, block_units: int | None = None,
            unroll: int | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run the estimator on JAX's default device; returns (sums (4, C), hist (2, C, n_steps + 1))."""
    jax = _jax()
    jnp = jax.numpy
    from basisctl.simulate.engine import JAX_BLOCK_UNITS

    block = int(block_units or JAX_BLOCK_UNITS)
    n_col = bu.size
    fn = _block_fn(n_sub, n_col, n_steps, sp.kind, bridge, sp.has_funding, sp.funding.size > 0,
                   int(unroll) if unroll is not None else default_unroll())
    f32 = jnp.float32
    pool = jnp.asarray(sp.returns if sp.returns.size else np.zeros(1), f32)
    fund_pool = jnp.asarray(sp.funding if sp.funding.size else np.zeros(1), f32)
    args = (f32(sp.drift), f32(sp.vol), f32(2.0 / sp.bridge_var if sp.bridge_var > 0 else 0.0), pool, fund_pool,
            f32(sp.funding_const), f32(spot_share), jnp.asarray(bu, f32), jnp.asarray(bl, f32))
    root = jax.random.PRNGKey(int(seed) & 0x7FFFFFFF)
    sums = np.zeros((4, n_col))
    hist = np.zeros((2, n_col, n_steps + 1))
    hist[0, :, 0] = ((bu > -np.inf) & (bu >= 0.0)) * units
    hist[1, :, 0] = ((bl < np.inf) & (bl <= 0.0)) * units
    done = 0
    b = 0
    while done < units:
        m = min(block, units - done)
        s, masses = fn(jax.random.fold_in(root, b), m, *args)
        sums += np.asarray(s, dtype=np.float64)
        hist[:, :, 1:] += np.moveaxis(np.asarray(masses, dtype=np.float64), 0, -1) / n_sub
        done += m
        b += 1
        if progress is not None:
            progress(done, units)
    return sums, hist
