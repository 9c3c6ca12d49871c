"""Walk-forward comparison of rules (``basisctl compare-rules``).

For every window (asset x test period x funding venue) the paper rule is frozen on the data before the window
(:func:`basisctl.backtest.rule.calibrate_rule`, calib_to = window start), every other rule is derived from that
frozen rule only (:mod:`basisctl.rules.builders`), and all rules replay the same bars, funding and costs.

Row keys (one row per rule x asset x window):

* ``apy``, ``funding_apy``, ``ret_costs``, ``rebalances``, ``liquidations``, ``max_drawdown`` as
  :meth:`basisctl.backtest.results.BacktestResult.metrics` (fractions; ``ret_costs`` <= 0 of initial capital);
* ``time_in_band``: share of bars whose pre-trade alpha lies inside the rule's own [alpha_lower, alpha_upper];
* ``avg_idle_margin``: time average of max(alpha_t - alpha_L, 0) [fraction of equity], alpha_L the window's
  paper solvency floor (the same for every rule): margin above what solvency needs, earning no funding;
* ``apy_ci90``: [5 %, 95 %] quantiles of the APY under a circular moving-block bootstrap of the daily NAV returns
  (7-day blocks, 2,000 resamples, seed 0);
* ``apy_vs_paper``: apy - apy(paper) on the same window; ``apy_vs_paper_ci90`` its paired block bootstrap
  (the same blocks resampled for both rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel, paper_cost_bps
from basisctl.backtest.data import BacktestData, load_funding_stream, prepare
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.experiment import DEFAULT_PERIODS, VENUES, Period
from basisctl.backtest.results import BacktestResult
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule
from basisctl.band_grids import hourly_returns
from basisctl.errors import ModelDomainError
from basisctl.rules.builders import DEFAULT_RULES, build_rule

ROW_KEYS: tuple[str, ...] = ("rule", "asset", "window", "apy", "funding_apy", "ret_costs", "rebalances",
                             "liquidations", "max_drawdown", "time_in_band", "avg_idle_margin", "apy_ci90",
                             "apy_vs_paper")
BOOT_LOOKBACK_DAYS: float = 180.0
BLOCK_DAYS: int = 7
BOOT_REPS: int = 2000


def block_indices(n: int, block: int, reps: int, seed: int) -> np.ndarray:
    """Circular moving-block bootstrap indices, shape (reps, n)."""
    rng = np.random.default_rng(seed)
    nb = -(-n // block)
    starts = rng.integers(0, n, size=(reps, nb))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(reps, nb * block)[:, :n]


def boot_apy(daily: np.ndarray, days: float, idx: np.ndarray) -> np.ndarray:
    """APY (simple, acc x 365/days) of each resampled daily-return path."""
    acc = np.prod(1.0 + daily[idx], axis=1) - 1.0
    return acc * 365.0 / days


def _ci(x: np.ndarray) -> list[float]:
    lo, hi = np.quantile(x, [0.05, 0.95])
    return [float(lo), float(hi)]


@dataclass(frozen=True)
class Window:
    """One comparison window: a test period of an asset under one funding venue."""

    period: Period
    venue: str

    @property
    def name(self) -> str:
        return f"{self.period.label} {self.venue}"


@dataclass
class CompareResult:
    """Rows (``ROW_KEYS`` and more) plus the backtests keyed by (period label, asset, venue, rule)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    results: dict[tuple[str, str, str, str], BacktestResult] = field(default_factory=dict)
    rules: dict[tuple[str, str, str], FrozenRule] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def summary(self) -> dict[str, Any]:
        """Per rule: windows won against paper, mean apy_vs_paper, total liquidations."""
        df = self.frame()
        out: dict[str, Any] = {}
        for r, g in df.groupby("rule", sort=False):
            out[str(r)] = {"windows": len(g), "beats_paper": int((g["apy_vs_paper"] > 0).sum()),
                           "mean_apy_vs_paper": float(g["apy_vs_paper"].mean()),
                           "mean_apy": float(g["apy"].mean()), "liquidations": int(g["liquidations"].sum()),
                           "rebalances": int(g["rebalances"].sum())}
        return out


def window_row(res: BacktestResult, paper_floor: float) -> dict[str, Any]:
    """The comparison metrics of one backtest (without the paired keys)."""
    m = res.metrics()
    pre = res.arrays[11]
    alpha = res.arrays[1]
    hedged = res.arrays[4] != 0
    rl = res.rule
    inside = (pre >= rl.alpha_lower) & (pre <= rl.alpha_upper)
    idle = np.maximum(alpha - paper_floor, 0.0)
    return {"apy": m["apy"], "funding_apy": m["funding_apy"], "ret_costs": m["ret_costs"],
            "rebalances": m["rebalances"], "liquidations": m["liquidations"], "max_drawdown": m["max_drawdown"],
            "time_in_band": float(inside.mean()), "avg_idle_margin": float(idle[hedged].mean()) if hedged.any()
            else float("nan"), "emergencies": m["emergencies"], "sharpe": m["sharpe"], "acc_return": m["acc_return"],
            "alpha_lower": rl.alpha_lower, "alpha_upper": rl.alpha_upper, "alpha_target": rl.alpha_target,
            "reset_lower": rl.reset_lower_target, "reset_upper": rl.reset_upper_target, "start": m["start"],
            "end": m["end"], "calib_to": m["calib_to"], "days": m["days"], "cagr": m["cagr"],
            "short_window": m["short_window"], "sharpe_caveat": m["sharpe_caveat"],
            "ret_liquidation": m["ret_liquidation"], "ret_unhedged": m.get("ret_unhedged", 0.0)}


