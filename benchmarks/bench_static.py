"""`basisctl static` end to end, the warm FHS alpha and the static grid, with baselines in the same run.

Run:  BASISCTL_DATA_DIR=../shared/data python benchmarks/bench_static.py [--repeat 5] [--json] [--no-grid]
      [--no-fhs] [--baseline-src ../main/src] [--venue hyperliquid] [--asset BTC]

Issue 17 (the default model is fhs), targets: a warm FHS alpha <= 1 s after imports, `static` end to end <= 2 s.

* ``static`` end to end: ``basisctl static --venue V --asset A --json`` in a fresh interpreter (imports, data,
  FHS), for ``--model fhs`` (the default) and ``--model gbm``. **cold** = an empty result cache
  (``$BASISCTL_CACHE_DIR`` set to a new folder; the numba cache stays as it is, see docs/performance.md), then
  **warm** = the same command again, ``--repeat`` times (medians). Wall and CPU (user + system of the child, from
  ``os.wait4``) are both reported: the machine may be shared, and CPU time is what an idle core would take.
  The JSON of every run must be identical to the cold run's (checked).
* ``--baseline-src DIR``: the same cold and warm runs with another checkout's ``src`` (e.g. the commit before
  this work) on ``PYTHONPATH``, interleaved with this tree's, so the ratio is measured in the same run and under
  the same load; its stdout must equal this tree's byte for byte (checked).
* import time of ``basisctl.cli.main`` in a fresh interpreter (median).
* warm FHS alpha after imports (``risk.sizing.model_alpha``, in this process, after one call that loads the bars
  and the numba kernels): **computed** with the result cache disabled (GARCH fit + 800,000 paths over 24 h), and
  **cached** (the entry ``static`` reads on a second run). GBM's closed form is the in-process baseline.
* the static grid (``--no-grid`` skips it): the vectorised solver against a naive per-cell scipy baseline, both
  solving Variant 2 (eps 1e-3) and Variant 1 (LGD 0.1) for the default 96 cells from the same calibrated inputs;
  "total" adds calibration from the data dir with cold in-process caches (what `basisctl static-grid` does).

The table ends with PASS/FAIL per target, on wall and on CPU, and the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
ALPHA_TARGET_S = 1.0
STATIC_TARGET_S = 2.0
CLI = "import sys; sys.argv[0] = 'basisctl'; from basisctl.cli.main import app; app()"
IMPORT = ("import time; t, c = time.perf_counter(), time.process_time(); import basisctl.cli.main; "
          "print(time.perf_counter() - t, time.process_time() - c)")


# ---------------------------------------------------------------------------------------------- subprocesses
def timed_child(args: list[str], src: Path, cache_dir: str) -> tuple[float, float, str]:
    """(wall s, CPU s = user + system of the child from ``os.wait4``, stdout) of ``python -c CLI args`` with
    ``src`` on PYTHONPATH and ``cache_dir`` as the result cache."""
    env = {**os.environ, "PYTHONPATH": str(src), "BASISCTL_CACHE_DIR": cache_dir}
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=out_f, stderr=err_f, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        if p.returncode:
            raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {err_f.read().strip()[-300:]}")
        return wall, ru.ru_utime + ru.ru_stime, out_f.read()


def static_e2e(venue: str, asset: str, repeat: int, baseline: Path | None) -> dict[str, Any]:
    """Cold and warm `static` runs per model (fresh interpreters), and the baseline checkout's, interleaved."""
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-static-") as tmp:
        for model in ("fhs", "gbm"):
            args = ["static", "--venue", venue, "--asset", asset, "--json", "--model", model]
            here = os.path.join(tmp, f"here-{model}")
            w, c, first = timed_child(args, SRC, here)
            res[f"static_{model}_cold_wall_s"], res[f"static_{model}_cold_cpu_s"] = w, c
            walls, cpus, bwalls, bcpus = [], [], [], []
            base = os.path.join(tmp, f"base-{model}")
            if baseline is not None:  # the baseline's own cold run (empty result cache of its own)
                w, c, bout = timed_child(args, baseline, base)
                if bout != first:
                    raise AssertionError(f"static --model {model}: this tree's JSON differs from the baseline's")
                res[f"baseline_static_{model}_cold_wall_s"], res[f"baseline_static_{model}_cold_cpu_s"] = w, c
            for _ in range(repeat):
                w, c, out = timed_child(args, SRC, here)
                if out != first:
                    raise AssertionError(f"static --model {model}: the warm JSON differs from the cold run's")
                walls.append(w)
                cpus.append(c)
                if baseline is not None:
                    w, c, bout = timed_child(args, baseline, base)
                    if bout != first:  # byte for byte
                        raise AssertionError(f"static --model {model}: this tree's JSON differs from the baseline's")
                    bwalls.append(w)
                    bcpus.append(c)
            res[f"static_{model}_warm_wall_s"] = statistics.median(walls)
            res[f"static_{model}_warm_cpu_s"] = statistics.median(cpus)
            if baseline is not None:
                res[f"baseline_static_{model}_wall_s"] = statistics.median(bwalls)
                res[f"baseline_static_{model}_cpu_s"] = statistics.median(bcpus)
                res[f"static_{model}_warm_cpu_over_baseline"] = statistics.median(cpus) / statistics.median(bcpus)
    return res


