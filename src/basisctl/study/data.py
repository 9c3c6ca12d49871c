"""The study's inputs from the data dir: the generators' history and the real walk-forward paths.

The generators' history uses the Binance **spot** 1 h candles where present (the one hourly series without gaps
from 2022; perp 1 h bars miss 2024-06-16 -> 2025-03-06), else the Binance perp 1 h candles, and the study's
funding venue; it ends at ``holdout_from``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from basisctl.backtest.data import load_funding_stream
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.data import locator
from basisctl.study.generators import History, history_from_frames
from basisctl.study.paths import RealPath, real_paths, study_assets
from basisctl.study.regime_candidate import batch_names
from basisctl.study.studyfile import Study


def history_market(asset: str) -> str:
    return "binance_spot" if locator.has_candles("binance_spot", asset, "1h") else "binance_perp"


def data_history(assets: Sequence[str], venue: str, end: pd.Timestamp) -> History:
    """Common hourly history of ``assets`` (see module doc) before ``end``."""
    candles = {a: locator.load_candles(history_market(a), a, "1h") for a in assets}
    funding = {a: load_funding_stream(a, venue)[0] for a in assets}
    return history_from_frames(candles, funding, end)


def data_inputs(study: Study, final: bool = False, assets: Sequence[str] | None = None,
                on_step: Callable[[str], None] | None = None
                ) -> tuple[History | None, list[RealPath], list[RealPath], BacktestConfig, RuleSpec]:
    """(history, real paths, holdout paths, config, spec) of the data dir for ``study``."""
    cfg = BacktestConfig(capital_usd=study.capital_usd, q_min_usd=study.q_min_usd)
    spec = RuleSpec()
    names = batch_names(study.candidates)  # the regime candidate runs its inner rule (a candidate) per path
    al = list(assets) if assets else study_assets(study.funding_venue)
    sim_assets = [a for a in al if locator.has_candles(history_market(a), a, "1h")]
    history = data_history(sim_assets, study.funding_venue, study.holdout_from) if study.paths > 0 else None
    real = real_paths(names, study.funding_venue, study.holdout_from, study.window_months, study.lookback_days,
                      study.cost_bps, cfg, spec, study.optimal_floor_model, study.grid, assets=al, on_step=on_step)
    hold = real_paths(names, study.funding_venue, study.holdout_from, study.window_months, study.lookback_days,
                      study.cost_bps, cfg, spec, study.optimal_floor_model, (), final=True, assets=al,
                      on_step=on_step) if final else []
    return history, real, hold, cfg, spec
