"""Optimal rebalancing band: stationary impulse control of the collateral share (issue 13).

Problem
-------
State: the collateral share alpha = M / V of a delta-neutral basis (spot Q, short perp H = -Q, margin M,
equity V = Q p + M). Under GBM prices with zero drift (dp/p = sigma dW, the martingale view the band Monte
Carlo also takes) and funding kappa [per year, on the perp notional (1 - alpha) V] credited to the margin,
Ito on 1 - alpha = Q p / V gives

    d alpha = (1 - alpha)^2 kappa dt - (1 - alpha) sigma dW          (1)

(a price rise drains the short's margin; funding refills it). Reward: the carry (1 - alpha) kappa per unit
time [fraction of equity per year]. Controls: at any time move alpha to any z at cost

    K(alpha, z) = F / D + C_s(|z - alpha| D) |z - alpha|             (2)

[fraction of equity]: F the fixed cost per rebalance [USD] (q_min-sized gas, withdrawal fees), D the capital
[USD], C_s the executable cost of side s [decimal of notional] from the execution layer's cost curve
(z > alpha raises collateral = sell-basis, z < alpha lowers it = buy-basis). Moves smaller than q_min / D are
not allowed (forced ones included). Constraint: alpha >= alpha_floor at all times (the liquidation-risk floor: the
static layer's Pi_liq(alpha; h) <= eps solved for alpha, i.e. the paper's alpha_L of eq. 38 by default);
states below it must trade. Objective: the long-run average net carry g [per year] (no discounting).

Method
------
Markov-chain approximation (Kushner & Dupuis, *Numerical Methods for Stochastic Control Problems in
Continuous Time*, ch. 4/5/7): a uniform alpha grid with step d from the floor to ``alpha_max``, one forced
state below the floor and one above ``alpha_max``. With drift b and diffusion s of (1), the upwind chain moves
up/down one step with p+- = (s^2/2 + d b^+-) / Q, Q = s^2 + d |b|, over the interpolation interval
dt = d^2 / Q (state dependent: a semi-Markov chain, average reward per unit *time*). The impulse-control
Bellman equation of the average-reward problem

    h(i) = max( (r_i - g) dt_i + p+ h(i+1) + p- h(i-1),  max_z h(z) - K(i, z) )

is solved by policy iteration (Howard): evaluate a policy by one dense linear solve for (h, g) with
h(ref) = 0, improve state by state, stop when the policy repeats. Intervention targets are restricted to
states that continue under the new policy, so jumps never chain. Compiled with numba (``_jit.njit``).

Reading off the band
--------------------
The continuation set is an interval [i_lo, i_hi] of grid states. ``alpha_lower`` = max(floor, alpha(i_lo) -
d/2) and ``alpha_upper`` = alpha(i_hi) + d/2 (the MCA boundary sits between the last continuation and the
first intervention state); ``reset_lower`` / ``reset_upper`` are the targets of the first intervention state
below / above. ``net_carry_apy`` = g [simple annual rate]; ``gross_carry_apy`` is the same policy's average
carry with the costs of its own trades excluded, so ``cost_drag_apy`` = gross - net.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.errors import ModelDomainError
from basisctl.model.policy import CostCurve, cost_at_nb

DEFAULT_GRID_STEP: float = 0.0025
DEFAULT_ALPHA_MAX: float = 0.99
MAX_ITER: int = 200


@njit
def _chain_nb(alpha: NDArray[np.float64], d: float, sigma: float, kappa: float
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Upwind MCA of (1): probabilities up/down one grid step and the interpolation interval [years]."""
    n = alpha.size
    pu = np.zeros(n)
    pd = np.zeros(n)
    dt = np.zeros(n)
    for i in range(n):
        u = 1.0 - alpha[i]
        b = u * u * kappa
        s2 = (u * sigma) ** 2
        q = s2 + d * abs(b)
        if q <= 0.0:  # alpha = 1 (only the forced end state can sit there): no diffusion, never continues
            continue
        pu[i] = (0.5 * s2 + d * max(b, 0.0)) / q
        pd[i] = (0.5 * s2 + d * max(-b, 0.0)) / q
        dt[i] = d * d / q
    return pu, pd, dt


