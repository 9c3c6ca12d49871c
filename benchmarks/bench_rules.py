"""Optimal-band solver and walk-forward comparison timing, each against a baseline in the same run.

Run:  .venv/bin/python benchmarks/bench_rules.py [--repeat 20] [--json]
      (market data: BASISCTL_DATA_DIR, default ../shared/data)

* ``solve_band``: one :func:`basisctl.model.optimal_band.solve_optimal_band` (sigma 0.5, kappa 10 %/yr, floor
  0.064, 20 bps both sides, q_min $10k on $1M: a 373-state grid), median after compilation; baseline: the same
  source as plain Python (``BASISCTL_DISABLE_JIT=1``, a child process of this script);
  ``solve_band_fixed``: the same with a $500 fixed cost (interior resets, more policy iterations);
* ``compare_rules_default``: ``basisctl compare-rules`` on its default set (6 asset-periods x 2 funding venues x 6
  rules = 72 backtests, calibration, the solver, the bootstrap floor of ``optimal_boot`` and the block bootstrap
  included), wall time of one run after warm-up; baseline: ``run_experiment`` on the same windows (the paper rule
  only: 12 backtests), so the ratio is the cost of five extra rules plus the bootstraps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _timing import median_seconds, print_results  # benchmarks/_timing.py (scripts run from this folder)

ARGS = {"sigma_annual": 0.5, "kappa_annual": 0.10, "alpha_floor": 0.0642, "buy_cost": 20.0, "sell_cost": 20.0,
        "q_min_usd": 10_000.0}




def child(repeat: int) -> None:
    from basisctl.model.optimal_band import solve_optimal_band

    print(json.dumps({"python_s": median_seconds(lambda: solve_optimal_band(**ARGS), repeat)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        child(1)
        return
    os.environ.setdefault("BASISCTL_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    from basisctl.backtest.experiment import DEFAULT_PERIODS, run_experiment
    from basisctl.model.optimal_band import solve_optimal_band
    from basisctl.rules.compare import compare_rules

    t0 = time.perf_counter()
    b = solve_optimal_band(**ARGS)
    t_first = time.perf_counter() - t0
    t_solve = median_seconds(lambda: solve_optimal_band(**ARGS), a.repeat)
    t_fixed = median_seconds(lambda: solve_optimal_band(**ARGS, fixed_usd=500.0), a.repeat)
    env = {**os.environ, "BASISCTL_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], env=env, capture_output=True,
                          text=True, check=True)
    t_py = json.loads(proc.stdout.strip().splitlines()[-1])["python_s"]

    compare_rules(DEFAULT_PERIODS[:1], ("hyperliquid",))  # warm-up: compile and read the files once
    t0 = time.perf_counter()
    res = compare_rules()
    t_cmp = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_experiment(DEFAULT_PERIODS)
    t_exp = time.perf_counter() - t0
    out = {
        "cpu_count": os.cpu_count(), "grid_points": b.grid_points, "iterations": b.iterations,
        "first_call_s (compile or cache load)": t_first, "solve_band_ms": t_solve * 1e3,
        "solve_band_fixed_cost_ms": t_fixed * 1e3, "solve_band_python_twin_ms": t_py * 1e3,
        "speedup_numba_vs_python": t_py / t_solve, "compare_rules_default_s": t_cmp,
        "compare_rules_backtests": len(res.rows), "baseline_run_experiment_paper_only_s": t_exp,
        "ratio_compare_vs_experiment": t_cmp / t_exp,
    }
    print_results(out, a.json, "42s", ".4g")


if __name__ == "__main__":
    main()
