"""Every candidate rule of one path, calibrated on that path's own calibration data (nothing after it).

The paper rule is frozen by :func:`basisctl.backtest.rule.calibrate_rule` (GBM as published); the other rules
derive from it by :mod:`basisctl.rules.builders`. Rules with a model floor (``paper_fhs``, and ``optimal`` when
the study's floor model is not ``gbm``) take the model's alphas fitted on the same calibration bars.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule
from basisctl.risk.base import Bars
from basisctl.rules.builders import build_rule, model_alphas, with_model_alphas
from basisctl.study.batch import RULE_FIELDS


def models_needed(names: Sequence[str], floor_model: str, tuned: bool = False) -> set[str]:
    """Risk models whose alphas the rules ``names`` need (``tuned``: the optimal rule's grid runs too)."""
    need = set()
    if "paper_fhs" in names:
        need.add("fhs")
    if ("optimal" in names or tuned) and floor_model != "gbm":
        need.add(floor_model)
    return need


def rule_alphas(names: Sequence[str], floor_model: str, bars: Bars | None, lo: int, hi: int, theta_f: float,
                tuned: bool = False) -> dict[str, tuple[float, float]]:
    """(alpha_target, alpha_L) per needed risk model, fitted once on bars[lo:hi]."""
    need = models_needed(names, floor_model, tuned)
    if need and bars is None:
        raise ValueError("model-floored rules need calibration bars")
    assert bars is not None or not need
    return {m: model_alphas(m, bars, lo, hi, theta_f) for m in sorted(need)}  # type: ignore[arg-type]


def derive_rules(paper: FrozenRule, names: Sequence[str], costs: CostModel, cfg: BacktestConfig,
                 floor_model: str, alphas: dict[str, tuple[float, float]], floor_mult: float = 1.0
                 ) -> dict[str, FrozenRule]:
    """Every rule in ``names`` from the frozen paper rule and the model alphas of :func:`rule_alphas`.
    ``floor_mult`` scales the optimal rule's floor (the tuning grid of the PBO), capped at 0.95."""
    out: dict[str, FrozenRule] = {}
    for n in names:
        if n == "paper_fhs":
            at, al = alphas["fhs"]
            out[n] = with_model_alphas(n, paper, costs, cfg, at, al)
        elif n == "optimal":
            al = paper.alpha_lower if floor_model == "gbm" else max(paper.alpha_lower, alphas[floor_model][1])
            out[n] = with_model_alphas(n, paper, costs, cfg, float("nan"), min(al * floor_mult, 0.95))
        else:
            out[n] = build_rule(n, paper, costs, cfg)
    return out


def param_column(rules: dict[str, FrozenRule], names: Sequence[str], bar_hours: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(len(RULE_FIELDS), rules) parameters and (rules,) reset intervals in bars for the batch kernel."""
    p = np.empty((len(RULE_FIELDS), len(names)))
    reset = np.zeros(len(names), dtype=np.int64)
    for j, n in enumerate(names):
        r = rules[n]
        p[:, j] = (r.alpha_target, r.alpha_lower, r.alpha_upper, r.kappa_14d, r.k_reb_fix, r.reset_lower_target,
                   r.reset_upper_target, r.theta_f)
        if r.reset_every_hours > 0:
            reset[j] = max(1, round(r.reset_every_hours / bar_hours))
    return p, reset


def calibrate_on_frames(asset: str, candles: pd.DataFrame, funding: pd.DataFrame, names: Sequence[str],
                        cost_bps: float, cfg: BacktestConfig, spec: RuleSpec, floor_model: str,
                        grid: Sequence[float] = ()) -> tuple[dict[str, FrozenRule], dict[float, FrozenRule]]:
    """Calibrate every rule on 1 h ``candles`` (ts, open, high, low, close) and ``funding`` (ts, rate,
    interval_hours) covering the whole calibration span (a simulated path's burn-in). Returns the rules and the
    optimal rule per floor multiplier of ``grid``."""
    c_from = candles["ts"].iloc[0]
    c_to = candles["ts"].iloc[-1] + pd.Timedelta(hours=1)
    days = (c_to - c_from).total_seconds() / 86400.0
    sp = RuleSpec(**{**spec.__dict__, "lookback_days": days})
    paper = calibrate_rule(asset, c_from, c_to, cost_bps, sp, candles=candles, candles_bar_hours=1.0,
                           funding=funding)
    bars = Bars(candles["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64), candles["close"].to_numpy(float),
                candles["high"].to_numpy(float), 1.0)
    alphas = rule_alphas(names, floor_model, bars, 0, len(bars), paper.theta_f, tuned=bool(grid))
    costs = CostModel.fixed(cost_bps)
    rules = derive_rules(paper, names, costs, cfg, floor_model, alphas)
    tuned = {m: derive_rules(paper, ["optimal"], costs, cfg, floor_model, alphas, floor_mult=m)["optimal"]
             for m in grid}
    return rules, tuned