@njit
def _cost_matrix_nb(alpha: NDArray[np.float64], fixed_frac: float, capital_usd: float, min_move: float,
                    sell_q: NDArray[np.float64], sell_c: NDArray[np.float64], buy_q: NDArray[np.float64],
                    buy_c: NDArray[np.float64]) -> NDArray[np.float64]:
    """K[i, z] of (2) [fraction of equity]; +inf for moves below q_min (forced states included: the policy's
    lower breach sends a trade below q_min to the EMERGENCY path, which the solved band should not rely on)."""
    n = alpha.size
    k = np.empty((n, n))
    for i in range(n):
        for z in range(n):
            dz = alpha[z] - alpha[i]
            move = abs(dz)
            if z == i or z == 0 or z == n - 1 or move < min_move - 1e-12:
                k[i, z] = np.inf
            elif dz > 0.0:
                k[i, z] = fixed_frac + cost_at_nb(sell_q, sell_c, move * capital_usd) * 1e-4 * move
            else:
                k[i, z] = fixed_frac + cost_at_nb(buy_q, buy_c, move * capital_usd) * 1e-4 * move
    return k


@njit
def _evaluate_nb(target: NDArray[np.int64], r: NDArray[np.float64], pu: NDArray[np.float64],
                 pd: NDArray[np.float64], dt: NDArray[np.float64], k: NDArray[np.float64], use_costs: bool
                 ) -> tuple[NDArray[np.float64], float]:
    """Solve the average-reward equations of a policy (target[i] = i: continue) for (h, g), h(ref) = 0."""
    n = r.size
    a = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    ref = -1
    for i in range(n):
        z = target[i]
        if z == i:
            if ref < 0:
                ref = i
            a[i, i] = 1.0
            if i + 1 < n:
                a[i, i + 1] -= pu[i]
            if i - 1 >= 0:
                a[i, i - 1] -= pd[i]
            a[i, n] = dt[i]
            rhs[i] = r[i] * dt[i]
        else:
            a[i, i] = 1.0
            a[i, z] -= 1.0
            rhs[i] = -k[i, z] if use_costs else 0.0
    a[n, ref] = 1.0
    x = np.linalg.solve(a, rhs)
    return x[:n], float(x[n])  # type: ignore[return-value]  # numpy-stubs: solve returns floating[Any]


@njit
def solve_band_nb(alpha: NDArray[np.float64], d: float, sigma: float, kappa: float, k: NDArray[np.float64],
                  init_target: int, max_iter: int
                  ) -> tuple[NDArray[np.int64], NDArray[np.float64], float, int, bool]:
    """Policy iteration on the grid ``alpha`` (index 0 and n-1 are the forced states). Returns the policy
    (target per state, i = continue), the relative values h, the gain g [per year], the iterations used and
    whether the policy repeated (converged) within ``max_iter``."""
    n = alpha.size
    pu, pd, dt = _chain_nb(alpha, d, sigma, kappa)
    r = (1.0 - alpha) * kappa
    target = np.arange(n)
    target[0] = init_target
    target[n - 1] = init_target
    h = np.zeros(n)
    g = 0.0
    it = 0
    converged = False
    scale = 1e-12 * max(abs(kappa), 1e-6)
    while it < max_iter:
        it += 1
        h, g = _evaluate_nb(target, r, pu, pd, dt, k, True)
        cont = np.full(n, -np.inf)
        for i in range(1, n - 1):
            cont[i] = (r[i] - g) * dt[i] + pu[i] * h[i + 1] + pd[i] * h[i - 1]
        # pass 1: which states intervene under the improved policy
        best_int = np.full(n, -np.inf)
        for i in range(n):
            for z in range(1, n - 1):
                v = h[z] - k[i, z]
                if v > best_int[i]:
                    best_int[i] = v
        stop = np.zeros(n, dtype=np.bool_)
        for i in range(n):
            if i == 0 or i == n - 1:
                stop[i] = True
            elif target[i] == i:
                stop[i] = best_int[i] > cont[i] + scale
            else:
                stop[i] = not (cont[i] > best_int[i] + scale)
        # pass 2: targets among the continuing states (keep the old target on ties)
        new = np.arange(n)
        for i in range(n):
            if not stop[i]:
                continue
            zb = -1
            vb = -np.inf
            for z in range(1, n - 1):
                if stop[z]:
                    continue
                v = h[z] - k[i, z]
                if v > vb + scale or (z == target[i] and v >= vb - scale):
                    vb = v
                    zb = z
            if zb < 0:  # nothing continues: keep the old policy's state (cannot happen for a sane grid)
                zb = target[i] if target[i] != i else init_target
            new[i] = zb
        same = True
        for i in range(n):
            if new[i] != target[i]:
                same = False
                break
        target = new
        if same:
            converged = True
            break
    return target, h, g, it, converged


