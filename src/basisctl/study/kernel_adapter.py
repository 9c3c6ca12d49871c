"""The ONE place the study calls the backtest kernel (:func:`basisctl.backtest.kernel.backtest_nb`).

When the kernel's signature or its outputs change (liquidation accounting, re-hedge delay, components), only
:func:`run_path_nb` changes (and ``LIQ_CODES`` if a new liquidation action code appears). The batch loop and its
metrics live in this file too: numba caches a jitted caller without tracking its jitted callees' sources, so keeping
them here makes any edit of the call recompile the batch.

Adapting to the issue-17 kernel (branch i17b, ``backtest_core_nb``): call it with ``liq_price_mode =
LIQ_BARRIER``, the venue's ``liq_fee_rate`` / ``backstop_frac`` and ``rehedge_delay_bars = 1``, add its
``ACT_LIQUIDATED`` to ``LIQ_CODES``, and keep returning (nav, action, traded, funding, cost, liquidation loss).
Until then the legacy ``backtest_nb`` (bit-identical in that branch) is called.

Fixed study settings: fills at the deciding bar's close (no delay), the entry cost is charged, a liquidation
re-enters at alpha_target at the bar close, the whole cost on the spot notional, liquidation tested at the bar
high.

Outputs per run (arrays over bars): NAV [USD], action code, traded spot notional [USD], funding cash [USD],
cost [USD], liquidation loss [USD]. A liquidation is counted by its action code (re-entry or stop), and its
effect on the return is whatever the kernel's NAV carries (never credited separately).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import HAVE_NUMBA, njit
from basisctl.backtest.kernel import ACT_REENTRY, ACT_STOP, backtest_nb

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
LIQ_CODES: tuple[int, int] = (ACT_REENTRY, ACT_STOP)


@njit
def run_path_nb(po: F64, ph: F64, pc: F64, so: F64, sc: F64, fr: F64, fi: F64, capital: float,
                alpha_target: float, alpha_lower: float, alpha_upper: float, kappa_14d: float, k_reb_fix: float,
                q_min_usd: float, buffer_bps: float, cost_q: F64, cost_c: F64, theta_f: float, tier_lo: F64,
                tier_theta: F64, reset_lower: float, reset_upper: float, reset_every_bars: int
                ) -> tuple[F64, NDArray[np.int64], F64, F64, F64, F64]:
    """One backtest with the study's fixed settings (flat cost curve ``cost_q``/``cost_c`` on both sides,
    unlimited budgets). Returns (nav, action, traded, funding, cost, liquidation loss)."""
    inf = np.inf
    out = backtest_nb(po, ph, pc, so, sc, fr, fi, capital, alpha_target, alpha_lower, alpha_upper, kappa_14d,
                      k_reb_fix, q_min_usd, buffer_bps, cost_q, cost_c, inf, cost_q, cost_c, inf, theta_f, 0,
                      True, True, False, True, tier_lo, tier_theta, reset_lower, reset_upper, reset_every_bars)
    return out[0], out[8], out[9], out[5], out[6], out[7]


if HAVE_NUMBA:
    from numba import prange
else:  # pragma: no cover
    prange = range  # type: ignore[misc]


@njit
def _metrics_nb(nav: F64, act: I64, traded: F64, fund: F64, cost: F64, liq: F64, capital: float, out: F64) -> None:
    peak = capital
    dd = 0.0
    n_liq = 0
    reb = 0
    turn = 0.0
    removed = 0.0
    prev = capital
    for i in range(nav.size):
        a = act[i]
        if (a == LIQ_CODES[0] or a == LIQ_CODES[1]) and nav[i] > prev:
            removed += nav[i] - prev
        prev = nav[i]
        v = nav[i] - removed
        if v > peak:
            peak = v
        d = v / peak - 1.0
        if d < dd:
            dd = d
        if a == LIQ_CODES[0] or a == LIQ_CODES[1]:
            n_liq += 1
        elif a == 1 or a == 2 or a == 3:
            reb += 1
            turn += traded[i]
    out[8] = nav[nav.size - 1] / capital - 1.0
    out[9] = removed / capital
    out[0] = out[8] - out[9]
    out[1] = n_liq
    out[2] = dd
    out[3] = turn / capital
    out[4] = reb
    out[5] = fund.sum() / capital
    out[6] = -cost.sum() / capital
    out[7] = -liq.sum() / capital


@njit(parallel=True)
def batch_nb(po: F64, ph: F64, pc: F64, so: F64, sc: F64, fr: F64, fi: F64, offsets: I64, cost_bps: F64,
             tier_lo: F64, tier_th: F64, tier_off: I64, params: F64, reset_every: I64, capital: float,
             q_min_usd: float, buffer_bps: float) -> F64:
    """Metrics (rules, paths, len(METRICS)). ``params``: (len(RULE_FIELDS), rules, paths); ``reset_every``
    (rules, paths) in bars; ``cost_bps`` per path (flat, both sides); tiers per path via ``tier_off``."""
    n_rules = params.shape[1]
    n_paths = offsets.size - 1
    out = np.empty((n_rules, n_paths, 10))
    for t in prange(n_rules * n_paths):
        r = t // n_paths
        p = t % n_paths
        a, b = offsets[p], offsets[p + 1]
        cq = np.zeros(1)
        cc = np.full(1, cost_bps[p])
        tl = tier_lo[tier_off[p]:tier_off[p + 1]]
        tt = tier_th[tier_off[p]:tier_off[p + 1]]
        nav, act, traded, fund, cost, liq = run_path_nb(
            po[a:b], ph[a:b], pc[a:b], so[a:b], sc[a:b], fr[a:b], fi[a:b], capital, params[0, r, p],
            params[1, r, p], params[2, r, p], params[3, r, p], params[4, r, p], q_min_usd, buffer_bps, cq, cc,
            params[7, r, p], tl, tt, params[5, r, p], params[6, r, p], reset_every[r, p])
        _metrics_nb(nav, act, traded, fund, cost, liq, capital, out[r, p])
    return out
