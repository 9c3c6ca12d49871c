"""The ONE place the study calls the backtest kernel (:func:`basisctl.backtest.kernel.backtest_core_nb`).

When the kernel's signature or its outputs change, only :func:`run_path_nb` changes. The batch loop and its
metrics live in this file too: numba caches a jitted caller without tracking its jitted callees' sources, so keeping
them here makes any edit of the call recompile the batch.

The study's accounting is the backtest's (issue 17, docs/backtest.md): ``liq_mode`` = ``LIQ_BARRIER`` (closed at the
barrier P* or the gap open, perp loss capped at its margin), the path venue's documented fee / backstop rule
(:mod:`basisctl.venues.liquidation`, passed per path) and the spot leg naked until the open ``rehedge_delay_bars``
(default 1) bars later, re-entered at alpha_target with the re-entry costs. Other fixed settings: fills at the
deciding bar's close (no delay), the entry cost is charged, the whole cost on the spot notional.

Outputs per run (arrays over bars): NAV [USD], action code, traded spot notional [USD], funding cash [USD], cost
[USD], components [USD, n x N_COMP]. A liquidation is counted by the kernel's liquidation kind (``C_LIQ_KIND`` > 0,
one per liquidation event whatever the re-hedge delay); its effect on the return is whatever the NAV carries, with
the liquidation components (fee, margin forfeited) <= 0 by construction (never credited as a gain).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import HAVE_NUMBA, njit
from basisctl.backtest.kernel import (
    C_FORFEIT,
    C_LIQ_FEE,
    C_LIQ_KIND,
    C_REHEDGE_COST,
    C_UNHEDGED,
    LIQ_KIND_BACKSTOP,
    backtest_core_nb,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _drop_stale_cache() -> None:
    """numba caches a jitted caller with its jitted callees compiled in, but keys the entry on the caller's file
    alone: after an edit of the backtest kernel (or the policy it calls) this module's cached batch would still run
    the old kernel. Drop this module's numba cache files when the callees' sources changed (stamp: SHA-256 of
    backtest/kernel.py and model/policy.py, next to the cache in ``__pycache__``). Best effort (read-only installs
    keep their cache)."""
    import hashlib
    from pathlib import Path

    import basisctl.backtest.kernel as kernel
    import basisctl.model.policy as policy

    try:
        h = hashlib.sha256(b"".join(Path(str(m.__file__)).read_bytes() for m in (kernel, policy))).hexdigest()
        d = Path(__file__).parent / "__pycache__"
        stamp = d / "kernel_adapter.callees.sha256"
        if stamp.is_file() and stamp.read_text() == h:
            return
        for f in d.glob("kernel_adapter.*.nb[ic]"):
            f.unlink(missing_ok=True)
        d.mkdir(exist_ok=True)
        stamp.write_text(h)
    except OSError:
        pass


_drop_stale_cache()
#: number of metric columns (names: :data:`basisctl.study.batch.METRICS`)
N_METRICS = 17


@njit
def run_path_nb(po: F64, ph: F64, pc: F64, so: F64, sc: F64, fr: F64, fi: F64, capital: float,
                alpha_target: float, alpha_lower: float, alpha_upper: float, kappa_14d: float, k_reb_fix: float,
                q_min_usd: float, buffer_bps: float, cost_q: F64, cost_c: F64, theta_f: float, tier_lo: F64,
                tier_theta: F64, reset_lower: float, reset_upper: float, reset_every_bars: int, liq_mode: int,
                liq_fee_rate: float, backstop_frac: float, rehedge_delay_bars: int
                ) -> tuple[F64, NDArray[np.int64], F64, F64, F64, F64]:
    """One backtest with the study's fixed settings (flat cost curve ``cost_q``/``cost_c`` on both sides,
    unlimited budgets). Returns (nav, action, traded, funding, cost, components)."""
    inf = np.inf
    out = backtest_core_nb(po, ph, pc, so, sc, fr, fi, capital, alpha_target, alpha_lower, alpha_upper, kappa_14d,
                           k_reb_fix, q_min_usd, buffer_bps, cost_q, cost_c, inf, cost_q, cost_c, inf, theta_f, 0,
                           True, True, False, liq_mode, tier_lo, tier_theta, reset_lower, reset_upper,
                           reset_every_bars, liq_fee_rate, backstop_frac, rehedge_delay_bars)
    return out[0], out[8], out[9], out[5], out[6], out[12]


if HAVE_NUMBA:
    from numba import prange
else:  # pragma: no cover
    prange = range  # type: ignore[misc]


@njit
def static_carry_nb(fr: F64, fi: F64, po: F64, pc: F64, so0: float) -> float:
    """Funding [fraction of the capital per unit of (1 - alpha_entry)] that the entry short would collect held
    unchanged over the path: sum_i (fr_i po_i + fi_i pc_i) / so_0 (the entry is (1 - alpha) D / so_0 units)."""
    s = 0.0
    for i in range(fr.size):
        s += fr[i] * po[i] + fi[i] * pc[i]
    return s / so0


@njit
def _metrics_nb(nav: F64, act: I64, traded: F64, fund: F64, cost: F64, comp: F64, capital: float,
                static_unit: float, alpha_target: float, out: F64) -> None:
    """The metric columns of one run (``basisctl.study.batch.METRICS``). The judged return ``ret`` (and the
    drawdown) removes every bar's naked-spot GAIN (``max(comp[i, C_UNHEDGED], 0)``, summed into
    ``naked_gain_removed``) and keeps its losses: a liquidation is never credited as a gain. ``ret_raw`` is the
    kernel's NAV return."""
    peak = capital
    dd = 0.0
    n_liq = 0
    n_back = 0
    reb = 0
    turn = 0.0
    unh = 0.0
    gain = 0.0
    fee = 0.0
    forf = 0.0
    reh = 0.0
    for i in range(nav.size):
        u = comp[i, C_UNHEDGED]
        unh += u
        if u > 0.0:
            gain += u
        v = nav[i] - gain
        if v > peak:
            peak = v
        d = v / peak - 1.0
        if d < dd:
            dd = d
        a = act[i]
        if comp[i, C_LIQ_KIND] > 0.0:
            n_liq += 1
            if comp[i, C_LIQ_KIND] == LIQ_KIND_BACKSTOP:
                n_back += 1
        if a == 1 or a == 2 or a == 3:
            reb += 1
            turn += traded[i]
        fee += comp[i, C_LIQ_FEE]
        forf += comp[i, C_FORFEIT]
        reh += comp[i, C_REHEDGE_COST]
    ret_raw = nav[nav.size - 1] / capital - 1.0
    ret = ret_raw - gain / capital
    static = (1.0 - alpha_target) * static_unit
    out[0] = ret
    out[1] = n_liq
    out[2] = dd
    out[3] = turn / capital
    out[4] = reb
    out[5] = fund.sum() / capital
    out[6] = -cost.sum() / capital
    out[7] = (fee + forf) / capital
    out[8] = unh / capital
    out[9] = fee / capital
    out[10] = forf / capital
    out[11] = reh / capital
    out[12] = static
    out[13] = ret - static
    out[14] = n_back
    out[15] = ret_raw
    out[16] = gain / capital