def import_time(repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", IMPORT], check=True, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(SRC)}).stdout.split()
        walls.append(float(out[0]))
        cpus.append(float(out[1]))
    return {"import_cli_main_wall_s": statistics.median(walls), "import_cli_main_cpu_s": statistics.median(cpus)}


# ---------------------------------------------------------------------------------------------- in process
def alpha_timings(venue: str, asset: str, repeat: int) -> dict[str, float]:
    """Warm FHS alpha after imports: computed (result cache off) and cached; GBM's closed form as baseline."""
    import pandas as pd

    from basisctl import cache
    from basisctl.calibration.asof import resolve_asof
    from basisctl.calibration.inputs import margin_for
    from basisctl.model.static import solve_alpha_risk
    from basisctl.risk.sizing import model_alpha

    asof = pd.Timestamp(resolve_asof(None, [venue], [asset]), tz="UTC")
    theta, _ = margin_for(venue, asset)

    def call() -> dict[str, Any]:
        return model_alpha("fhs", asset, venue, theta, 1e-3, 24.0, asof, 180.0, None)

    first = call()  # warm-up: bars, numba kernels, the entry
    out: dict[str, float] = {}
    for label, on in (("computed", False), ("cached", True)):
        walls, cpus = [], []
        cache.set_enabled(on)
        try:
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                got = call()
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                if got != first:
                    raise AssertionError(f"fhs alpha ({label}) differs from the first call's")
        finally:
            cache.set_enabled(True)
        out[f"fhs_alpha_{label}_wall_s"] = statistics.median(walls)
        out[f"fhs_alpha_{label}_cpu_s"] = statistics.median(cpus)
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        float(solve_alpha_risk(0.7, theta, 1 / 365, 1e-3))
        walls.append(time.perf_counter() - t0)
    out["gbm_alpha_wall_s"] = statistics.median(walls)
    out["fhs_alpha"] = float(first["alpha_risk"])
    return out


# ---------------------------------------------------------------------------------------------- static grid
def naive_pi(alpha: float, sigma: float, theta: float, h: float) -> float:
    from scipy.stats import norm

    b = -math.log1p(theta) - math.log1p(-alpha)
    if b <= 0:
        return 1.0
    m = -0.5 * sigma**2
    s = sigma * math.sqrt(h)
    return float(norm.cdf((-b + m * h) / s) + math.exp(2 * m * b / sigma**2) * norm.cdf((-b - m * h) / s))


def naive_cell(c: Any) -> tuple[float, float]:
    from scipy.optimize import brentq, minimize_scalar

    sig, th, h = c.sigma_annual * c.stress, c.theta_f, c.horizon_days / 365
    a_liq = th / (1 + th)
    a_risk = brentq(lambda a: naive_pi(a, sig, th, h) - c.epsilon, a_liq + 1e-12, 0.999, xtol=1e-10)
    grid = np.linspace(1e-4, 1 - 1e-4, 4001)
    j = [(1 - a) * c.kappa - c.lgd * naive_pi(a, sig, th, h) for a in grid]
    k = int(np.argmax(j))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(lambda a: -((1 - a) * c.kappa - c.lgd * naive_pi(a, sig, th, h)),
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    return float(a_risk), float(res.x) if c.kappa > 0 else 1.0


def grid_timings(repeat: int) -> dict[str, float]:
    from basisctl.data import locator
    from basisctl.model.static import StaticInputs, solve_static_grid
    from basisctl.static_grid import static_grid_frame

    totals = []
    for _ in range(repeat):
        locator.clear_caches()
        t0 = time.perf_counter()
        df = static_grid_frame()
        totals.append(time.perf_counter() - t0)
    rows: list[Any] = list(df.itertuples())  # pandas-stubs types the fields as any Scalar; these are str/float
    cells = [StaticInputs(r.venue, r.asset, r.sigma_annual, r.stress, r.theta_f, r.l_max, 1.0, 1e-3, 0.1,
                          r.kappa_bps * 1e-4) for r in rows]
    vec = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = solve_static_grid(cells)
        vec.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    naive = [naive_cell(c) for c in cells]
    t_naive = time.perf_counter() - t0
    return {
        "grid_cells": len(cells),
        "grid_total_with_calibration_s_median": statistics.median(totals),
        "grid_solve_vectorised_s_median": statistics.median(vec),
        "grid_solve_naive_scipy_per_cell_s": t_naive,
        "grid_speedup_solve_vs_naive": t_naive / statistics.median(vec),
        "grid_max_abs_diff_alpha_risk": max(abs(r.alpha_risk - n[0]) for r, n in zip(res, naive, strict=True)),
        "grid_max_abs_diff_alpha_econ": max(abs(r.alpha_econ - n[1]) for r, n in zip(res, naive, strict=True)),
    }


# ---------------------------------------------------------------------------------------------- report
def verdicts(out: dict[str, Any]) -> list[tuple[str, str, float, float, float]]:
    """(what, the figure's key stem, wall, cpu, target) for the issue-17 targets."""
    rows = []
    if "fhs_alpha_computed_wall_s" in out:
        rows.append(("warm FHS alpha, computed (cache off)", "fhs_alpha_computed", out["fhs_alpha_computed_wall_s"],
                     out["fhs_alpha_computed_cpu_s"], ALPHA_TARGET_S))
        rows.append(("warm FHS alpha, cached", "fhs_alpha_cached", out["fhs_alpha_cached_wall_s"],
                     out["fhs_alpha_cached_cpu_s"], ALPHA_TARGET_S))
    for m in ("fhs", "gbm"):
        for state in ("warm", "cold"):
            k = f"static_{m}_{state}"
            if f"{k}_wall_s" in out:
                rows.append((f"static --model {m}, {state} result cache", k, out[f"{k}_wall_s"], out[f"{k}_cpu_s"],
                             STATIC_TARGET_S))
    return rows


def print_table(out: dict[str, Any]) -> None:
    print(f"load average (1 min): {out['load_average_1min']:.2f} at start, {out['load_average_1min_end']:.2f} at end "
          f"on {os.cpu_count()} CPUs")
    print(f"{'what':44s} {'wall s':>8s} {'CPU s':>8s} {'target':>7s}  wall  CPU")
    for what, _, w, c, t in verdicts(out):
        print(f"{what:44s} {w:8.3f} {c:8.3f} {t:7.1f}  {'PASS' if w <= t else 'FAIL'}  {'PASS' if c <= t else 'FAIL'}")
    if "import_cli_main_wall_s" in out:
        w, c = out["import_cli_main_wall_s"], out["import_cli_main_cpu_s"]
        print(f"{'import basisctl.cli.main':44s} {w:8.3f} {c:8.3f}")
    for m in ("fhs", "gbm"):
        if f"baseline_static_{m}_wall_s" in out:
            print(f"{'baseline checkout: static --model ' + m + ', warm':44s} "
                  f"{out[f'baseline_static_{m}_wall_s']:8.3f} {out[f'baseline_static_{m}_cpu_s']:8.3f}   "
                  f"(this tree / baseline CPU: {out[f'static_{m}_warm_cpu_over_baseline']:.2f})")
        if f"baseline_static_{m}_cold_wall_s" in out:
            print(f"{'baseline checkout: static --model ' + m + ', cold':44s} "
                  f"{out[f'baseline_static_{m}_cold_wall_s']:8.3f} {out[f'baseline_static_{m}_cold_cpu_s']:8.3f}")
    shown = {k for _, stem, *_ in verdicts(out) for k in (f"{stem}_wall_s", f"{stem}_cpu_s")}
    for k, v in out.items():
        if k not in shown and not k.startswith(("load_average", "import_cli", "baseline_static")) and \
                "over_baseline" not in k:
            print(f"{k:44s} {v:.6g}" if isinstance(v, float) else f"{k:44s} {v}")
    print("PASS/FAIL: wall on this machine as loaded; CPU = what one idle core would take (single-threaded work).")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-fhs", action="store_true", help="skip the issue-17 timings (static end to end, FHS alpha)")
    ap.add_argument("--no-grid", action="store_true", help="skip the static-grid timings")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="another checkout's src/ whose `static` is timed in the same run (e.g. main before)")
    ap.add_argument("--venue", default="hyperliquid")
    ap.add_argument("--asset", default="BTC")
    args = ap.parse_args()
    repeat = max(1, args.repeat)
    os.environ.setdefault("BASISCTL_CACHE_DIR", tempfile.mkdtemp(prefix="bench-static-inproc-"))
    out: dict[str, Any] = {"load_average_1min": os.getloadavg()[0]}
    if not args.no_fhs:
        out.update(import_time(repeat))
        out.update(static_e2e(args.venue, args.asset, repeat, args.baseline_src))
        out.update(alpha_timings(args.venue, args.asset, repeat))
    if not args.no_grid:
        out.update(grid_timings(repeat))
    out["load_average_1min_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print_table(out)


if __name__ == "__main__":
    main()
