#!/usr/bin/env python
"""Parity of the basisctl backtest engine with the authors' engine (fractal-defi HyperliquidBasis).

One command (from the repo root, after ``python3 -m venv .venv-bench && .venv-bench/bin/pip install fractal-defi``):

    .venv/bin/python benchmarks/parity_fractal.py [--reps 3] [--hl-cap 40]

The script prepares the inputs with basisctl (shipped Binance perp BTC 1h bars, Hyperliquid BTC funding,
2025-03-10 -> 2026-03-10, exactly the pairing of ``shared/examples/fractal_basis_reference.py``: price at
instant T = bar OPEN, funding settled at T applied on the position carried into T), writes them to a temporary
``.npz``, runs fractal-defi in its own virtual environment (``--fractal-python``, default
``.venv-bench/bin/python``; the main venv stays clean) and basisctl in "fractal-compatible" mode on the same
arrays, then compares NAV paths, metrics and speed.

fractal-compatible mode = the shared policy ``decide_nb`` with a pure leverage band (alpha_L = 1/(1+MAX_LEV),
alpha_U = 1/(1+MIN_LEV), K_reb = 0, q_min = 0, unlimited liquidity), one price per bar (open = high = close, so
liquidation is checked at the bar price like fractal), EXECUTION_COST split 50/50 across the legs, entry cost
charged, re-entry after liquidation. See docs/parity.md for every semantic difference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

START, END = "2025-03-10", "2026-03-10"
ALPHA = 0.173
TARGET_LEVERAGE = 1.0 / ALPHA - 1.0
MIN_LEVERAGE, MAX_LEVERAGE = 0.2, 21.0  # defaults of the reference script
EXECUTION_COST = 0.0020
INITIAL_BALANCE = 1_000_000.0
NAV_RTOL = 1e-9  # stated tolerance on every NAV point (relative)


# ------------------------------------------------------------------------------------- fractal side (bench venv)
def fractal_worker(path_in: str, path_out: str, hl_cap: float, reps: int, min_lev: float, max_lev: float) -> None:
    import pandas as pd
    from fractal.core.base import Observation
    from fractal.core.entities import HyperliquidGlobalState, UniswapV3SpotGlobalState
    from fractal.strategies.hyperliquid_basis import HyperliquidBasis, HyperliquidBasisParams

    z = np.load(path_in)
    ts = pd.to_datetime(z["ts_ms"], unit="ms", utc=True)
    price, rate = z["price"], z["rate"]
    obs = [Observation(timestamp=t.to_pydatetime(), states={
        "SPOT": UniswapV3SpotGlobalState(price=float(p)),
        "HEDGE": HyperliquidGlobalState(mark_price=float(p), funding_rate=float(r))})
        for t, p, r in zip(ts, price, rate, strict=True)]
    cls = type(f"HLBasisCap{int(hl_cap)}", (HyperliquidBasis,),
               {"MAX_LEVERAGE": float(hl_cap), "PARAMS_CLS": HyperliquidBasisParams})
    times = []
    res_df = None
    for _ in range(reps):
        t0 = time.perf_counter()
        strat = cls(params=HyperliquidBasisParams(MIN_LEVERAGE=min_lev, TARGET_LEVERAGE=TARGET_LEVERAGE,
                                                  MAX_LEVERAGE=max_lev, INITIAL_BALANCE=INITIAL_BALANCE,
                                                  EXECUTION_COST=EXECUTION_COST), debug=False)
        result = strat.run(obs)
        times.append(time.perf_counter() - t0)
        res_df = result.to_dataframe()
    size = res_df["HEDGE_positions_0_amount"].fillna(0.0).to_numpy() if "HEDGE_positions_0_amount" in res_df \
        else np.zeros(len(res_df))
    np.savez(path_out, nav=res_df["net_balance"].to_numpy(float), hedge=size,
             hedge_balance=res_df["HEDGE_balance"].to_numpy(float), run_s=np.array(times))


# ------------------------------------------------------------------------------------- basisctl side (main venv)
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--hl-cap", type=float, default=40.0)
    ap.add_argument("--min-leverage", type=float, default=MIN_LEVERAGE)
    ap.add_argument("--max-leverage", type=float, default=MAX_LEVERAGE)
    ap.add_argument("--funding", choices=("hyperliquid", "binance"), default="hyperliquid")
    ap.add_argument("--fractal-python", default=os.path.join(".venv-bench", "bin", "python"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--in", dest="path_in", help=argparse.SUPPRESS)
    ap.add_argument("--out", dest="path_out", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print the comparison as JSON")
    a = ap.parse_args()
    if a.worker:
        fractal_worker(a.path_in, a.path_out, a.hl_cap, a.reps, a.min_leverage, a.max_leverage)
        return

    import pandas as pd

    from basisctl.backtest import BacktestConfig, CostModel, FrozenRule, run_backtest
    from basisctl.backtest.data import BacktestData, FundingAlignment
    from basisctl.backtest.kernel import backtest_core_nb
    from basisctl.data import locator

    p = locator.load_candles("binance_perp", "BTC", "1h")
    f = locator.load_funding(a.funding, "BTC")
    s, e = pd.Timestamp(START, tz="UTC"), pd.Timestamp(END, tz="UTC")
    p = p[(p.ts >= s) & (p.ts < e)].drop_duplicates("ts").set_index("ts").sort_index()
    f = f[(f.ts >= s) & (f.ts < e)].drop_duplicates("ts").set_index("ts").sort_index()
    df = p[["open"]].rename(columns={"open": "price"}).join(f[["rate"]], how="left")
    n_nan = int(df["rate"].isna().sum())
    df["rate"] = df["rate"].fillna(0.0)  # the reference's convention (basisctl itself never fills)
    price, rate = df["price"].to_numpy(float), df["rate"].to_numpy(float)
    ts = pd.DatetimeIndex(df.index)

    with tempfile.TemporaryDirectory() as tmp:
        pin, pout = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(pin, ts_ms=ts.as_unit("ms").asi8, price=price, rate=rate)
        t0 = time.perf_counter()
        proc = subprocess.run([a.fractal_python, os.path.abspath(__file__), "--worker", "--in", pin, "--out", pout,
                               "--hl-cap", str(a.hl_cap), "--reps", str(a.reps),
                               "--min-leverage", str(a.min_leverage), "--max-leverage", str(a.max_leverage)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"fractal-defi run failed ({a.fractal_python}):\n{proc.stderr[-3000:]}")
        fr = dict(np.load(pout))
        fractal_wall = time.perf_counter() - t0

    # basisctl, fractal-compatible: funding at step 0 is not paid (fractal has no position yet at step 0)
    fund = rate.copy()
    fund[0] = 0.0
    al = FundingAlignment(fund, int((rate != 0).sum()), n_nan, 0, float(len(rate) - 1), float(len(rate) - 1), (1.0,))
    data = BacktestData("BTC", ts, 1.0, price, price, price, price, price, al, "binance_perp open", a.funding)
    rule = FrozenRule("BTC", s, s, float("nan"), 1.0, 1.0, 1.0 / (2.0 * a.hl_cap), a.hl_cap, ALPHA,
                      1.0 / (1.0 + a.max_leverage), 1.0 / (1.0 + a.min_leverage), 1.0, 0, "fractal params", 0.0)
    costs = CostModel.fixed(EXECUTION_COST * 1e4)
    cfg = BacktestConfig(capital_usd=INITIAL_BALANCE, q_min_usd=0.0, buffer_bps=0.0, charge_entry=True,
                         reenter_after_liquidation=True, split_legs=True, liq_at_high=True,
                         margin_tiers=())
    res = run_backtest(data, rule, costs, cfg)  # compiles on first call
    ours_times = []
    for _ in range(max(a.reps, 1) * 20):
        t1 = time.perf_counter()
        run_backtest(data, rule, costs, cfg)
        ours_times.append(time.perf_counter() - t1)
    kern_times = []
    from basisctl.backtest.engine import run_kernel
    for _ in range(200):
        t1 = time.perf_counter()
        run_kernel(data, rule, costs, cfg, backtest_core_nb)
        kern_times.append(time.perf_counter() - t1)

    nav_f, nav_o = fr["nav"], res.nav
    rel = np.abs(nav_o - nav_f) / nav_f
    size_f = fr["hedge"]
    size_o = res.to_frame()["hedge_qty"].to_numpy()
    trades_f = int((np.abs(np.diff(size_f)) > 1e-9).sum())
    m = res.metrics()
    hours = len(nav_f)
    days = hours / 24.0
    out = {
        "window": f"{START} -> {END} (exclusive), {len(price)} hourly bars, funding NaN->0 filled: {n_nan}",
        "params": {"alpha_target": ALPHA, "target_leverage": TARGET_LEVERAGE, "min_leverage": a.min_leverage,
                   "max_leverage": a.max_leverage, "funding": a.funding,
                   "execution_cost": EXECUTION_COST, "hl_cap": a.hl_cap},
        "nav_end_fractal": float(nav_f[-1]), "nav_end_basisctl": float(nav_o[-1]),
        "acc_return_fractal": float(nav_f[-1] / INITIAL_BALANCE - 1), "acc_return_basisctl": m["acc_return"],
        "apy_fractal": float((nav_f[-1] / INITIAL_BALANCE - 1) * 365 / days), "apy_basisctl": m["apy"],
        "max_dd_fractal": float(np.min(nav_f / np.maximum.accumulate(nav_f) - 1)),
        "max_dd_basisctl": float(np.min(nav_o / np.maximum.accumulate(nav_o) - 1)),
        "rebalances_fractal (hedge size changes after entry)": trades_f, "rebalances_basisctl": m["rebalances"],
        "liquidations_basisctl": m["liquidations"],
        "max_rel_nav_diff": float(rel.max()), "argmax_rel_nav_diff": str(ts[int(rel.argmax())]),
        "max_rel_hedge_size_diff": float(np.max(np.abs(size_o - size_f) / np.maximum(np.abs(size_f), 1e-12))),
        "nav_rtol": NAV_RTOL, "parity_ok": bool(rel.max() <= NAV_RTOL),
        "fractal_run_s_min": float(np.min(fr["run_s"])), "fractal_run_s_median": float(np.median(fr["run_s"])),
        "fractal_subprocess_wall_s": fractal_wall,
        "basisctl_run_backtest_s_median": statistics.median(ours_times),
        "basisctl_kernel_s_median": statistics.median(kern_times),
    }
    out["speedup_run_backtest"] = out["fractal_run_s_median"] / out["basisctl_run_backtest_s_median"]
    out["speedup_kernel"] = out["fractal_run_s_median"] / out["basisctl_kernel_s_median"]
    if os.environ.get("PARITY_DEBUG"):
        k = int(rel.argmax())
        fr_bal = fr["hedge_balance"]
        fo = res.to_frame()
        for j in [0, 1, 2, *range(max(k - 6, 0), k + 3)]:
            print(ts[j], price[j], nav_f[j], nav_o[j], size_f[j], size_o[j], fr_bal[j], fo["margin_usd"].iloc[j],
                  fo["action"].iloc[j])
        print(res.trades())
        print(np.flatnonzero(np.abs(np.diff(size_f)) > 1e-9) + 1)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:55s} {v}")
    if not out["parity_ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
