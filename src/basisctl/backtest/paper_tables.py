"""The paper's printed Table X and XI (Sec. IX.B, /work/shared/spec/paper.md §9.2) and a cell-by-cell comparison
with a replay (``run_experiment(PAPER_PERIODS)``).

Values are transcribed as printed, converted to fractions (9.73 % -> 0.0973); ``avg_leverage`` in x and
``rebalances`` as counts. The paper does not report Sharpe ratios or liquidation counts, so those are never
compared.
"""

from __future__ import annotations

import pandas as pd

from basisctl.backtest.experiment import ExperimentResult

#: Table X: (ticker, funding venue) -> acc_return, apy, funding_apy, max_drawdown [fractions], avg_leverage [x].
PAPER_TABLE_X: dict[tuple[str, str], dict[str, float]] = {
    ("BTC", "binance"): {"acc_return": 0.0973, "apy": 0.0970, "funding_apy": 0.1033, "max_drawdown": -0.0006,
                         "avg_leverage": 4.41},
    ("BTC", "hyperliquid"): {"acc_return": 0.2083, "apy": 0.2077, "funding_apy": 0.2139, "max_drawdown": -0.0007,
                             "avg_leverage": 3.89},
    ("DOGE", "binance"): {"acc_return": 0.0768, "apy": 0.0766, "funding_apy": 0.0949, "max_drawdown": -0.0026,
                          "avg_leverage": 1.85},
    ("DOGE", "hyperliquid"): {"acc_return": 0.2532, "apy": 0.2524, "funding_apy": 0.2698, "max_drawdown": -0.0024,
                              "avg_leverage": 1.66},
    ("ETH", "binance"): {"acc_return": 0.1006, "apy": 0.1003, "funding_apy": 0.1083, "max_drawdown": -0.0014,
                         "avg_leverage": 3.95},
    ("ETH", "hyperliquid"): {"acc_return": 0.1831, "apy": 0.1825, "funding_apy": 0.1899, "max_drawdown": -0.0018,
                             "avg_leverage": 3.58},
    ("LINK", "binance"): {"acc_return": 0.0828, "apy": 0.0826, "funding_apy": 0.0958, "max_drawdown": -0.0017,
                          "avg_leverage": 2.15},
    ("LINK", "hyperliquid"): {"acc_return": 0.1895, "apy": 0.1889, "funding_apy": 0.2030, "max_drawdown": -0.0016,
                              "avg_leverage": 1.92},
}
#: Table XI: rebalances [count], turnover and average rebalance [fractions of initial AuM].
PAPER_TABLE_XI: dict[tuple[str, str], dict[str, float]] = {
    ("BTC", "binance"): {"rebalances": 5, "turnover_pct": 0.6786, "avg_rebalance_pct": 0.1357},
    ("BTC", "hyperliquid"): {"rebalances": 5, "turnover_pct": 0.7137, "avg_rebalance_pct": 0.1427},
    ("DOGE", "binance"): {"rebalances": 10, "turnover_pct": 2.3278, "avg_rebalance_pct": 0.2328},
    ("DOGE", "hyperliquid"): {"rebalances": 9, "turnover_pct": 2.2465, "avg_rebalance_pct": 0.2496},
    ("ETH", "binance"): {"rebalances": 7, "turnover_pct": 1.1178, "avg_rebalance_pct": 0.1597},
    ("ETH", "hyperliquid"): {"rebalances": 6, "turnover_pct": 1.0239, "avg_rebalance_pct": 0.1706},
    ("LINK", "binance"): {"rebalances": 6, "turnover_pct": 1.4031, "avg_rebalance_pct": 0.2339},
    ("LINK", "hyperliquid"): {"rebalances": 6, "turnover_pct": 1.5096, "avg_rebalance_pct": 0.2516},
}


def compare_with_paper(exp: ExperimentResult, period_label: str) -> pd.DataFrame:
    """One row per (ticker, funding, metric) present in both: paper value, ours, ours - paper, and the table."""
    m = exp.metrics_frame()
    m = m[m["period"] == period_label]
    rows = []
    for _, r in m.iterrows():
        key = (str(r["ticker"]), str(r["funding"]))
        for table, ref in (("X", PAPER_TABLE_X), ("XI", PAPER_TABLE_XI)):
            for metric, paper in ref.get(key, {}).items():
                ours = float(r[metric])
                rows.append({"table": table, "ticker": key[0], "funding": key[1], "metric": metric,
                             "paper": float(paper), "ours": ours, "diff": ours - float(paper)})
    return pd.DataFrame(rows, columns=["table", "ticker", "funding", "metric", "paper", "ours", "diff"])
