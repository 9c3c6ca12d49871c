"""The batched kernel equals one backtest per (rule, path), its metrics equal hand computations from the
kernel's arrays, and the ray executor is bit-equal to serial."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.backtest.kernel import backtest_nb
from basisctl.study.batch import METRICS, PathBatch, run_batch
from basisctl.study.simulate import run_sim_chunk
from tests.skips import need_extra
from tests.study.worlds import gbm_history


def _paths(n: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = 500 + 37 * i
        lp = np.cumsum(0.01 * rng.standard_normal(m + 1))
        po, pc = np.exp(lp[:-1]) * 100, np.exp(lp[1:]) * 100
        ph = np.maximum(po, pc) * np.exp(np.abs(0.006 * rng.standard_normal(m)))
        fr = np.where(np.arange(m) % 8 == 0, 2e-4, 0.0)
        out.append((po, ph, pc, po, pc, fr, np.zeros(m)))
    return out


RULES = np.array([  # alpha_target, alpha_lower, alpha_upper, kappa, k_reb, reset_lower, reset_upper, theta
    [0.2, 0.1, 0.5, 0.003, 0.002, 0.2, 0.2, 0.05],
    [0.12, 0.08, 0.16, 0.003, 0.0, 0.1, 0.14, 0.05],
]).T


def test_batch_equals_single_runs() -> None:
    paths = _paths(5, 0)
    b = PathBatch.empty()
    for p in paths:
        b.add(*p, cost_bps=15.0, tiers=(np.array([5e5]), np.array([0.08])))
    params = np.repeat(RULES[:, :, None], len(paths), axis=2)
    reset = np.zeros((2, len(paths)), dtype=np.int64)
    reset[1, :] = 24
    m = run_batch(b, params, reset, 1e6, 1e4, 10.0)
    c = np.array([15.0])
    q = np.array([0.0])
    for r in range(2):
        for j, p in enumerate(paths):
            at, al, au, ka, kf, rl, ru, th = RULES[:, r]
            nav, _a, _m, _q, _h, fund, cost, _liq, act, traded, _r, _p = backtest_nb(
                *p, 1e6, at, al, au, ka, kf, 1e4, 10.0, q, c, np.inf, q, c, np.inf, th, 0, True, True, False, True,
                np.array([5e5]), np.array([0.08]), rl, ru, int(reset[r, j]))
            row = dict(zip(METRICS, m[r, j], strict=True))
            assert row["ret_raw"] == nav[-1] / 1e6 - 1.0
            reb = np.isin(act, (1, 2, 3))
            assert row["rebalances"] == reb.sum()
            assert row["turnover"] == pytest.approx(traded[reb].sum() / 1e6, rel=1e-12)
            assert row["ret_funding"] == pytest.approx(fund.sum() / 1e6, rel=1e-12)
            assert row["ret_costs"] == pytest.approx(-cost.sum() / 1e6, rel=1e-12)
            liq_bars = np.isin(act, (5, 6))
            assert row["liquidations"] == liq_bars.sum()
            prev = np.r_[1e6, nav[:-1]]
            gain = np.where(liq_bars, np.maximum(nav - prev, 0.0), 0.0)
            assert row["liq_gain_removed"] == pytest.approx(gain.sum() / 1e6, abs=1e-15)
            adj = nav - np.cumsum(gain)
            path = np.r_[1e6, adj]
            assert row["max_drawdown"] == pytest.approx(np.min(path / np.maximum.accumulate(path) - 1), abs=1e-12)
            assert row["ret"] == pytest.approx(row["ret_raw"] - row["liq_gain_removed"], abs=1e-15)


@pytest.mark.needs_extra
def test_ray_executor_is_bit_equal_to_serial() -> None:
    ray = need_extra("ray", "ray")
    from basisctl.backtest.engine import BacktestConfig
    from basisctl.backtest.rule import RuleSpec
    from basisctl.study.run import run_study
    from basisctl.study.studyfile import load_study

    h = gbm_history(days=500)
    st = load_study().with_(paths=6, cost_bps=10.0, generators=("kou",), years=0.25, candidates=("paper", "hold"))
    cfg = BacktestConfig(margin_tiers=(), q_min_usd=0.0)
    kw = {"history": h, "cfg": cfg, "spec": RuleSpec(l_max=10.0)}
    a = run_study(st, executor="serial", **kw).rows
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        b = run_study(st, executor="ray", **kw).rows
    finally:
        ray.shutdown()
    assert a.equals(b)


def test_chunking_does_not_change_paths() -> None:
    """A path depends only on its seed entropy, never on the chunk it runs in."""
    from basisctl.backtest.engine import BacktestConfig
    from basisctl.backtest.rule import RuleSpec
    from basisctl.study.simulate import burn_in_rules, sim_setup

    h = gbm_history(days=500)
    cfg = BacktestConfig(margin_tiers=())
    rules, p0, _ = burn_in_rules(h, 0, "fhs", ["paper"], 90, 30, 7, 10.0, cfg, RuleSpec(l_max=10.0), "gbm")
    s = sim_setup(h, 0, "fhs", rules, ["paper"], p0, 0.1, 30, 7, 10.0, (np.zeros(0), np.zeros(0)), cfg)
    whole = run_sim_chunk(s, [0, 1, 2, 3])
    parts = np.concatenate([run_sim_chunk(s, [0, 1]), run_sim_chunk(s, [2, 3])], axis=1)
    assert np.array_equal(whole, parts)
