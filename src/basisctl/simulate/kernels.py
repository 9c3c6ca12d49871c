"""Compiled and reference kernels of the band Monte Carlo (first hits of alpha_U and alpha_L).

Both kernels stream: each path (or antithetic pair, a "unit") is simulated through all steps while its
barrier survival state lives in a (n_sub, C) scratch array; only per-column sums and a per-step histogram of
hit mass leave the kernel (C x (T+1)), never an N x T array.

Estimator (continuous monitoring). Given the discrete skeleton y_{k-1} -> y_k of a Brownian motion with
constant drift and per-step variance v, the probability that the path crossed a barrier b in between is
exp(-2 (y_{k-1} - b)(y_k - b) / v) (both ends on the same side). Instead of drawing a uniform to decide, the
kernels carry the survival probability S = prod_k (1 - p_k) (set to 0 at a discrete crossing): the unit's
hit probability 1 - S_T is an unbiased, lower-variance (Rao-Blackwellised) estimate of the continuous
first-passage probability, and S_{k-1} - S_k is its hit mass in step k. Discrete monitoring uses only the
discrete crossings. Survival below ``SURV_FLOOR`` is treated as 0 (bias <= 1e-12 per path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.simulate._rng import load_state, std_normal, uniform_index

SURV_FLOOR: float = 1e-12
BRIDGE_CUTOFF: float = 40.0  # exp(-40) ~ 4e-18: skip the exp when the crossing probability is below


@njit(inline="always")
def _zone_nb(su: NDArray[np.float64], sl: NDArray[np.float64], bu: NDArray[np.float64], bl: NDArray[np.float64],
             d_safe: float) -> tuple[float, float]:
    """Safe zone (zu, zl) over the columns still alive in any sub-path: inside it no live barrier can be hit in
    one step (discrete: strictly inside; bridge: crossing probability below exp(-BRIDGE_CUTOFF))."""
    zu = -np.inf
    zl = np.inf
    for j in range(bu.size):
        live_u = False
        live_l = False
        for s in range(su.shape[0]):
            if su[s, j] > 0.0:
                live_u = True
            if sl[s, j] > 0.0:
                live_l = True
        if live_u and bu[j] + d_safe > zu:
            zu = bu[j] + d_safe
        if live_l and bl[j] - d_safe < zl:
            zl = bl[j] - d_safe
    return zu, zl


@njit(inline="always")
def _barrier_step_nb(surv: NDArray[np.float64], hist: NDArray[np.float64], cc: int, side: int, s: int, j: int,
                     k: int, crossed: bool, d0: float, d1: float, bridge: bool, two_over_v: float,
                     inv_sub: float) -> int:
    """One step of live sub-path ``s`` against barrier column ``j`` of one side (0 upper, 1 lower): a crossing at
    the step's end moves its survival weight ``surv[s, j]`` into ``hist[cc, side, j, k]``; otherwise, with
    ``bridge``, the Brownian-bridge crossing probability exp(-2 d0 d1 / v) (d0, d1: distances to the barrier at
    the step's start and end [log units]) moves that share. Returns 1 when the sub-path is dead for this column."""
    w = surv[s, j]
    if crossed:
        hist[cc, side, j, k] += w * inv_sub
        surv[s, j] = 0.0
        return 1
    if bridge:
        a = two_over_v * d0 * d1
        if a < BRIDGE_CUTOFF:
            p = np.exp(-a)
            hist[cc, side, j, k] += w * p * inv_sub
            w = w * (1.0 - p)
            if w > SURV_FLOOR:
                surv[s, j] = w
            else:
                surv[s, j] = 0.0
                return 1
    return 0


@njit(parallel=True, cache=True)
def hits_kernel_nb(
    chunk_lo: int, chunk_hi: int, chunk_units: int, n_units: int, n_sub: int,
    states: NDArray[np.uint64],
    kind: int, drift: float, vol: float, bridge_var: float,
    pool: NDArray[np.float64], fund_pool: NDArray[np.float64], fund_const: float, spot_share: float,
    bu: NDArray[np.float64], bl: NDArray[np.float64], n_steps: int, bridge: bool,
    zx: NDArray[np.float64], zr: NDArray[np.float64],
    sums: NDArray[np.float64], hist: NDArray[np.float64],
) -> None:
    """Simulate units [chunk_lo*chunk_units, chunk_hi*chunk_units) (clipped at n_units), one RNG stream per
    chunk (``states[c]``), chunks in parallel. Writes per-chunk ``sums[cc] = (sum h_up, sum h_up^2,
    sum h_lo, sum h_lo^2)`` per column and ``hist[cc, side, col, k]`` hit mass in step k (k = 0: at start)."""
    n_col = bu.size
    inv_sub = 1.0 / n_sub
    two_over_v = 2.0 / bridge_var if bridge_var > 0 else 0.0
    paired = fund_pool.size > 0
    has_fund = paired or fund_const != 0.0
    n_pool = pool.size
    # safe zone: while y stays in (zone_u, zone_l) at both ends of a step, no column can be hit in it
    # (discrete: strictly inside every barrier; bridge: exp(-a) < exp(-BRIDGE_CUTOFF) for every column)
    d_safe = np.sqrt(0.5 * BRIDGE_CUTOFF * bridge_var) if bridge else 0.0
    zone_u = -np.inf
    zone_l = np.inf
    for j in range(n_col):
        if bu[j] > -np.inf and bu[j] + d_safe > zone_u:
            zone_u = bu[j] + d_safe
        if bl[j] < np.inf and bl[j] - d_safe < zone_l:
            zone_l = bl[j] - d_safe
    safe0 = zone_u < 0.0 < zone_l
    fast = kind == 0 and not has_fund
    for cc in prange(chunk_hi - chunk_lo):
        c = chunk_lo + cc
        s0, s1, s2, s3 = load_state(states[c])
        x = np.zeros(n_sub)
        fcum = np.zeros(n_sub)
        y = np.zeros(n_sub)
        safe = np.zeros(n_sub, dtype=np.bool_)
        su = np.zeros((n_sub, n_col))
        sl = np.zeros((n_sub, n_col))
        u_start = c * chunk_units
        u_end = min(u_start + chunk_units, n_units)
        for _unit in range(u_start, u_end):
            alive = 0
            # the safe zone widens as columns die (a dead column can no longer be hit), so paths that have hit
            # alpha_L keep running in the tight loop for the alpha_U columns; draws and their order are unchanged
            zu = zone_u
            zl = zone_l
            for s in range(n_sub):
                x[s] = 0.0
                fcum[s] = 0.0
                y[s] = 0.0
                safe[s] = safe0
                for j in range(n_col):
                    su[s, j] = 0.0
                    sl[s, j] = 0.0
                    if bu[j] > -np.inf:
                        if bu[j] >= 0.0:  # already at/through the upper alpha barrier
                            hist[cc, 0, j, 0] += inv_sub
                        else:
                            su[s, j] = 1.0
                            alive += 1
                    if bl[j] < np.inf:
                        if bl[j] <= 0.0:
                            hist[cc, 1, j, 0] += inv_sub
                        else:
                            sl[s, j] = 1.0
                            alive += 1
            k = 1
            while k <= n_steps:
                if alive == 0:
                    break
                z = 0.0
                have_z = False
                if fast and safe[0] and safe[n_sub - 1]:
                    # tight scalar loop while every sub-path stays in the safe zone (same draws, same order)
                    ya = y[0]
                    yb = y[n_sub - 1]
                    while k <= n_steps:
                        z, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3, zx, zr)
                        ta = ya + (drift + vol * z)
                        tb = yb + (drift - vol * z)
                        if zu < ta < zl and (n_sub == 1 or zu < tb < zl):
                            ya = ta
                            yb = tb
                            k += 1
                        else:
                            have_z = True
                            break
                    x[0] = ya
                    y[0] = ya
                    if n_sub == 2:
                        x[1] = yb
                        y[1] = yb
                    if not have_z:
                        break  # the horizon ended inside the safe zone
                r = 0.0
                fk = fund_const
                if kind == 0:
                    if not have_z:
                        z, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3, zx, zr)
                else:
                    idx, s0, s1, s2, s3 = uniform_index(s0, s1, s2, s3, n_pool)
                    r = pool[idx]
                    if paired:
                        fk = fund_pool[idx]
                for s in range(n_sub):
                    dx = r  # bootstrap draw; Gaussian: antithetic sub-path 1 mirrors the shock
                    if kind == 0:
                        dx = drift + vol * z if s == 0 else drift - vol * z
                    y0 = y[s]
                    x1 = x[s] + dx
                    if has_fund:
                        f1 = fcum[s] + spot_share * np.exp(x[s]) * fk
                        y1 = x1 - np.log1p(f1)
                        fcum[s] = f1
                    else:
                        y1 = x1
                    x[s] = x1
                    y[s] = y1
                    safe1 = zu < y1 < zl
                    if safe1 and safe[s]:
                        continue
                    safe[s] = safe1
                    alive_before = alive
                    for j in range(n_col):
                        if su[s, j] > 0.0:
                            b = bu[j]
                            alive -= _barrier_step_nb(su, hist, cc, 0, s, j, k, y1 <= b, y0 - b, y1 - b, bridge,
                                                      two_over_v, inv_sub)
                        if sl[s, j] > 0.0:
                            b = bl[j]
                            alive -= _barrier_step_nb(sl, hist, cc, 1, s, j, k, y1 >= b, b - y0, b - y1, bridge,
                                                      two_over_v, inv_sub)
                    if alive < alive_before:
                        zu, zl = _zone_nb(su, sl, bu, bl, d_safe)
                k += 1
            for j in range(n_col):
                hu = 0.0
                hl = 0.0
                if bu[j] > -np.inf:
                    for s in range(n_sub):
                        hu += 1.0 - su[s, j]
                    hu *= inv_sub
                if bl[j] < np.inf:
                    for s in range(n_sub):
                        hl += 1.0 - sl[s, j]
                    hl *= inv_sub
                sums[cc, 0, j] += hu
                sums[cc, 1, j] += hu * hu
                sums[cc, 2, j] += hl
                sums[cc, 3, j] += hl * hl


