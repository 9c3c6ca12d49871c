"""Static grid timing: the vectorised solver against a naive per-cell scipy baseline, in the same run.

Run:  python benchmarks/bench_static.py [--repeat 5] [--json] [--no-fhs]

Issue 17 (the default model is fhs): a warm FHS alpha (``risk.sizing.model_alpha``: GARCH fit + 800,000 paths
over 24 h, after one warm-up call that loads the bars and compiles), against the GBM closed form in the same
run; and `basisctl static --venue hyperliquid --asset BTC` end to end (a fresh process: imports, data, FHS),
against `--model gbm` in the same run. Targets: warm FHS alpha <= 1 s, `static` <= 2 s.

Both sides solve Variant 2 (eps 1e-3) and Variant 1 (LGD 0.1) for the default grid (2 venues x 4 assets x
4 lookbacks x 3 stresses = 96 cells) from the same calibrated inputs. "total" adds calibration from the
shipped Parquet data with cold caches (what `basisctl static-grid` does).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import norm

from _timing import print_results  # benchmarks/_timing.py (scripts run from this folder)
from basisctl.data import locator
from basisctl.model.static import StaticInputs, solve_static_grid
from basisctl.static_grid import static_grid_frame


def naive_pi(alpha: float, sigma: float, theta: float, h: float) -> float:
    b = -math.log1p(theta) - math.log1p(-alpha)
    if b <= 0:
        return 1.0
    m = -0.5 * sigma**2
    s = sigma * math.sqrt(h)
    return norm.cdf((-b + m * h) / s) + math.exp(2 * m * b / sigma**2) * norm.cdf((-b - m * h) / s)


def naive_cell(c: StaticInputs) -> tuple[float, float]:
    sig, th, h = c.sigma_annual * c.stress, c.theta_f, c.horizon_days / 365
    a_liq = th / (1 + th)
    a_risk = brentq(lambda a: naive_pi(a, sig, th, h) - c.epsilon, a_liq + 1e-12, 0.999, xtol=1e-10)
    grid = np.linspace(1e-4, 1 - 1e-4, 4001)
    j = [(1 - a) * c.kappa - c.lgd * naive_pi(a, sig, th, h) for a in grid]
    k = int(np.argmax(j))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(lambda a: -((1 - a) * c.kappa - c.lgd * naive_pi(a, sig, th, h)),
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    return a_risk, float(res.x) if c.kappa > 0 else 1.0


def clear_caches() -> None:
    locator.clear_caches()


def fhs_timings(repeat: int) -> dict[str, float]:
    """Median seconds: warm FHS alpha vs the GBM closed form (in process), `static` end to end fhs vs gbm."""
    import os
    import shutil
    import subprocess

    import pandas as pd

    from basisctl.model.static import solve_alpha_risk
    from basisctl.risk.sizing import model_alpha

    asof = pd.Timestamp("2026-03-10", tz="UTC")
    model_alpha("fhs", "BTC", "hyperliquid", 0.0125, 1e-3, 24.0, asof, 180.0, None)  # warm: bars, numba
    fhs, gbm = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model_alpha("fhs", "BTC", "hyperliquid", 0.0125, 1e-3, 24.0, asof, 180.0, None)
        fhs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        float(solve_alpha_risk(0.7, 0.0125, 1 / 365, 1e-3))
        gbm.append(time.perf_counter() - t0)
    env = {**os.environ}
    cli: dict[str, list[float]] = {"fhs": [], "gbm": []}
    for _ in range(repeat):
        for m in ("fhs", "gbm"):
            t0 = time.perf_counter()
            subprocess.run([shutil.which("basisctl") or "basisctl", "static", "--venue", "hyperliquid", "--asset",
                            "BTC", "--model", m, "--json"], check=True, capture_output=True, env=env)
            cli[m].append(time.perf_counter() - t0)
    return {"fhs_alpha_warm_s_median": statistics.median(fhs), "gbm_alpha_s_median": statistics.median(gbm),
            "static_cli_fhs_s_median": statistics.median(cli["fhs"]),
            "static_cli_gbm_s_median": statistics.median(cli["gbm"]),
            "static_cli_fhs_over_gbm": statistics.median(cli["fhs"]) / statistics.median(cli["gbm"]),
            "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-fhs", action="store_true", help="skip the FHS sizing timings (issue 17)")
    args = ap.parse_args()

    totals = []
    for _ in range(args.repeat):
        clear_caches()
        t0 = time.perf_counter()
        df = static_grid_frame()
        totals.append(time.perf_counter() - t0)
    cells = [StaticInputs(r.venue, r.asset, r.sigma_annual, r.stress, r.theta_f, r.l_max, 1.0, 1e-3, 0.1,
                          r.kappa_bps * 1e-4) for r in df.itertuples()]
    vec = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = solve_static_grid(cells)
        vec.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    naive = [naive_cell(c) for c in cells]
    t_naive = time.perf_counter() - t0
    err_risk = max(abs(r.alpha_risk - n[0]) for r, n in zip(res, naive, strict=True))
    err_econ = max(abs(r.alpha_econ - n[1]) for r, n in zip(res, naive, strict=True))
    out = {
        "cells": len(cells),
        "grid_total_with_calibration_s_median": statistics.median(totals),
        "grid_total_with_calibration_s_max": max(totals),
        "solve_vectorised_s_median": statistics.median(vec),
        "solve_naive_scipy_per_cell_s": t_naive,
        "speedup_solve_vs_naive": t_naive / statistics.median(vec),
        "max_abs_diff_alpha_risk": err_risk,
        "max_abs_diff_alpha_econ": err_econ,
    }
    if not args.no_fhs:
        out.update(fhs_timings(args.repeat))
    print_results(out, args.json, "42s", ".6g")


if __name__ == "__main__":
    main()
