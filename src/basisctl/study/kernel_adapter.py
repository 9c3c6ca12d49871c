"""The ONE place the study calls the backtest kernel (:func:`basisctl.backtest.kernel.backtest_nb`).

When the kernel's signature or its outputs change (liquidation accounting, re-hedge delay, components), only
:func:`run_path_nb` changes. Fixed study settings: fills at the deciding bar's close (no delay), the entry cost is
charged, a liquidation re-enters at alpha_target at the bar close, the whole cost on the spot notional,
liquidation tested at the bar high.

Outputs per run (arrays over bars): NAV [USD], action code, traded spot notional [USD], funding cash [USD],
cost [USD], liquidation loss [USD]. A liquidation is counted by its action code (re-entry or stop), and its
effect on the return is whatever the kernel's NAV carries (never credited separately).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.backtest.kernel import ACT_REENTRY, ACT_STOP, backtest_nb

F64 = NDArray[np.float64]
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
