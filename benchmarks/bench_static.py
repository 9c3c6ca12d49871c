"""Static grid timing: the vectorised solver against a naive per-cell scipy baseline, in the same run.

Run:  python benchmarks/bench_static.py [--repeat 5] [--json]

Both sides solve Variant 2 (eps 1e-3) and Variant 1 (LGD 0.1) for the default grid (2 venues x 4 assets x
4 lookbacks x 3 stresses = 96 cells) from the same calibrated inputs. "total" adds calibration from the
shipped Parquet data with cold caches (what `basisctl static-grid` does).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import norm

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
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
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        print(f"{k:42s} {v:.6g}" if isinstance(v, float) else f"{k:42s} {v}")


if __name__ == "__main__":
    main()
