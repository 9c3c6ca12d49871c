"""Coverage-study timing (``basisctl risk-backtest`` over the four assets), with baselines in the same run.

Run:  BASISCTL_DATA_DIR=../shared/data python benchmarks/bench_risk.py [--json]

* study: four assets x {gbm, kou, fhs, evt} x eps {1e-2, 1e-3} x h {1, 24, 168} h, both venue rules, daily
  origins, 180-day lookback, 4,000 FHS paths; wall clock with 2 worker processes and with 1 (plus its CPU time,
  which is what a dedicated 2-core machine divides by about two);
* issue 17: the same study with the band's floor cell (eps_liq = 1e-4 over 3 h, gbm and fhs, 40,000 FHS floor
  paths per origin), timed against the study without it in the same run (target: ratio <= 1.1; ``--floor-only``
  runs just this pair, 1 process each);
* baselines: Kou barriers solved one origin at a time (n = 1 rows) against the batched solve on the same 100
  origins; the FHS kernel with one path after another (the first version) against the shipped kernel, which
  runs the GARCH recursion across paths so the sqrt latencies overlap.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import numpy as np

from _timing import print_results  # benchmarks/_timing.py (scripts run from this folder)
from basisctl._jit import njit
from basisctl.risk.base import solve_barrier
from basisctl.risk.coverage import BAND_FLOOR_CELL, StudyConfig, compute_barriers
from basisctl.risk.fhs import fhs_max_nb
from basisctl.risk.fit import load_bars
from basisctl.risk.kou import KouRisk, fit_kou
from basisctl.risk.study import run_study
from basisctl.simulate._rng import chunk_states, uniform_index

ASSETS = ("BTC", "ETH", "DOGE", "LINK")
#: issue 17: the study with the floor cell at most this many times main's cell set (CPU, same run)
FLOOR_TARGET = 1.1


@njit
def fhs_max_sequential_nb(z, u, s2_next, omega, a, beta, steps, n_paths, state):
    s0, s1, s2r, s3 = state[0], state[1], state[2], state[3]
    out = np.empty((n_paths, steps.size))
    for i in range(n_paths):
        s2, cum, mx, j = s2_next, 0.0, -1e300, 0
        for k in range(1, steps[steps.size - 1] + 1):
            idx, s0, s1, s2r, s3 = uniform_index(s0, s1, s2r, s3, z.size)
            sd = np.sqrt(s2)
            mx = max(mx, cum + sd * u[idx])
            e = sd * z[idx]
            cum += e
            mx = max(mx, cum)
            s2 = omega + a * e * e + beta * s2
            while j < steps.size and steps[j] == k:
                out[i, j] = mx
                j += 1
    return out


def kou_baseline(n: int = 100) -> dict[str, float]:
    bars = load_bars("BTC")
    r = np.diff(np.log(bars.close))
    L = 24 * 180
    fits = [fit_kou(r[s : s + L - 1], 1.0) for s in range(0, 24 * n, 24)]
    t0 = time.perf_counter()
    one = [solve_barrier(f, 1e-3, 24.0)[0] for f in fits]
    t_one = time.perf_counter() - t0
    batch = KouRisk(*(np.concatenate([getattr(f, k) for f in fits]) for k in
                      ("sigma_annual", "jump_rate_annual", "p_up", "mean_up", "mean_down", "mu_log_annual")))
    t0 = time.perf_counter()
    many = solve_barrier(batch, 1e-3, 24.0)
    t_batch = time.perf_counter() - t0
    return {"kou_per_origin_s": t_one, "kou_batched_s": t_batch, "kou_speedup": t_one / t_batch,
            "kou_max_abs_diff": float(np.max(np.abs(np.array(one) - many)))}


def fhs_baseline() -> dict[str, float]:
    z = np.random.default_rng(0).standard_normal(4320)
    u = np.abs(z)
    steps = np.array([1, 24, 168], dtype=np.int64)
    st = chunk_states(1, 1)[0]
    fhs_max_nb(z, u, 1e-5, 1e-7, 0.05, 0.9, 0.0, steps, 10, st)
    fhs_max_sequential_nb(z, u, 1e-5, 1e-7, 0.05, 0.9, steps, 10, st)
    t0 = time.perf_counter()
    for _ in range(5):
        fhs_max_sequential_nb(z, u, 1e-5, 1e-7, 0.05, 0.9, steps, 4000, st)
    t_seq = (time.perf_counter() - t0) / 5
    t0 = time.perf_counter()
    for _ in range(5):
        fhs_max_nb(z, u, 1e-5, 1e-7, 0.05, 0.9, 0.0, steps, 4000, st)
    t_pipe = (time.perf_counter() - t0) / 5
    return {"fhs_sequential_ns_per_path_step": t_seq / (4000 * 168) * 1e9,
            "fhs_pipelined_ns_per_path_step": t_pipe / (4000 * 168) * 1e9, "fhs_speedup": t_seq / t_pipe}


def floor_ratio(assets: tuple[str, ...] = ASSETS) -> dict[str, float | str]:
    """The study (1 process, CPU seconds) without and with the band's floor cell, alternated twice."""
    base = StudyConfig()
    floor = replace(base, floor_epsilon=BAND_FLOOR_CELL[0], floor_horizon_hours=BAND_FLOOR_CELL[1])
    t: dict[str, list[float]] = {"main": [], "floor": []}
    for _ in range(2):
        for k, cfg in (("main", base), ("floor", floor)):
            c0 = time.process_time()
            run_study(assets, cfg, workers=1)
            t[k].append(time.process_time() - c0)
    m, f = min(t["main"]), min(t["floor"])
    return {"study_cpu_s_main": m, "study_cpu_s_with_floor_cell": f, "floor_cell_ratio": f / m,
            "study_cpu_s_samples": f"main {t['main']}, with floor {t['floor']}",
            "floor_cell_verdict": f"{'PASS' if f / m <= FLOOR_TARGET else 'FAIL'} (target <= {FLOOR_TARGET:g}x main)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--floor-only", action="store_true", help="only the floor-cell ratio (issue 17)")
    ap.add_argument("--floor-assets", default=",".join(ASSETS), help="assets of the floor-cell ratio")
    args = ap.parse_args()
    compute_barriers(load_bars("BTC"), StudyConfig(lookback_days=31, epsilons=(0.01,)))  # compile / warm caches
    out: dict[str, float | str] = {"load_average_1min": os.getloadavg()[0], "cpus": float(os.cpu_count() or 0)}
    if args.floor_only:
        out.update(floor_ratio(tuple(args.floor_assets.split(","))))
        out["load_average_1min_end"] = os.getloadavg()[0]
        print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k:36s} {v}" for k, v in out.items()))
        return
    t0 = time.perf_counter()
    rows, _ = run_study(ASSETS, workers=2)
    out["study_wall_s_2_workers"] = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    run_study(ASSETS, workers=1)
    out["study_wall_s_1_worker"] = time.perf_counter() - t0
    out["study_cpu_s_1_worker"] = time.process_time() - c0
    out["rows"] = len(rows)
    out.update(floor_ratio())
    out.update(kou_baseline())
    out.update(fhs_baseline())
    out["load_average_1min_end"] = os.getloadavg()[0]
    print_results(out, args.json, "36s", ".4g")


if __name__ == "__main__":
    main()
