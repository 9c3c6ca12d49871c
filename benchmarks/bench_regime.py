"""Regime candidate cost per simulated path: the reference segment runner vs the fast path, in the same run.

Run:  .venv/bin/python benchmarks/bench_regime.py [--paths 20] [--repeat 3] [--json]

Workload: the path study's simulated one-year paths (FHS generator, 180-day burn-in) of a synthetic two-year
world with regime-switching hourly funding (10-40-day regimes of +2 / -0.5 / +0.3 bp per hour, so the rule enters
and exits several times a path), the regime study's ``[regime]`` parameters with the EWMA forecast, inner rule
``paper``. ``reference``: ``path_forecast_reference`` (per-origin walk-forward) + ``run_regime`` (per-bar loop,
``run_backtest`` + frame per segment), what the study ran before; ``fast``: ``run_sim_regime_chunk`` as the study
runs it now (compiled forecasts, event-driven runner, kernel on sliced arguments). Both produce the same rows
(tests/forecast/test_regime_fast.py); the script checks the returns agree to 1e-12.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from _timing import median_seconds, print_summary  # benchmarks/_timing.py (scripts run from this folder)
from basisctl.backtest import BacktestConfig, CostModel
from basisctl.backtest.rule import RuleSpec
from basisctl.regime import AltYield, run_regime
from basisctl.study.generators import history_from_frames, switching_funding_level
from basisctl.study.regime_candidate import (
    path_forecast_reference,
    regime_row,
    run_sim_regime_chunk,
    segment_config,
    sim_data,
)
from basisctl.study.simulate import burn_in_frames, burn_in_rules, draw_test_path, sim_setup
from basisctl.study.studyfile import load_study

START = pd.Timestamp("2022-01-01", tz="UTC")


def world(days: int = 730, seed: int = 7):
    rng = np.random.default_rng(seed)
    n = days * 24
    ts = pd.date_range(START, periods=n, freq="1h")
    sd = 0.5 / np.sqrt(8760)
    close = 100.0 * np.exp(np.cumsum(sd * rng.standard_normal(n)))
    opn = np.r_[100.0, close[:-1]]
    candles = pd.DataFrame({"ts": ts, "open": opn, "high": np.maximum(opn, close) * 1.001,
                            "low": np.minimum(opn, close), "close": close})
    level = switching_funding_level(rng, n)
    funding = pd.DataFrame({"ts": ts, "rate": level + 3e-5 * rng.standard_normal(n), "interval_hours": 1.0})
    return history_from_frames({"BTC": candles}, {"BTC": funding}, START + pd.Timedelta(days=days))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    st = load_study("regime")
    rs = st.regime
    assert rs is not None
    h = world()
    cfg = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())
    fb = burn_in_frames(h, 0, "fhs", 180, 30, 11)
    rules, p0, _ = burn_in_rules(h, 0, "fhs", ["paper"], 180, 30, 11, 20.0, cfg, RuleSpec(), "fhs", frames=fb)
    s = sim_setup(h, 0, "fhs", rules, ["paper"], p0, 1.0, 30, 11, 20.0, (np.zeros(0), np.zeros(0)), cfg)
    rule = rules["paper"]
    ids = list(range(a.paths))
    start = pd.Timestamp(fb[1]["ts"].iloc[-1]) + pd.Timedelta(hours=1)

    def reference() -> list[dict[str, float]]:
        out = []
        for i in ids:
            data = sim_data("BTC", start, *draw_test_path(s, i))
            res = run_regime(data, rule, CostModel.fixed(20.0), segment_config(cfg),
                             path_forecast_reference(fb[1], data, rs.params), AltYield.constant(rs.alt_yield_apr),
                             rs.params)
            out.append(regime_row(res, data, rule.alpha_target))
        return out

    def fast() -> list[dict[str, float]]:
        return run_sim_regime_chunk(s, ids, rule, fb[1], rs, cfg)

    r_ref, r_fast = reference(), fast()  # warm-up (JIT) and the equality check
    np.testing.assert_allclose([r["ret"] for r in r_fast], [r["ret"] for r in r_ref], rtol=1e-12, atol=1e-12)
    exits = float(np.mean([r["exits"] for r in r_ref]))
    t_ref = median_seconds(reference, a.repeat) / a.paths
    t_fast = median_seconds(fast, a.repeat) / a.paths
    out = {"paths": a.paths, "exits_per_path": exits, "reference_s_per_path": t_ref, "fast_s_per_path": t_fast,
           "speedup": t_ref / t_fast}
    print_summary(out, a.json, f"{a.paths} one-year paths, {exits:.1f} exits/path: reference {t_ref * 1e3:.1f} "
                  f"ms/path, fast {t_fast * 1e3:.1f} ms/path, speed-up x{t_ref / t_fast:.1f}")


if __name__ == "__main__":
    main()
