"""Score candidate bands on simulated price paths with the backtest kernel (common random numbers).

The brute-force reference for the optimal-band solver: GBM log-price steps from
:class:`basisctl.simulate.models.GBM` (zero drift in price, so the log drift is -sigma^2/2 per year), one set
of normals shared by every candidate band (common random numbers), constant funding per bar, and each band run
through :func:`basisctl.backtest.kernel.backtest_core_nb` (the compiled loop that calls the shared ``decide_nb``)
with the backtest's liquidation accounting (:class:`~basisctl.backtest.engine.BacktestConfig` defaults: closed at
the barrier, the venue's fee / backstop rule, spot naked until the next bar's open).
A path's score is its log NAV growth per year, log(NAV_T / D) / T, the quantity the solver's long-run
average carry g estimates (the solver's reward is per unit of *current* equity, so compounding cancels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.kernel import C_LIQ_KIND, backtest_core_nb
from basisctl.model.policy import CostCurve
from basisctl.simulate.models import GBM
from basisctl.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class Band:
    """alpha_lower <= reset_lower, reset_upper <= alpha_upper [fractions]; alpha_target = where paths start."""

    alpha_lower: float
    reset_lower: float
    alpha_upper: float
    reset_upper: float
    alpha_target: float


@dataclass(frozen=True)
class BandScores:
    """Per band x path log-growth [per year]; means and paired comparisons across bands."""

    growth: NDArray[np.float64]  # shape (bands, paths)
    liquidations: NDArray[np.int64]  # shape (bands,): liquidation events over all paths

    @property
    def mean(self) -> NDArray[np.float64]:
        return self.growth.mean(axis=1)

    def paired_se(self, i: int, j: int) -> float:
        """Standard error of mean(growth[i] - growth[j]) over the shared paths."""
        d = self.growth[i] - self.growth[j]
        return float(d.std(ddof=1) / np.sqrt(d.size))


def gbm_paths(sigma_annual: float, years: float, n_paths: int, seed: int) -> NDArray[np.float64]:
    """Hourly close prices, shape (paths, bars + 1), p_0 = 1, from the GBM model's step parameters."""
    sp = GBM(sigma_annual).step_params(1.0)
    n = round(years * HOURS_PER_YEAR)
    z = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal((n_paths, n))
    x = np.cumsum(sp.drift + sp.vol * z, axis=1)
    return np.exp(np.concatenate([np.zeros((n_paths, 1)), x], axis=1))


def score_bands(bands: Sequence[Band], prices: NDArray[np.float64], kappa_annual: float, cost_bps: float,
                theta_f: float, capital_usd: float = 1_000_000.0, q_min_usd: float = 0.0,
                config: BacktestConfig | None = None) -> BandScores:
    """Run every band on every path (same paths for all bands). Costs: flat ``cost_bps`` of notional on both
    sides, no entry cost; funding ``kappa_annual`` [per year] paid every hourly bar; liquidation at ``theta_f``
    (bar high = max(open, close): the paths are closes only) with the accounting of ``config`` (default
    :class:`BacktestConfig`: "barrier", the Hyperliquid rule, re-hedge at the next open) and re-entry."""
    cfg = config or BacktestConfig()
    mode, fee, backstop = cfg.liquidation_params()
    n_paths, m = prices.shape
    years = (m - 1) / HOURS_PER_YEAR
    c = CostCurve.flat(cost_bps)
    fund = np.full(m - 1, kappa_annual / HOURS_PER_YEAR)
    zeros = np.zeros(m - 1)
    empty = np.zeros(0)
    out = np.empty((len(bands), n_paths))
    liq = np.zeros(len(bands), dtype=np.int64)
    for b, band in enumerate(bands):
        for p in range(n_paths):
            po, pc = prices[p, :-1], prices[p, 1:]
            ph = np.maximum(po, pc)
            res = backtest_core_nb(po, ph, pc, po, pc, fund, zeros, capital_usd, band.alpha_target,
                                   band.alpha_lower, band.alpha_upper, 0.0, 0.0, q_min_usd, 0.0, c.notional_usd,
                                   c.cost_bps, np.inf, c.notional_usd, c.cost_bps, np.inf, theta_f, 0, False, True,
                                   False, mode, empty, empty, band.reset_lower, band.reset_upper, 0, fee, backstop,
                                   int(cfg.rehedge_bars))
            out[b, p] = np.log(res[0][-1] / capital_usd) / years
            liq[b] += int(np.count_nonzero(res[12][:, C_LIQ_KIND]))
    return BandScores(out, liq)
