"""The paper's 2024 replay with an explicit calibration protocol (issue 17 item 4).

The paper says only "fixed historically calibrated control parameters" (spec Sec. IX); its frozen values are not
in the spec. A :class:`ReplayProtocol` makes the choice explicit: the calibration window (``2023`` = the year
before the test, ``2022-2023``, or ``expanding`` = everything the data dir holds before the test), the sigma
estimator (realised vol of the perp bars over ``sigma_lookback_days``, or over the whole calibration window when
None) and the stress multiplier. kappa_14d always uses the Binance funding of the calibration window (the
paper calibrates on Binance). :func:`replay_table` runs the eight (asset, funding venue) rows of Tables X and XI
under one protocol and puts our cells next to the paper's with the tolerances of the issue.

Spot: ``spot="auto"`` = Binance spot 1h bars wherever the data dir covers the window (2024 is covered since the
data grew; the label is in each row's ``spot_source``), else the flagged proxy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.experiment import Period, run_experiment
from basisctl.backtest.paper_tables import PAPER_TABLE_X, PAPER_TABLE_XI
from basisctl.backtest.rule import RuleSpec

TEST_START, TEST_END = "2024-01-01", "2025-01-01"
#: calibration start per window name (expanding: 2020-07-11, the first day all four assets have Binance perp 4h
#: bars; ``calibrate_sigma`` falls back to 4h bars where the 1h series (from 2022) does not reach)
WINDOW_START = {"2023": "2023-01-01", "2022-2023": "2022-01-01", "expanding": "2020-07-11"}
#: tolerances of issue 17: absolute for APY [fraction] / leverage [x] / rebalances [count], relative for turnover
TOLERANCE = {"apy": 0.015, "avg_leverage": 0.5, "rebalances": 3.0, "turnover_pct": 0.30}
METRICS = ("acc_return", "apy", "funding_apy", "max_drawdown", "avg_leverage", "rebalances", "turnover_pct")


@dataclass(frozen=True)
class ReplayProtocol:
    """How the 2024 replay's rule is frozen. ``window``: 2023 | 2022-2023 | expanding; ``sigma_lookback_days``:
    realised-vol lookback [days] ending at the test start (None = the whole calibration window); ``stress``:
    sigma multiplier (the paper's 1.5)."""

    window: str = "2023"
    sigma_lookback_days: float | None = 180.0
    stress: float = 1.5

    @property
    def calib_start(self) -> str:
        return WINDOW_START[self.window]

    def lookback(self) -> float:
        if self.sigma_lookback_days is not None:
            return float(self.sigma_lookback_days)
        return float((pd.Timestamp(TEST_START) - pd.Timestamp(self.calib_start)).days)

    def label(self) -> str:
        sig = "window" if self.sigma_lookback_days is None else f"{self.sigma_lookback_days:g}d"
        return f"calib {self.window}, sigma {sig}, stress x{self.stress:g}"


#: the report's headline protocol (docs/backtest.md, "The 2024 replay explained"): rule frozen on 2023 with the
#: 180-day sigma (= ``PAPER_PERIODS``), strictly out of time; the expanding window reproduces the paper's Table VII
#: alpha† best (BTC 0.163 vs 0.173, LINK 0.284 vs 0.283) and meets the most tolerances (20 of 32 vs 14 of 32)
DEFAULT_PROTOCOL = ReplayProtocol()
SENSITIVITY: tuple[ReplayProtocol, ...] = (
    ReplayProtocol("2023", 180.0), ReplayProtocol("2023", None), ReplayProtocol("2022-2023", None),
    ReplayProtocol("expanding", None),
)


def replay_table(protocol: ReplayProtocol = DEFAULT_PROTOCOL, config: BacktestConfig | None = None,
                 spot: str = "auto") -> pd.DataFrame:
    """One row per (ticker, funding venue, metric): paper, ours, diff, tolerance, within (bool)."""
    periods = tuple(Period(a, TEST_START, TEST_END, "2024 (paper)", calib_start=protocol.calib_start)
                    for a in ("BTC", "ETH", "DOGE", "LINK"))
    spec = RuleSpec(stress=protocol.stress, lookback_days=protocol.lookback())
    exp = run_experiment(periods, config=config, spec=spec, spot=spot)
    return cells_table(exp.metrics_frame(), protocol.label())


def cells_table(m: pd.DataFrame, label: str) -> pd.DataFrame:
    """:func:`replay_table`'s rows from an experiment's ``metrics_frame`` (rows without a paper value skipped)."""
    rows = []
    for _, r in m.iterrows():
        key = (str(r["ticker"]), str(r["funding"]))
        ref = {**PAPER_TABLE_X.get(key, {}), **PAPER_TABLE_XI.get(key, {})}
        if not ref:
            continue
        for metric in METRICS:
            paper = float(ref[metric])
            ours = float(r[metric])
            tol = TOLERANCE.get(metric)
            if tol is None:
                within = None
            elif metric == "turnover_pct":
                within = abs(ours - paper) <= tol * abs(paper)
            else:
                within = abs(ours - paper) <= tol
            rows.append({"protocol": label, "ticker": key[0], "funding": key[1], "metric": metric,
                         "paper": paper, "ours": ours, "diff": ours - paper, "within": within,
                         "liquidations": int(r["liquidations"]), "spot_source": r["spot_source"],
                         "alpha_target": float(r["alpha_target"])})
    return pd.DataFrame(rows)


_FMT = {"acc_return": ("acc. return %", 100.0, 2), "apy": ("APY %", 100.0, 2),
        "funding_apy": ("funding APY %", 100.0, 2), "max_drawdown": ("max DD %", 100.0, 2),
        "avg_leverage": ("avg lev.", 1.0, 2),
        "rebalances": ("rebalances", 1.0, 0), "turnover_pct": ("turnover %", 100.0, 1)}


def markdown_table(table: pd.DataFrame) -> str:
    """The 8 x 7 side-by-side table (paper / ours; ✓ within tolerance, ✗ outside; untoleranced cells unmarked)."""
    head = "| ticker | funding | " + " | ".join(v[0] for v in _FMT.values()) + " | liq. | α† |"
    lines = [head, "|" + "---|" * (len(_FMT) + 4)]
    for (tk, fv), g in table.groupby(["ticker", "funding"], sort=False):
        cells = []
        for metric, (_, scale, nd) in _FMT.items():
            r = g[g["metric"] == metric].iloc[0]
            mark = "" if r["within"] is None or pd.isna(r["within"]) else (" ✓" if r["within"] else " ✗")
            cells.append(f"{r['paper'] * scale:.{nd}f} / {r['ours'] * scale:.{nd}f}{mark}")
        lines.append(f"| {tk} | {fv} | " + " | ".join(cells) + f" | {int(g['liquidations'].iloc[0])} | "
                     f"{g['alpha_target'].iloc[0]:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m basisctl.backtest.paper_replay: the docs' tables
    for p in SENSITIVITY:
        t = replay_table(p)
        n_in, n_tol = int(t["within"].fillna(False).sum()), int(t["within"].notna().sum())
        print(f"\n### {p.label()}: {n_in} of {n_tol} toleranced cells within\n\n{markdown_table(t)}")
    print(f"\nspot: {', '.join(sorted(set(t['spot_source'])))}")