@njit(parallel=True)
def batch_nb(po: F64, ph: F64, pc: F64, so: F64, sc: F64, fr: F64, fi: F64, offsets: I64, cost_bps: F64,
             tier_lo: F64, tier_th: F64, tier_off: I64, liq_fee: F64, backstop: F64, params: F64, reset_every: I64,
             capital: float, q_min_usd: float, buffer_bps: float, liq_mode: int, rehedge_delay_bars: int) -> F64:
    """Metrics (rules, paths, N_METRICS). ``params``: (len(RULE_FIELDS), rules, paths); ``reset_every``
    (rules, paths) in bars; ``cost_bps`` per path (flat, both sides); tiers per path via ``tier_off``;
    ``liq_fee`` [fraction of notional] / ``backstop`` [fraction of maintenance] per path (its venue's rule)."""
    n_rules = params.shape[1]
    n_paths = offsets.size - 1
    out = np.empty((n_rules, n_paths, N_METRICS))
    for t in prange(n_rules * n_paths):
        r = t // n_paths
        p = t % n_paths
        a, b = offsets[p], offsets[p + 1]
        cq = np.zeros(1)
        cc = np.full(1, cost_bps[p])
        tl = tier_lo[tier_off[p]:tier_off[p + 1]]
        tt = tier_th[tier_off[p]:tier_off[p + 1]]
        nav, act, traded, fund, cost, comp = run_path_nb(
            po[a:b], ph[a:b], pc[a:b], so[a:b], sc[a:b], fr[a:b], fi[a:b], capital, params[0, r, p],
            params[1, r, p], params[2, r, p], params[3, r, p], params[4, r, p], q_min_usd, buffer_bps, cq, cc,
            params[7, r, p], tl, tt, params[5, r, p], params[6, r, p], reset_every[r, p], liq_mode, liq_fee[p],
            backstop[p], rehedge_delay_bars)
        su = static_carry_nb(fr[a:b], fi[a:b], po[a:b], pc[a:b], so[a])
        _metrics_nb(nav, act, traded, fund, cost, comp, capital, su, params[0, r, p], out[r, p])
    return out
