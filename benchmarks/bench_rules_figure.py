"""Rules-section NAV figure timing: plotting tz-aware bar times vs naive UTC datetime64, in the same run.

Run:  .venv/bin/python benchmarks/bench_rules_figure.py [--assets 2] [--days 90] [--repeat 3] [--json]

Workload: synthetic hourly NAV of 5 rules x ``--assets`` assets x one window of ``--days`` days, one panel per
asset, rendered to PNG (dpi 90, as the report). ``tz_aware`` plots the tz-aware ``DatetimeIndex`` (what the
section did before issue 20 n: matplotlib converts each timestamp in Python); ``naive_utc`` plots
``index.tz_convert(None).to_numpy()`` (one vectorised conversion, what ``rules_section._utc_naive`` does).
"""

from __future__ import annotations

import argparse
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from _timing import median_seconds, print_summary  # benchmarks/_timing.py (scripts run from this folder)

RULES = ("paper", "optimal", "hold", "fixed_leverage", "periodic")


def render(series: list[list[pd.Series]], naive: bool) -> None:
    fig, axes = plt.subplots(len(series), 1, figsize=(10.0, 0.6 + 2.5 * len(series)), squeeze=False,
                             constrained_layout=True)
    for ax, per_rule in zip(axes[:, 0], series, strict=True):
        for s in per_rule:
            x = pd.DatetimeIndex(s.index).tz_convert(None).to_numpy() if naive else s.index
            ax.plot(x, s.to_numpy(), lw=0.9)
        ax.tick_params(axis="x", rotation=30)
    fig.savefig(io.BytesIO(), format="png", dpi=90)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=int, default=2)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    idx = pd.date_range("2025-07-01", periods=24 * a.days, freq="h", tz="UTC")
    series = [[pd.Series(np.exp(np.cumsum(rng.normal(0, 1e-3, len(idx)))), index=idx) for _ in RULES]
              for _ in range(a.assets)]
    render(series, True)  # warm-up (font cache, first-figure costs)
    t_aware = median_seconds(lambda: render(series, False), a.repeat)
    t_naive = median_seconds(lambda: render(series, True), a.repeat)
    out = {"assets": a.assets, "days": a.days, "points": len(idx) * len(RULES) * a.assets,
           "tz_aware_s": t_aware, "naive_utc_s": t_naive, "ratio": t_aware / t_naive}
    print_summary(out, a.json, f"{out['points']:,} points: tz-aware {t_aware:.3f} s, naive UTC {t_naive:.3f} s, "
                  f"ratio {out['ratio']:.1f}x")


if __name__ == "__main__":
    main()
