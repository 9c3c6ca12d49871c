"""Backtest kernel timing: the numba-compiled loop vs the same source as plain Python, in the same run.

Run:  .venv/bin/python benchmarks/bench_backtest.py [--repeat 200] [--json]

Workload: BTC, 2025-03-10 -> 2026-03-10, 8,760 hourly Binance perp bars, Hyperliquid funding, the rule frozen on
the two years before (what ``basisctl backtest --asset BTC`` runs). Timed after compilation:

* ``kernel``: one call of ``backtest_core_nb`` on prepared arrays (the compiled loop, incl. the shared
  ``decide_nb``, with the default venue liquidation accounting and the per-bar components);
* ``kernel_before_issue17``: the frozen pre-issue-17 kernel (tests/backtest/_kernel_frozen_ab70bf5.py, no
  components, bar-high liquidation) on the same arrays, timed in the same run; ``ratio_kernel_vs_before``;
* ``run_backtest``: kernel + result object; ``metrics``: all metrics (pandas daily resampling dominates);
* ``python_twin``: the identical kernel source run as plain Python (``BASISCTL_DISABLE_JIT=1``, in a child
  process started by this script, so both numbers come from the same run on the same machine);
* ``sweep``: a 96-point grid through ``run_sweep`` serially and on a 2-process pool.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _timing import median_seconds, print_results  # benchmarks/_timing.py (scripts run from this folder)


def _setup():
    from basisctl.backtest import BacktestConfig, CostModel, calibrate_rule, prepare

    data = prepare("BTC", "2025-03-10", "2026-03-10", funding_venue="hyperliquid")
    rule = calibrate_rule("BTC", "2023-03-10", "2025-03-10", 20.0)
    return data, rule, CostModel.paper("BTC"), BacktestConfig()




def child_python_twin(repeat: int) -> None:
    """Runs under BASISCTL_DISABLE_JIT=1: prints the median seconds of one plain-Python kernel call."""
    from basisctl.backtest.engine import kernel_args
    from basisctl.backtest.kernel import backtest_core_nb

    data, rule, cm, cfg = _setup()
    assert not hasattr(backtest_core_nb, "py_func"), "JIT is not disabled in the twin"
    args = kernel_args(data, rule, cm, cfg)
    print(json.dumps({"python_twin_s": median_seconds(lambda: backtest_core_nb(*args), repeat)}))


def _frozen_kernel():
    """The pre-issue-17 kernel kept verbatim for the parity tests (None outside a source checkout)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "backtest",
                        "_kernel_frozen_ab70bf5.py")
    if not os.path.exists(path):
        return None
    with open(path) as fh:  # compiled here without numba's on-disk cache (that cache is keyed to the test module)
        src = fh.read().replace("@njit\n", "@njit(cache=False)\n")
    ns: dict = {"__name__": "_kernel_frozen_bench"}
    exec(compile(src, path, "exec"), ns)
    return ns["backtest_nb"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--twin-repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child_python_twin(a.twin_repeat)
        return

    from basisctl.backtest import run_backtest
    from basisctl.backtest.engine import kernel_args
    from basisctl.backtest.kernel import backtest_core_nb
    from basisctl.backtest.sweep import SweepGrid, run_sweep

    t0 = time.perf_counter()
    data, rule, cm, cfg = _setup()
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_backtest(data, rule, cm, cfg)
    t_first = time.perf_counter() - t0  # includes compilation or cache load
    args = kernel_args(data, rule, cm, cfg)
    t_kernel = median_seconds(lambda: backtest_core_nb(*args), a.repeat)
    before = _frozen_kernel()
    t_before = float("nan")
    if before is not None:
        old_args = list(args[:32])
        old_args[26] = True  # liq_at_high: the old default
        before(*old_args)  # compile
        t_before = median_seconds(lambda: before(*old_args), a.repeat)
    t_run = median_seconds(lambda: run_backtest(data, rule, cm, cfg), a.repeat)
    t_metrics = median_seconds(lambda: res.metrics(), max(a.repeat // 10, 5))

    env = {**os.environ, "BASISCTL_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--twin-repeat", str(a.twin_repeat)],
                          env=env, capture_output=True, text=True, check=True)
    t_py = json.loads(proc.stdout.strip().splitlines()[-1])["python_twin_s"]

    grid = SweepGrid(alpha_target_mult=(0.8, 0.9, 1.0, 1.1, 1.2, 1.5), cost_bps=(10.0, 20.0, 30.0, 40.0),
                     q_min_usd=(1e4, 1e5), buffer_bps=(5.0, 10.0))
    n_pts = len(grid.points())
    t0 = time.perf_counter()
    run_sweep(data, rule, grid, cfg, executor="serial")
    t_sweep_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_sweep(data, rule, grid, cfg, executor="process", workers=2)
    t_sweep_pool = time.perf_counter() - t0

    out = {
        "bars": int(data.p_open.size), "cpu_count": os.cpu_count(),
        "setup_load_and_calibrate_s": t_setup, "first_call_s (compile or cache load)": t_first,
        "kernel_ms": t_kernel * 1e3, "kernel_before_issue17_ms": t_before * 1e3,
        "ratio_kernel_vs_before": t_kernel / t_before, "run_backtest_ms": t_run * 1e3, "metrics_ms": t_metrics * 1e3,
        "python_twin_ms": t_py * 1e3, "speedup_numba_vs_python": t_py / t_kernel,
        f"sweep_{n_pts}pts_serial_s": t_sweep_serial, f"sweep_{n_pts}pts_pool2_s": t_sweep_pool,
    }
    print_results(out, a.json, "40s", ".4g")


if __name__ == "__main__":
    main()