def compare_window(data: BacktestData, paper: FrozenRule, window: str, venue: str, rules: Sequence[str],
                   costs: CostModel, cfg: BacktestConfig, seed: int = 0,
                   returns_1h: np.ndarray | None = None, optimal_model: str = "gbm"
                   ) -> tuple[list[dict[str, Any]], dict[str, BacktestResult], dict[str, FrozenRule]]:
    """Run every rule on one prepared window; rows carry the paired comparison against ``paper``."""
    names = list(dict.fromkeys(["paper", *rules]))
    built = {r: build_rule(r, paper, costs, cfg, returns_1h, optimal_model) for r in names}
    res = {r: run_backtest(data, built[r], costs, cfg) for r in names}
    daily = {r: res[r].daily_returns().to_numpy() for r in names}
    n = min(x.size for x in daily.values())
    idx = block_indices(n, BLOCK_DAYS, BOOT_REPS, seed)
    days = data.days
    boots = {r: boot_apy(daily[r][:n], days, idx) for r in names}
    rows = []
    base = window_row(res["paper"], paper.alpha_lower)
    for r in rules:
        row = {"rule": r, "asset": data.asset, "window": window, "venue": venue,
               **window_row(res[r], paper.alpha_lower)}
        row["apy_ci90"] = _ci(boots[r])
        row["apy_vs_paper"] = float(row["apy"] - base["apy"])
        row["apy_vs_paper_ci90"] = _ci(boots[r] - boots["paper"])
        rows.append(row)
    return rows, {r: res[r] for r in rules}, {r: built[r] for r in rules}


def compare_rules(
    periods: Iterable[Period] = DEFAULT_PERIODS,
    venues: Iterable[str] = VENUES,
    rules: Sequence[str] = DEFAULT_RULES,
    config: BacktestConfig | None = None,
    spec: RuleSpec | None = None,
    prices: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    cost_bps: float | None = None,
    on_step: Callable[[str], None] | None = None,
    optimal_model: str = "gbm",
) -> CompareResult:
    """Walk-forward comparison over ``periods`` x ``venues``. ``prices``/``funding`` replace the shipped series
    (for calibration and test alike; then ``venues`` only labels the run). ``optimal_model``: the risk model of
    the ``optimal`` rule's floor (``gbm`` = alpha_L; ``fhs`` = the ``optimal_fhs`` floor; the CLI default is
    ``fhs``, the configured model)."""
    cfg = config or BacktestConfig()
    if prices is not None and ("optimal_fhs" in rules or "paper_fhs" in rules
                               or ("optimal" in rules and optimal_model != "gbm")):
        raise ModelDomainError("rules optimal_fhs, paper_fhs and optimal with an FHS floor fit the risk model on the "
                               "data dir's bars: not with a prices file (pass --model gbm, or drop those rules)")
    bh = None
    if prices is not None:
        from basisctl.backtest.data import _bar_hours

        bh = _bar_hours(prices)
        if bh != 1.0 and "optimal_boot" in rules:  # never fetch 1h bars from elsewhere behind the given file
            keep = ",".join(r for r in rules if r != "optimal_boot")
            raise ModelDomainError(f"rule optimal_boot resamples 1-hour returns and the prices file has {bh:g}h "
                                   f"bars: give 1h bars, or drop the rule (--rules {keep})")
    out = CompareResult()
    for p in periods:
        cost = paper_cost_bps(p.asset) if cost_bps is None else cost_bps
        paper = calibrate_rule(p.asset, p.calib_from, p.calib_to, cost, spec, candles=prices, candles_bar_hours=bh,
                               funding=funding)
        costs = CostModel.fixed(cost)
        rets = (hourly_returns(p.asset, p.calib_to, BOOT_LOOKBACK_DAYS, candles=prices)
                if "optimal_boot" in rules else None)
        base: BacktestData | None = None
        for v in venues:
            if funding is not None:
                f, src = funding, "funding file"
            else:
                f, src = load_funding_stream(p.asset, v)
            if base is None:
                base = prepare(p.asset, p.start, p.end, funding=f, prices=prices)
                data = base
            else:
                data = base.with_funding(f, src)
            rows, res, built = compare_window(data, paper, p.label, v, rules, costs, cfg, returns_1h=rets,
                                              optimal_model=optimal_model)
            out.rows += rows
            for r in rules:
                out.results[(p.label, p.asset, v, r)] = res[r]
                out.rules[(p.label, p.asset, r)] = built[r]
            if on_step:
                on_step(f"{p.asset} {p.label} {v}")
    return out
