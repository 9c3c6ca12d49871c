"""Allocation solver timing: a 20-asset x 6-venue book (120 positions), in the same run as a baseline.

Run:  .venv/bin/python benchmarks/bench_allocate.py [--repeat 5] [--json]

Workload: synthetic but realistic inputs (net carry APY uniform in [-5%, 30%], V^max / D uniform in [0, 20%],
venue cap 25%, asset cap 10%, a shrinkage covariance of 52 weekly funding APYs), solved

* ``lp``: ``solve`` with risk aversion 0 (maximise expected net carry);
* ``mean_variance``: ``solve`` with risk aversion 5 (the default-shaped diversified problem);
* ``book_api``: ``basisctl.portfolio.allocate_book`` (the DataFrame API: table of 120 rows + 52 weekly APYs each ->
  shrinkage covariance -> solve -> DataFrame), what ``basisctl allocate`` runs after loading data;
* ``baseline``: the same mean-variance problem through SLSQP with finite-difference gradients (what a plain
  ``scipy.optimize.minimize`` call does without the analytic gradient ``solve`` passes), so the ratio is
  measured on this machine in this run.
Target (issue 14): ``allocate`` over 20 assets x 6 venues in < 2 s.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize

from _timing import median_seconds, print_results  # benchmarks/_timing.py (scripts run from this folder)


def problem(lam: float):  # type: ignore[no-untyped-def]
    from basisctl.portfolio.allocate import make_problem, shrinkage_covariance

    rng = np.random.default_rng(42)
    n_a, n_v = 20, 6
    n = n_a * n_v
    mu = rng.uniform(-0.05, 0.30, n)
    cap = rng.uniform(0.0, 0.2, n)
    weekly = rng.normal(size=(52, n)) @ (0.1 * np.eye(n) + 0.02 * rng.normal(size=(n, n)))
    sigma, _ = shrinkage_covariance(weekly)
    return make_problem(mu, cap, np.tile(np.arange(n_v), n_a), np.repeat(np.arange(n_a), n_v), [0.25] * n_v,
                        [0.1] * n_a, sigma, lam)


def baseline(p) -> np.ndarray:  # type: ignore[no-untyped-def]
    groups = p.groups()
    a = np.array([m.astype(float) for m, _ in groups])
    b = np.array([s for _, s in groups])
    res = minimize(lambda x: -p.objective(x), np.zeros(p.mu.size), method="SLSQP",
                   bounds=list(zip(np.zeros(p.mu.size), np.minimum(p.cap, 1), strict=True)),
                   constraints=[{"type": "ineq", "fun": lambda x: b - a @ x}], options={"ftol": 1e-12, "maxiter": 500})
    return res.x


def book_inputs():  # type: ignore[no-untyped-def]
    """The DataFrame API's inputs for the same 120 positions: a table and 52 weekly APYs per position."""
    import pandas as pd

    rng = np.random.default_rng(42)
    rows, hist = [], {}
    weeks = pd.date_range("2025-03-10", periods=52, freq="7D", tz="UTC")
    for a in range(20):
        for v in ("hyperliquid", "binance", "bybit", "okx", "dydx", "kraken"):
            rows.append({"asset": f"A{a:02d}", "venue": v, "expected_apy": rng.uniform(-0.05, 0.3),
                         "alpha_target": 0.2, "capacity_usd": rng.uniform(0, 2e6)})
            hist[(f"A{a:02d}", v)] = pd.Series(rng.normal(0.1, 0.2, 52), index=weeks)
    return pd.DataFrame(rows), hist




def main() -> None:
    from basisctl.portfolio.allocate import solve

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from basisctl.portfolio.book import allocate

    lp, mv = problem(0.0), problem(5.0)
    table, hist = book_inputs()
    w_mv, w_base = solve(mv), baseline(mv)
    out = {
        "positions": int(mv.mu.size),
        "lp_s": median_seconds(lambda: solve(lp), args.repeat),
        "mean_variance_s": median_seconds(lambda: solve(mv), args.repeat),
        "book_api_s": median_seconds(lambda: allocate(table, 1e7, max_venue_share=0.25, max_asset_share=0.1,
                                             risk_aversion=5.0, history=hist), args.repeat),
        "baseline_fd_slsqp_s": median_seconds(lambda: baseline(mv), max(1, args.repeat // 2)),
        "objective_solve": mv.objective(w_mv),
        "objective_baseline": mv.objective(w_base),
    }
    out["speedup_vs_baseline"] = out["baseline_fd_slsqp_s"] / out["mean_variance_s"]
    print_results(out, args.json, ">24", ".6g", ": ")


if __name__ == "__main__":
    main()
