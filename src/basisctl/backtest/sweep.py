"""Parameter sweeps of the frozen rule: a grid over alpha_target multipliers, alpha_L, alpha_U, cost, q_min,
buffer and cost budget, evaluated with the compiled kernel.

Executors: ``"process"`` (default, local ``ProcessPoolExecutor``), ``"serial"`` (in-process) and ``"ray"``
(optional extra ``basisctl[ray]``; imported lazily). Work is cut into chunks of grid points in a fixed order
and results are re-assembled by grid index, so every executor returns the identical frame.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.rule import FrozenRule
from basisctl.errors import BasisctlError, ModelDomainError

EXECUTORS: tuple[str, ...] = ("process", "serial", "ray")
SWEEP_METRICS: tuple[str, ...] = ("acc_return", "apy", "funding_apy", "max_drawdown", "avg_leverage", "rebalances",
                                  "emergencies", "turnover_pct", "avg_rebalance_pct", "liquidations", "sharpe",
                                  "ret_costs", "cagr", "short_window", "sharpe_caveat")


@dataclass(frozen=True)
class SweepGrid:
    """Axes of the grid. None on alpha_lower/alpha_upper keeps the frozen value (alpha_U follows the scaled
    target and the cost); cost_bps [bps of notional] also sets K_reb_fix; budget_bps [bps] = inf means the fixed
    cost never blocks a trade (then the buffer has no effect)."""

    alpha_target_mult: Sequence[float] = (1.0,)
    alpha_lower: Sequence[float | None] = (None,)
    alpha_upper: Sequence[float | None] = (None,)
    cost_bps: Sequence[float] = (20.0,)
    q_min_usd: Sequence[float] = (10_000.0,)
    buffer_bps: Sequence[float] = (10.0,)
    budget_bps: Sequence[float] = (math.inf,)

    def points(self) -> list[dict[str, Any]]:
        names = ("alpha_target_mult", "alpha_lower", "alpha_upper", "cost_bps", "q_min_usd", "buffer_bps",
                 "budget_bps")
        axes = [list(getattr(self, n)) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]


@dataclass(frozen=True)
class _Task:
    data: BacktestData
    rule: FrozenRule
    config: BacktestConfig
    points: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def evaluate_point(data: BacktestData, rule: FrozenRule, cfg: BacktestConfig, p: dict[str, Any]) -> dict[str, Any]:
    """Metrics of one grid point; an infeasible band is reported (``error``) instead of aborting the sweep."""
    row: dict[str, Any] = dict(p)
    try:
        r = rule.scaled(p["alpha_target_mult"], p["alpha_lower"], p["alpha_upper"], p["cost_bps"] * 1e-4)
        cm = CostModel.fixed(p["cost_bps"], budget_bps=p["budget_bps"])
        c = replace(cfg, q_min_usd=p["q_min_usd"], buffer_bps=p["buffer_bps"])
        m = run_backtest(data, r, cm, c).metrics()
    except ModelDomainError as e:
        row["error"] = str(e)
        return row
    row.update({"alpha_target": r.alpha_target, "alpha_lower_eff": r.alpha_lower,
                "alpha_upper_eff": r.alpha_upper, "error": ""})
    row.update({k: m[k] for k in SWEEP_METRICS})
    return row


def _run_task(task: _Task) -> list[tuple[int, dict[str, Any]]]:
    return [(i, evaluate_point(task.data, task.rule, task.config, p)) for i, p in task.points]


def _chunks(points: list[dict[str, Any]], n_chunks: int) -> list[list[tuple[int, dict[str, Any]]]]:
    idx = list(enumerate(points))
    size = max(1, math.ceil(len(idx) / max(n_chunks, 1)))
    return [idx[k:k + size] for k in range(0, len(idx), size)]


def run_sweep(
    data: BacktestData,
    rule: FrozenRule,
    grid: SweepGrid,
    config: BacktestConfig | None = None,
    executor: str = "process",
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate every grid point; one row per point in grid order (identical for every executor)."""
    if executor not in EXECUTORS:
        raise BasisctlError(f"unknown executor '{executor}': expected one of {', '.join(EXECUTORS)}")
    cfg = config or BacktestConfig()
    pts = grid.points()
    n_workers = workers or max(1, min(os.cpu_count() or 1, 8))
    chunks = _chunks(pts, n_workers * 4 if executor != "serial" else 1)
    tasks = [_Task(data, rule, cfg, c) for c in chunks]
    results: dict[int, dict[str, Any]] = {}
    done = 0

    def _collect(part: list[tuple[int, dict[str, Any]]]) -> None:
        nonlocal done
        for i, row in part:
            results[i] = row
        done += len(part)
        if on_progress:
            on_progress(done, len(pts))

    if executor == "serial" or n_workers == 1:
        for t in tasks:
            _collect(_run_task(t))
    elif executor == "process":
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            futs = [pool.submit(_run_task, t) for t in tasks]
            for f in as_completed(futs):
                _collect(f.result())
    else:
        try:
            import ray
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            raise BasisctlError("--executor ray needs the optional extra: pip install 'basisctl[ray]'") from e
        started = not ray.is_initialized()
        if started:
            ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(_run_task)
            pending = [remote.remote(t) for t in tasks]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                _collect(ray.get(ready[0]))
        finally:
            if started:
                ray.shutdown()
    return pd.DataFrame([results[i] for i in range(len(pts))])
