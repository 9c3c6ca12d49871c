"""The coverage study: power on synthetic candles, no look-ahead, the overlap subsample, the row contract."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.risk.base import Bars
from basisctl.risk.coverage import ROW_KEYS, StudyConfig, compute_barriers, coverage_table, subsample_mask
from tests.risk.synth import candles


def _rows(bars: Bars, cfg: StudyConfig) -> dict[tuple[str, float, float], dict]:
    rows, _ = coverage_table(compute_barriers(bars, cfg), "X", 0.0125)
    return {(r["model"], r["epsilon"], r["horizon_hours"]): r for r in rows}


def test_gbm_passes_kupiec_on_gbm_candles_in_most_seeds() -> None:
    cfg = StudyConfig(models=("gbm",), epsilons=(0.01,), horizons_hours=(1.0, 24.0), lookback_days=90)
    passes = {1.0: 0, 24.0: 0}
    for seed in range(20):
        r = _rows(candles(24 * 365 * 2, 0.6, seed=100 + seed), cfg)
        for h in passes:
            assert r[("gbm", 0.01, h)]["n"] == 640
            passes[h] += r[("gbm", 0.01, h)]["kupiec_p"] >= 0.05
    assert passes[1.0] >= 14 and passes[24.0] >= 14, passes  # 19 of 20 expected at the 5% level


def test_upward_jumps_reject_gbm_but_not_kou() -> None:
    bars = candles(24 * 365 * 3, 0.4, seed=200, lam_up=150.0, mean_up=0.04)
    cfg = StudyConfig(models=("gbm", "kou"), epsilons=(0.01, 0.001), horizons_hours=(1.0, 24.0))
    r = _rows(bars, cfg)
    for h in (1.0, 24.0):
        gbm = r[("gbm", 0.001, h)]
        assert gbm["kupiec_p"] < 0.01 and gbm["breaches"] > 5 * gbm["expected_breaches"]
    assert r[("gbm", 0.01, 24.0)]["kupiec_p"] < 0.01
    for eps in (0.01, 0.001):
        for h in (1.0, 24.0):
            assert r[("kou", eps, h)]["kupiec_p"] >= 0.05


def test_no_look_ahead_perturbing_the_future_leaves_each_origins_barrier_unchanged() -> None:
    bars = candles(24 * 100, 0.5, seed=3, lam_up=50.0)
    cfg = StudyConfig(models=("gbm", "kou", "fhs", "evt", "adaptive"), epsilons=(0.01,), horizons_hours=(1.0, 48.0),
                      lookback_days=60, fhs_paths=500)
    base = compute_barriers(bars, cfg)
    k = 10  # perturb every bar from the 11th origin on
    o = int(base.origins[k])
    rng = np.random.default_rng(9)
    f = np.exp(rng.normal(0, 0.05, len(bars) - o))
    close = bars.close.copy()
    high = bars.high.copy()
    close[o:] *= f
    high[o:] = np.maximum(high[o:] * f * 1.03, close[o:])
    pert = compute_barriers(Bars(bars.ts_ns, close, high, 1.0), cfg)
    assert np.array_equal(base.origins, pert.origins)
    for name in cfg.models:
        assert np.array_equal(base.barrier[name][: k + 1], pert.barrier[name][: k + 1], equal_nan=True), name
        assert not np.array_equal(base.barrier[name][k + 1 :], pert.barrier[name][k + 1 :], equal_nan=True), name
    # the realised outcome of the perturbed origin does change (it is the future)
    assert not np.array_equal(base.realised[k], pert.realised[k])


def test_overlapping_windows_are_tested_on_a_non_overlapping_subsample() -> None:
    day = 86_400 * 10**9
    ts = np.arange(30, dtype=np.int64) * day
    assert subsample_mask(ts, 24.0).all()
    assert np.flatnonzero(subsample_mask(ts, 168.0)).tolist() == [0, 7, 14, 21, 28]
    assert np.flatnonzero(subsample_mask(ts, 48.0)).tolist() == list(range(0, 30, 2))


def test_rows_have_exactly_the_contract_keys() -> None:
    cfg = StudyConfig(models=("gbm", "evt"), epsilons=(0.01,), horizons_hours=(24.0, 168.0), lookback_days=60)
    rows, det = coverage_table(compute_barriers(candles(24 * 120, 0.5, seed=1), cfg), "X", 0.02)
    assert len(rows) == 4
    for r in rows:
        assert set(r) == set(ROW_KEYS)
        assert r["expected_breaches"] == pytest.approx(r["n"] * r["epsilon"])
        assert 0.02 / 1.02 < r["mean_alpha"] < 1
    weekly = next(r for r in rows if r["horizon_hours"] == 168.0)
    daily = next(r for r in rows if r["horizon_hours"] == 24.0)
    assert weekly["n"] == pytest.approx(daily["n"] / 7, abs=1.5)
    assert set(det["model"]) == {"gbm", "evt"}
