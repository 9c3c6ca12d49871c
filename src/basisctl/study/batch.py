"""All rules on one compiled kernel, batched over paths, with the per-run metrics computed inside it.

Inputs are the paths concatenated into flat arrays with ``offsets`` (path p = [offsets[p], offsets[p+1])), and
one parameter matrix per rule field, shape (rules, paths): every rule of a path is calibrated on that path's
own calibration data, and every rule replays the same arrays (common random numbers). ``prange`` over the
(rule, path) tasks: each task is independent and deterministic, so results do not depend on thread count,
chunking or the executor.

Metric columns (``METRICS``), all fractions of the initial capital D unless said otherwise:
``ret`` = NAV_end / D - 1 (per window, not annualised); ``liquidations`` [count]; ``max_drawdown`` <= 0;
``turnover`` = policy-trade spot notional / D; ``rebalances`` [count]; ``ret_funding``; ``ret_costs`` <= 0;
``liq_loss`` = - liquidation losses / D as the kernel reports them (a component, never added as a gain);
``ret_raw`` = the kernel's NAV_end / D - 1; ``liq_gain_removed`` = the sum over liquidation bars of any NAV *gain*
on that bar (a gap through the barrier lets the spot leg keep the move while the perp loses only its margin).
**A liquidation is never credited as a gain**: ``ret`` = ``ret_raw`` - ``liq_gain_removed``, and the drawdown is
measured on the NAV with those gains removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import HAVE_NUMBA, njit
from basisctl.study.kernel_adapter import LIQ_CODES, run_path_nb

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
METRICS: tuple[str, ...] = ("ret", "liquidations", "max_drawdown", "turnover", "rebalances", "ret_funding",
                            "ret_costs", "liq_loss", "ret_raw", "liq_gain_removed")
RULE_FIELDS: tuple[str, ...] = ("alpha_target", "alpha_lower", "alpha_upper", "kappa_14d", "k_reb_fix",
                                "reset_lower", "reset_upper", "theta_f")

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


@dataclass
class PathBatch:
    """Concatenated paths (see module doc) being assembled; ``add`` one path at a time."""

    po: list[F64]
    ph: list[F64]
    pc: list[F64]
    so: list[F64]
    sc: list[F64]
    fr: list[F64]
    fi: list[F64]
    cost_bps: list[float]
    tiers: list[tuple[F64, F64]]

    @classmethod
    def empty(cls) -> PathBatch:
        return cls([], [], [], [], [], [], [], [], [])

    def add(self, po: F64, ph: F64, pc: F64, so: F64, sc: F64, fr: F64, fi: F64, cost_bps: float,
            tiers: tuple[F64, F64]) -> None:
        for lst, x in zip((self.po, self.ph, self.pc, self.so, self.sc, self.fr, self.fi),
                          (po, ph, pc, so, sc, fr, fi), strict=True):
            lst.append(np.ascontiguousarray(x, dtype=np.float64))
        self.cost_bps.append(float(cost_bps))
        self.tiers.append(tiers)

    def __len__(self) -> int:
        return len(self.po)

    @property
    def bars(self) -> int:
        return int(sum(x.size for x in self.po))


def run_batch(batch: PathBatch, params: F64, reset_every: I64, capital: float, q_min_usd: float,
              buffer_bps: float) -> F64:
    """Run every rule on every path of ``batch``; returns metrics (rules, paths, len(METRICS))."""
    sizes = np.array([x.size for x in batch.po], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    t_sizes = np.array([t[0].size for t in batch.tiers], dtype=np.int64)
    t_off = np.concatenate([[0], np.cumsum(t_sizes)]).astype(np.int64)
    cat = [np.concatenate(x) for x in (batch.po, batch.ph, batch.pc, batch.so, batch.sc, batch.fr, batch.fi)]
    tl = np.concatenate([t[0] for t in batch.tiers]) if t_off[-1] else np.zeros(0)
    tt = np.concatenate([t[1] for t in batch.tiers]) if t_off[-1] else np.zeros(0)
    return batch_nb(*cat, offsets, np.asarray(batch.cost_bps, dtype=np.float64), tl.astype(np.float64),
                    tt.astype(np.float64), t_off, np.ascontiguousarray(params, dtype=np.float64),
                    np.ascontiguousarray(reset_every, dtype=np.int64), float(capital), float(q_min_usd),
                    float(buffer_bps))