@dataclass(frozen=True)
class OptimalBand:
    """The solved band [fractions of capital] and its long-run carry [simple annual rates]."""

    alpha_lower: float
    reset_lower: float
    alpha_upper: float
    reset_upper: float
    net_carry_apy: float
    gross_carry_apy: float
    cost_drag_apy: float
    alpha_floor: float
    sigma_annual: float
    kappa_annual: float
    fixed_usd: float
    capital_usd: float
    q_min_usd: float
    grid_step: float
    grid_points: int
    iterations: int
    converged: bool
    contiguous: bool

    def to_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def _curve(c: CostCurve | float) -> CostCurve:
    return c if isinstance(c, CostCurve) else CostCurve.flat(float(c))


def solve_optimal_band(
    sigma_annual: float,
    kappa_annual: float,
    alpha_floor: float,
    buy_cost: CostCurve | float = 0.0,
    sell_cost: CostCurve | float = 0.0,
    fixed_usd: float = 0.0,
    capital_usd: float = 1_000_000.0,
    q_min_usd: float = 0.0,
    alpha_max: float = DEFAULT_ALPHA_MAX,
    grid_step: float = DEFAULT_GRID_STEP,
    max_iter: int = MAX_ITER,
) -> OptimalBand:
    """Solve the stationary impulse-control problem of the module docstring.

    sigma_annual: price vol [annualised]; kappa_annual: expected funding on the perp notional [decimal per
    year, + = the short earns]; alpha_floor: the liquidation-risk floor [fraction] (alpha_L); buy_cost /
    sell_cost: buy-basis (lower collateral) / sell-basis (raise collateral) cost [CostCurve or flat bps of
    notional]; fixed_usd: fixed cost per rebalance [USD]; capital_usd: D [USD]; q_min_usd: smallest voluntary
    trade [USD spot notional]; alpha_max: top of the grid; grid_step: d [fraction of alpha].
    """
    if not (np.isfinite(sigma_annual) and sigma_annual > 0):
        raise ModelDomainError(f"sigma_annual must be > 0 (got {sigma_annual!r})")
    if not np.isfinite(kappa_annual):
        raise ModelDomainError(f"kappa_annual must be finite (got {kappa_annual!r})")
    if not 0.0 < alpha_floor < alpha_max < 1.0:
        raise ModelDomainError(f"need 0 < alpha_floor < alpha_max < 1 (got {alpha_floor!r}, {alpha_max!r})")
    if not 0.0 < grid_step <= 0.05:
        raise ModelDomainError(f"grid_step must be in (0, 0.05] (got {grid_step!r})")
    if fixed_usd < 0 or q_min_usd < 0 or not capital_usd > 0:
        raise ModelDomainError("fixed_usd and q_min_usd must be >= 0 and capital_usd > 0")
    bc, sc = _curve(buy_cost), _curve(sell_cost)
    m = int(np.floor((alpha_max - alpha_floor) / grid_step + 1e-9)) + 1
    alpha = alpha_floor + grid_step * np.arange(-1, m + 1, dtype=np.float64)  # [forced, floor .. max, forced]
    n = alpha.size
    k = _cost_matrix_nb(alpha, fixed_usd / capital_usd, float(capital_usd), q_min_usd / capital_usd,
                        sc.notional_usd, sc.cost_bps, bc.notional_usd, bc.cost_bps)
    init = int(min(n - 2, 1 + round(0.1 / grid_step)))
    target, _h, g, it, conv = solve_band_nb(alpha, grid_step, float(sigma_annual), float(kappa_annual), k, init,
                                      max_iter)
    pu, pd, dt = _chain_nb(alpha, grid_step, float(sigma_annual), float(kappa_annual))
    _h0, g_gross = _evaluate_nb(target, (1.0 - alpha) * kappa_annual, pu, pd, dt, k, False)
    cont = np.flatnonzero(target == np.arange(n))
    lo, hi = int(cont.min()), int(cont.max())
    contiguous = bool(cont.size == hi - lo + 1)
    a_lo = max(alpha_floor, float(alpha[lo]) - 0.5 * grid_step)
    a_hi = min(float(alpha[hi]) + 0.5 * grid_step, alpha_max)
    r_lo = float(alpha[target[lo - 1]])
    r_hi = float(alpha[target[hi + 1]])
    return OptimalBand(
        alpha_lower=a_lo, reset_lower=min(max(r_lo, a_lo), a_hi), alpha_upper=a_hi,
        reset_upper=min(max(r_hi, a_lo), a_hi), net_carry_apy=float(g), gross_carry_apy=float(g_gross),
        cost_drag_apy=float(g_gross - g), alpha_floor=float(alpha_floor), sigma_annual=float(sigma_annual),
        kappa_annual=float(kappa_annual), fixed_usd=float(fixed_usd), capital_usd=float(capital_usd),
        q_min_usd=float(q_min_usd), grid_step=float(grid_step), grid_points=int(n), iterations=int(it),
        converged=bool(conv), contiguous=contiguous,
    )
