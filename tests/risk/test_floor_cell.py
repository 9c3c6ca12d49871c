"""The band's floor cell (eps_liq = 1e-4 over 3 h, the budget the FHS floor alpha_L is sized at) in the coverage
study: its rows, GBM's barrier by the closed form, FHS's own path set, and the pooling across assets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.risk.base import solve_barrier
from basisctl.risk.coverage import (
    BAND_FLOOR_CELL,
    ROW_KEYS,
    StudyConfig,
    compute_barriers,
    coverage_table,
    pooled_floor_rows,
)
from basisctl.risk.gbm import GBMRisk
from basisctl.risk.stats import kupiec_p
from tests.risk.synth import candles, to_frame

runner = CliRunner()


def test_the_floor_cell_is_the_bands_budget() -> None:
    from basisctl.model.bands import DEFAULT_EPS_LIQ, DEFAULT_H_LIQ_HOURS

    assert BAND_FLOOR_CELL == (DEFAULT_EPS_LIQ, DEFAULT_H_LIQ_HOURS) == (1e-4, 3.0)


def test_floor_rows_gbm_closed_form_and_fhs_own_paths() -> None:
    bars = candles(24 * 100, 0.6, seed=3, sub=6)
    cfg = StudyConfig(models=("gbm", "fhs"), epsilons=(0.01,), horizons_hours=(24.0,), lookback_days=40.0,
                      floor_epsilon=1e-4, fhs_floor_paths=20_000)
    bt = compute_barriers(bars, cfg)
    assert bt.floor is not None and set(bt.floor) == {"gbm", "fhs"}
    sig = np.array([p["sigma_annual"] for p in bt.params["gbm"]])
    np.testing.assert_array_equal(bt.floor["gbm"], solve_barrier(GBMRisk.of(sig), 1e-4, 3.0))
    rows, det = coverage_table(bt, "X", 0.02)
    floor = [r for r in rows if r["epsilon"] == 1e-4 and r["horizon_hours"] == 3.0]
    assert [r["model"] for r in floor] == ["gbm", "fhs"] and all(list(r) == list(ROW_KEYS) for r in floor)
    for r in floor:
        assert r["n"] == bt.origins.size and r["expected_breaches"] == pytest.approx(r["n"] * 1e-4)
        d = det[(det["model"] == r["model"]) & (det["epsilon"] == 1e-4)]
        assert int(d["breach"].sum()) == r["breaches"]
        assert (d["breach"] == (d["realised_log"] >= d["barrier_log"])).all()
    assert np.isfinite(bt.floor["fhs"]).all() and (bt.floor["fhs"] > 0).all()


def test_floor_cell_is_not_tested_on_4h_origins() -> None:
    b = candles(24 * 80, 0.6, seed=4, sub=6)
    from basisctl.risk.base import Bars

    four = Bars(b.ts_ns[::4], b.close[3::4], np.maximum.reduceat(b.high, np.arange(0, b.high.size, 4)), 4.0)
    cfg = StudyConfig(models=("gbm",), epsilons=(0.01,), horizons_hours=(24.0,), lookback_days=30.0,
                      floor_epsilon=1e-4)
    bt = compute_barriers(four, cfg)
    assert bt.floor is None  # 3 h is not a whole number of 4 h bars
    rows, _ = coverage_table(bt, "X", 0.02)
    assert all(r["epsilon"] == 0.01 for r in rows)


def test_pooled_floor_rows_sum_and_test_the_pool() -> None:
    rows = [{"model": "fhs", "asset": a, "epsilon": 1e-4, "horizon_hours": 3.0, "n": n, "breaches": x,
             "expected_breaches": n * 1e-4, "kupiec_p": 0.0, "christoffersen_p": 0.0, "mean_alpha": m}
            for a, n, x, m in (("BTC", 1000, 1, 0.05), ("ETH", 3000, 0, 0.07))]
    det = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=4000, freq="D", tz="UTC"), "model": "fhs",
                        "epsilon": 1e-4, "horizon_hours": 3.0, "breach": np.r_[np.zeros(999), 1, np.zeros(3000)]
                        .astype(bool), "asset": ["BTC"] * 1000 + ["ETH"] * 3000})
    (p,) = pooled_floor_rows(rows, det, 1e-4, 3.0)
    assert p["asset"] == "pooled(BTC,ETH)" and p["n"] == 4000 and p["breaches"] == 1
    assert p["kupiec_p"] == pytest.approx(kupiec_p(4000, 1, 1e-4))
    assert p["mean_alpha"] == pytest.approx((1000 * 0.05 + 3000 * 0.07) / 4000)
    assert np.isfinite(p["christoffersen_p"])


def test_risk_backtest_prints_the_floor_cell_by_default(tmp_path: Path) -> None:
    f = tmp_path / "X_1h.csv"
    to_frame(candles(24 * 90, 0.5, seed=2, sub=6)).to_csv(f, index=False)
    base = ["risk-backtest", "--asset", "X", "--prices-file", str(f), "--theta-f", "0.02", "--models", "gbm,fhs",
            "--epsilons", "0.01", "--horizons", "24", "--lookback-days", "40", "--fhs-floor-paths", "20000", "--json"]
    r = runner.invoke(app, base)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {(x["model"], x["epsilon"], x["horizon_hours"]) for x in rows} == {
        ("gbm", 0.01, 24.0), ("fhs", 0.01, 24.0), ("gbm", 1e-4, 3.0), ("fhs", 1e-4, 3.0)}
    r = runner.invoke(app, [*base[:-1], "--no-floor-cell", "--json"])
    assert {x["epsilon"] for x in json.loads(r.stdout)} == {0.01}