def log_share_step(xp: Any, x: Any, dx: Any, fcum: Any, fk: Any, spot_share: float, has_fund: bool
                   ) -> tuple[Any, Any, Any]:
    """One step of the paths on array backend ``xp`` (numpy or jax.numpy): the log spot price x moves by dx;
    with funding, fcum accrues ``spot_share * exp(x) * fk`` at the step's start price (eq. 30) and the tracked log
    price is y = x - log1p(fcum). Returns (x, fcum, y) after the step."""
    x1 = x + dx
    if has_fund:
        fcum = fcum + spot_share * xp.exp(x) * fk
        return x1, fcum, x1 - xp.log1p(fcum)
    return x1, fcum, x1


def hits_block_numpy(
    rng: np.random.Generator, units: int, n_sub: int,
    kind: int, drift: float, vol: float, bridge_var: float,
    pool: NDArray[np.float64], fund_pool: NDArray[np.float64], fund_const: float, spot_share: float,
    bu: NDArray[np.float64], bl: NDArray[np.float64], n_steps: int, bridge: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Numpy reference: the same estimator, vectorised over a block of units x columns, looping over time.

    Returns (sums (4, C), hist (2, C, n_steps + 1)) for this block.
    """
    n_col = bu.size
    n_p = units * n_sub
    has_u = bu > -np.inf
    has_l = bl < np.inf
    hist = np.zeros((2, n_col, n_steps + 1))
    su = np.where(has_u & (bu < 0.0), 1.0, 0.0)[None, :].repeat(n_p, axis=0)
    sl = np.where(has_l & (bl > 0.0), 1.0, 0.0)[None, :].repeat(n_p, axis=0)
    hist[0, :, 0] = (has_u & (bu >= 0.0)) * n_p  # per sub-path; divided by n_sub below
    hist[1, :, 0] = (has_l & (bl <= 0.0)) * n_p
    x = np.zeros(n_p)
    fcum = np.zeros(n_p)
    y = np.zeros(n_p)
    two_over_v = 2.0 / bridge_var if bridge_var > 0 else 0.0
    paired = fund_pool.size > 0
    has_fund = paired or fund_const != 0.0
    bu_ = bu[None, :]
    bl_ = bl[None, :]
    for k in range(1, n_steps + 1):
        fk: float | NDArray[np.float64] = fund_const
        if kind == 0:
            z = rng.standard_normal(units)
            dx = drift + vol * (np.concatenate([z, -z]) if n_sub == 2 else z)
        else:
            idx = rng.integers(0, pool.size, size=units)
            dx = pool[idx]
            if paired:
                fk = fund_pool[idx]
        y0 = y
        x, fcum, y = log_share_step(np, x, dx, fcum, fk, spot_share, has_fund)
        y1 = y
        for side, surv, b, crossed in ((0, su, bu_, y1[:, None] <= bu_), (1, sl, bl_, y1[:, None] >= bl_)):
            p = np.where(crossed, 1.0, 0.0)
            if bridge:
                with np.errstate(invalid="ignore", over="ignore"):
                    a = two_over_v * (y0[:, None] - b) * (y1[:, None] - b)
                    a = np.where(np.isfinite(a), a, np.inf)
                p = np.where(crossed, 1.0, np.where(a < BRIDGE_CUTOFF, np.exp(-np.minimum(a, BRIDGE_CUTOFF)), 0.0))
            hist[side, :, k] = (surv * p).sum(axis=0)
            surv *= 1.0 - p
            surv[surv <= SURV_FLOOR] = 0.0
    hist /= n_sub
    hu = np.where(has_u, 1.0 - su.reshape(n_sub, units, n_col).mean(axis=0), 0.0)
    hl = np.where(has_l, 1.0 - sl.reshape(n_sub, units, n_col).mean(axis=0), 0.0)
    sums = np.stack([hu.sum(0), (hu * hu).sum(0), hl.sum(0), (hl * hl).sum(0)])
    return sums, hist
