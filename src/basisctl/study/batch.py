"""All rules on one compiled kernel, batched over paths, with the per-run metrics computed inside it.

The compiled loops live in :mod:`basisctl.study.kernel_adapter` (one file, so that numba's cache of the batch
is invalidated whenever the call into the backtest kernel changes). Inputs are the paths concatenated into flat
arrays with ``offsets`` (path p = [offsets[p], offsets[p+1])), and one parameter matrix per rule field, shape
(rules, paths): every rule of a path is calibrated on that path's own calibration data, and every rule replays
the same arrays (common random numbers). ``prange`` over the (rule, path) tasks: each task is independent and
deterministic, so results do not depend on thread count, chunking or the executor.

Metric columns (``METRICS``), all fractions of the initial capital D unless said otherwise, accounting of the
backtest (issue 17: barrier / gap-open liquidation price, perp loss capped at its margin, the venue's fee and
backstop rule, spot naked until the re-hedge ``rehedge_delay_bars`` later):
``ret`` = the judged return (per window, not annualised): NAV_end / D - 1 minus every bar's naked-spot gain
(``naked_gain_removed`` = sum of max(naked spot P&L of the bar, 0) / D; losses kept: a liquidation is never
credited as a gain); ``ret_raw`` = NAV_end / D - 1, reported, not judged; ``liquidations`` [count of liquidation
events];
``max_drawdown`` <= 0 (on the judged NAV); ``turnover`` = policy-trade spot notional / D; ``rebalances`` [count];
``ret_funding``; ``ret_costs`` <= 0 (policy trades, entry and re-hedges); ``liq_loss`` = ``liq_fee`` +
``margin_forfeited`` (each <= 0: a liquidation is never credited as a gain); ``ret_unhedged`` = the spot leg's P&L
while naked between a liquidation and its re-hedge (either sign, reported separately); ``rehedge_cost`` <= 0;
``ret_static_carry`` = the funding the rule's entry short ((1 - alpha_target) D / s_0 units) would collect held
unchanged over the path; ``ret_excess_static`` = ``ret`` - ``ret_static_carry`` (what the rule's trading adds to,
or costs, its own static carry); ``backstops`` [count of liquidations that forfeited the rest of the margin].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from basisctl.backtest.engine import BacktestConfig
from basisctl.study.kernel_adapter import N_METRICS, batch_nb

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
METRICS: tuple[str, ...] = ("ret", "liquidations", "max_drawdown", "turnover", "rebalances", "ret_funding",
                            "ret_costs", "liq_loss", "ret_unhedged", "liq_fee", "margin_forfeited", "rehedge_cost",
                            "ret_static_carry", "ret_excess_static", "backstops", "ret_raw",
                            "naked_gain_removed")
RULE_FIELDS: tuple[str, ...] = ("alpha_target", "alpha_lower", "alpha_upper", "kappa_14d", "k_reb_fix",
                                "reset_lower", "reset_upper", "theta_f")
assert len(METRICS) == N_METRICS


@dataclass(frozen=True)
class Liquidation:
    """The kernel's liquidation settings (:meth:`BacktestConfig.liquidation_params`): mode code, the venue's fee
    [fraction of notional] and backstop [fraction of maintenance], re-hedge delay [bars]."""

    mode: int
    fee_rate: float
    backstop_frac: float
    rehedge_delay_bars: int

    @classmethod
    def of(cls, cfg: BacktestConfig) -> Liquidation:
        mode, fee, backstop = cfg.liquidation_params()
        return cls(int(mode), float(fee), float(backstop), int(cfg.rehedge_bars))


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
              buffer_bps: float, liq: Liquidation) -> F64:
    """Run every rule on every path of ``batch`` under the liquidation settings ``liq`` (every path here has the
    same venue); returns metrics (rules, paths, len(METRICS))."""
    sizes = np.array([x.size for x in batch.po], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    t_sizes = np.array([t[0].size for t in batch.tiers], dtype=np.int64)
    t_off = np.concatenate([[0], np.cumsum(t_sizes)]).astype(np.int64)
    cat = [np.concatenate(x) for x in (batch.po, batch.ph, batch.pc, batch.so, batch.sc, batch.fr, batch.fi)]
    tl = np.concatenate([t[0] for t in batch.tiers]) if t_off[-1] else np.zeros(0)
    tt = np.concatenate([t[1] for t in batch.tiers]) if t_off[-1] else np.zeros(0)
    return batch_nb(*cat, offsets, np.asarray(batch.cost_bps, dtype=np.float64), tl.astype(np.float64),
                    tt.astype(np.float64), t_off, np.full(len(batch), liq.fee_rate),
                    np.full(len(batch), liq.backstop_frac), np.ascontiguousarray(params, dtype=np.float64),
                    np.ascontiguousarray(reset_every, dtype=np.int64), float(capital), float(q_min_usd),
                    float(buffer_bps), liq.mode, liq.rehedge_delay_bars)
