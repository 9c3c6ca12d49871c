"""Path study timing: batched throughput against the single-kernel rate in the same run, and the default study.

Run:  python benchmarks/bench_study.py [--paths 64] [--study] [--study-paths 1000] [--json]
      (market data for --study: BASISCTL_DATA_DIR, default ../shared/data)

* ``single_kernel``: one :func:`basisctl.backtest.kernel.backtest_core_nb` call (the study's accounting: barrier
  liquidation, Hyperliquid rule, re-hedge at the next open) on one long hourly path (all the benchmark's paths end
  to end), bar-steps/s, median of 3 after compilation: the kernel alone, no set-up;
* ``batched``: :func:`basisctl.study.batch.run_batch` with 6 rules x ``--paths`` one-year paths (metrics computed
  inside), bar-steps/s, with numba's threads at 1 (``batched_1thread``) and at the default (``batched``);
* ``batched_end_to_end``: :func:`basisctl.study.simulate.run_sim_chunk` (FHS path generation + batch + metrics) on
  the same number of paths, 1 thread; ``ratio_*`` = rate / single_kernel (target >= 0.8);
* ``--study``: the default study (``basisctl compare-rules --study`` on the data dir: real windows + simulated
  paths, statistics), wall time split into real paths, calibration and simulation, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from _timing import median_seconds  # benchmarks/_timing.py (scripts run from this folder)

YEAR = 8760
RULES = np.array([  # alpha_target, alpha_lower, alpha_upper, kappa, k_reb, reset_lower, reset_upper, theta
    [0.2, 0.1, 0.5, 0.003, 0.002, 0.2, 0.2, 0.05], [0.2, 0.1, 1.0, 0.003, 0.0, 0.2, 0.2, 0.05],
    [0.12, 0.08, 0.16, 0.003, 0.0, 0.1, 0.14, 0.05], [0.2, 0.1, 0.6, 0.003, 0.0, 0.2, 0.2, 0.05],
    [0.15, 0.1, 0.4, 0.003, 0.002, 0.15, 0.15, 0.05], [0.2, 0.1, 1.0, 0.003, 0.0, 0.2, 0.2, 0.05],
]).T


def _gbm(n_paths: int, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_paths):
        lp = np.cumsum(0.006 * rng.standard_normal(YEAR + 1))
        po, pc = 100 * np.exp(lp[:-1]), 100 * np.exp(lp[1:])
        ph = np.maximum(po, pc) * np.exp(np.abs(0.003 * rng.standard_normal(YEAR)))
        fr = np.where(np.arange(YEAR) % 8 == 0, 1e-4, 0.0)
        out.append((po, ph, pc, po, pc, fr, np.zeros(YEAR)))
    return out


def throughput(n_paths: int) -> dict[str, float]:
    import numba

    from basisctl.backtest.kernel import LIQ_BARRIER, backtest_core_nb
    from basisctl.study.batch import Liquidation, PathBatch, run_batch

    paths = _gbm(n_paths)
    LIQ = Liquidation(LIQ_BARRIER, 0.0, 2.0 / 3.0, 1)  # BacktestConfig's defaults: the Hyperliquid rule
    long = [np.concatenate([p[k] for p in paths]) for k in range(7)]
    c, q, e = np.array([20.0]), np.array([0.0]), np.zeros(0)

    def single() -> None:
        backtest_core_nb(*long, 1e6, 0.2, 0.1, 0.5, 0.003, 0.002, 1e4, 10.0, q, c, np.inf, q, c, np.inf, 0.05, 0,
                         True, True, False, LIQ_BARRIER, e, e, 0.2, 0.2, 0, LIQ.fee_rate, LIQ.backstop_frac,
                         LIQ.rehedge_delay_bars)

    b = PathBatch.empty()
    for p in paths:
        b.add(*p, cost_bps=20.0, tiers=(e, e))
    params = np.repeat(RULES[:, :, None], n_paths, axis=2)
    reset = np.zeros((RULES.shape[1], n_paths), dtype=np.int64)
    reset[5] = 168

    def batched() -> None:
        run_batch(b, params, reset, 1e6, 1e4, 10.0, LIQ)

    single()
    batched()
    steps_single = n_paths * YEAR
    steps_batch = n_paths * YEAR * RULES.shape[1]
    t_single = median_seconds(single, 3)
    nthreads = numba.get_num_threads()
    numba.set_num_threads(1)
    t_b1 = median_seconds(batched, 3)
    t_e2e = _end_to_end(n_paths, params[:, :, 0], reset[:, 0])
    numba.set_num_threads(nthreads)
    t_bn = median_seconds(batched, 3)
    single_rate = steps_single / t_single
    return {"paths": n_paths, "rules": RULES.shape[1], "numba_threads": nthreads,
            "single_kernel_Msteps_s": single_rate / 1e6, "batched_1thread_Msteps_s": steps_batch / t_b1 / 1e6,
            "batched_Msteps_s": steps_batch / t_bn / 1e6, "batched_end_to_end_1thread_Msteps_s":
            steps_batch / t_e2e / 1e6, "ratio_batched_1thread": steps_batch / t_b1 / single_rate,
            "ratio_batched": steps_batch / t_bn / single_rate,
            "ratio_end_to_end_1thread": steps_batch / t_e2e / single_rate}


def _end_to_end(n_paths: int, params: np.ndarray, reset: np.ndarray) -> float:
    """FHS path generation + batched runs + metrics for ``n_paths`` one-year paths, 1 thread [s]."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tests.study.worlds import gbm_history

    from basisctl.backtest.kernel import LIQ_BARRIER
    from basisctl.study.batch import Liquidation
    from basisctl.study.generators import fit_fhs_gen, valid_starts
    from basisctl.study.simulate import SimSetup, run_sim_chunk

    h = gbm_history(days=730)
    s = SimSetup("BTC", "fhs", 0, fit_fhs_gen(h, 0, 0), h.fund[0], valid_starts(h, 0, 30), 30, YEAR, 1, 100.0,
                 params, reset, 20.0, (np.zeros(0), np.zeros(0)), 1e6, 1e4, 10.0,
                 Liquidation(LIQ_BARRIER, 0.0, 2.0 / 3.0, 1))
    run_sim_chunk(s, [0])
    return median_seconds(lambda: run_sim_chunk(s, list(range(n_paths))), 3)


def study_time(paths: int) -> dict[str, float | str]:
    from basisctl.study.data import data_inputs
    from basisctl.study.run import run_study
    from basisctl.study.studyfile import load_study

    st = load_study().with_(paths=paths)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    history, real, hold, cfg, spec = data_inputs(st)
    res = run_study(st, history=history, real=real, holdout=hold, cfg=cfg, spec=spec)
    res.summary()
    total = time.perf_counter() - t0
    return {"study_paths": paths, "study_total_s": total, **{k: v for k, v in res.timings.items()},
            "load_before": f"{load0[0]:.1f}", "load_after": f"{os.getloadavg()[0]:.1f}", "cpus": os.cpu_count() or 0,
            "study_hash": st.sha256[:12]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=64)
    ap.add_argument("--study", action="store_true")
    ap.add_argument("--study-paths", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out: dict[str, object] = {"throughput": throughput(a.paths)}
    if a.study:
        out["study"] = study_time(a.study_paths)
    if a.json:
        print(json.dumps(out, indent=1))
        return
    for k, v in out.items():
        print(k)
        for kk, vv in v.items():  # type: ignore[attr-defined]
            print(f"  {kk}: {vv:.3f}" if isinstance(vv, float) else f"  {kk}: {vv}")


if __name__ == "__main__":
    main()
