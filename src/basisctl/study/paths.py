"""Real paths: non-overlapping walk-forward windows of every asset, each with its rules frozen before it.

Windows are aligned to the calendar (quarters for ``3M``, half-years for ``6M``, years for ``1Y``) and run from
the first aligned date with ``lookback_days`` of bars before it to ``holdout_from`` (``--final``: from
``holdout_from`` to the last complete window in the data). One path = one asset x one window, with the study's
one funding venue (venues are never separate samples). Bars: the data dir's Binance perp 1 h series (4 h where
1 h has a gap, :func:`basisctl.backtest.data.prepare`), the spot leg from real spot candles where present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData, load_funding_stream, prepare
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule
from basisctl.data import locator
from basisctl.errors import BasisctlError
from basisctl.risk.base import Bars, ModelFitError, bars_from_frame
from basisctl.risk.fit import load_bars, window
from basisctl.study.calibrate import derive_rules, models_needed, rule_alphas
from basisctl.warnings import substitute

CALIB_YEARS: int = 2


@dataclass(frozen=True)
class RealPath:
    """One asset x one calendar window, its data and every rule frozen at its start."""

    asset: str
    start: pd.Timestamp
    end: pd.Timestamp
    data: BacktestData
    rules: dict[str, FrozenRule]
    tuned: dict[float, FrozenRule]

    @property
    def cluster(self) -> str:
        return f"{self.start:%Y-%m-%d}"


def window_bounds(first: pd.Timestamp, last: pd.Timestamp, months: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Calendar-aligned [start, end) windows of ``months`` with first <= start and end <= last."""
    y = first.year
    m0 = ((first.month - 1) // months) * months + 1
    s = pd.Timestamp(year=y, month=m0, day=1, tz="UTC")
    if s < first:
        s = s + pd.DateOffset(months=months)
    out = []
    while s + pd.DateOffset(months=months) <= last:
        out.append((s, s + pd.DateOffset(months=months)))
        s = s + pd.DateOffset(months=months)
    return out


def study_assets(venue: str) -> list[str]:
    """Every asset of the data dir with Binance perp candles (1 h or 4 h) and funding of ``venue``."""
    return [a for a in locator.list_assets("funding", venue)
            if locator.has_funding(venue, a) and (locator.has_candles("binance_perp", a, "1h")
                                                   or locator.has_candles("binance_perp", a, "4h"))]


def calibration_bars(asset: str, asof: pd.Timestamp, lookback_days: float) -> tuple[Bars, int, int]:
    """Gap-free 1 h bars of the ``lookback_days`` before ``asof`` for the model floors: Binance perp, else (when
    the perp series has a gap there) Binance spot, with a warning."""
    bars = load_bars(asset)
    lo, hi = window(bars, asof, lookback_days)
    if bars.bar_hours == 1.0 and bars.consecutive[lo:hi - 1].all():
        return bars, lo, hi
    if locator.has_candles("binance_spot", asset, "1h"):
        sb = bars_from_frame(locator.load_candles("binance_spot", asset, "1h"), 1.0)
        slo, shi = window(sb, asof, lookback_days)
        if sb.consecutive[slo:shi - 1].all():
            substitute("missing_data", f"{asset}: the perp 1h bars before {asof:%Y-%m-%d} have a gap; the model "
                                       "floor is fitted on Binance spot 1h bars instead")
            return sb, slo, shi
    raise ModelFitError(f"{asset}: no gap-free 1h bars in the {lookback_days:g} days before {asof:%Y-%m-%d}")


def real_paths(names: Sequence[str], venue: str, holdout_from: pd.Timestamp, months: int, lookback_days: float,
               cost_bps: float | None, cfg: BacktestConfig, spec: RuleSpec, floor_model: str,
               grid: Sequence[float] = (), final: bool = False, assets: Sequence[str] | None = None,
               on_step: Callable[[str], None] | None = None) -> list[RealPath]:
    """Every real path (see module doc); windows the data cannot serve are skipped with a warning."""
    from basisctl.backtest.costs import paper_cost_bps

    out = []
    for a in assets or study_assets(venue):
        candles = locator.load_candles("binance_perp", a, "1h" if locator.has_candles("binance_perp", a, "1h")
                                       else "4h")
        funding, _ = load_funding_stream(a, venue)
        first = candles["ts"].min() + pd.Timedelta(days=lookback_days)
        last_data = min(candles["ts"].max(), funding["ts"].max())
        lo_t, hi_t = (holdout_from, last_data) if final else (max(first, funding["ts"].min()), holdout_from)
        if final:
            lo_t = max(lo_t, first)
        cost = paper_cost_bps(a) if cost_bps is None else cost_bps
        costs = CostModel.fixed(cost)
        for s, e in window_bounds(lo_t, min(hi_t, last_data), months):
            try:
                data = prepare(a, s, e, funding=funding, spot="auto")
                paper = calibrate_rule(a, s - pd.DateOffset(years=CALIB_YEARS), s, cost, spec)
                bars: Bars | None = None
                blo = bhi = 0
                if models_needed(names, floor_model, bool(grid)):
                    bars, blo, bhi = calibration_bars(a, s, lookback_days)
                alphas = rule_alphas(names, floor_model, bars, blo, bhi, paper.theta_f, bool(grid))
                rules = derive_rules(paper, names, costs, cfg, floor_model, alphas)
                tuned = {m: derive_rules(paper, ["optimal"], costs, cfg, floor_model, alphas,
                                         floor_mult=m)["optimal"] for m in grid}
            except BasisctlError as err:
                substitute("missing_data", f"{a} {s:%Y-%m-%d}..{e:%Y-%m-%d}: window skipped ({err})")
                continue
            out.append(RealPath(a, s, e, data, rules, tuned))
            if on_step:
                on_step(f"real {a} {s:%Y-%m-%d}")
    return out


def real_tiers(cfg: BacktestConfig, asset: str) -> tuple[np.ndarray, np.ndarray]:
    lo, th = cfg.tiers_for(asset)
    return np.asarray(lo, dtype=float), np.asarray(th, dtype=float)
