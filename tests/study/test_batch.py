"""The batched kernel equals one backtest per (rule, path) under the backtest's liquidation accounting, its metrics
equal hand computations from the kernel's arrays, no liquidation component is a gain, and the ray executor is
bit-equal to serial."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.backtest.kernel import (
    ACT_LIQUIDATED,
    C_FORFEIT,
    C_LIQ_FEE,
    C_LIQ_KIND,
    C_PERP,
    C_REHEDGE_COST,
    C_RETURNED,
    C_UNHEDGED,
    LIQ_BARRIER,
    LIQ_KIND_BACKSTOP,
    backtest_core_nb,
)
from basisctl.study.batch import METRICS, Liquidation, PathBatch, run_batch
from basisctl.study.simulate import run_sim_chunk
from tests.skips import need_extra
from tests.study.worlds import gbm_history


def _paths(n: int, seed: int, vol: float = 0.01, gap: float = 0.0) -> list[tuple[np.ndarray, ...]]:
    """Hourly-like paths; ``gap`` > 0: each bar opens off the previous close (log gap ~ N(0, gap)), so a bar can
    open beyond the liquidation barrier (and beyond the bankruptcy price)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = 500 + 37 * i
        lp = np.cumsum(vol * rng.standard_normal(m + 1))
        pc = np.exp(lp[1:]) * 100
        po = np.exp(lp[:-1] + gap * rng.standard_normal(m)) * 100
        ph = np.maximum(po, pc) * np.exp(np.abs(0.6 * vol * rng.standard_normal(m)))
        fr = np.where(np.arange(m) % 8 == 0, 2e-4, 0.0)
        out.append((po, ph, pc, po, pc, fr, np.zeros(m)))
    return out


RULES = np.array([  # alpha_target, alpha_lower, alpha_upper, kappa, k_reb, reset_lower, reset_upper, theta
    [0.2, 0.1, 0.5, 0.003, 0.002, 0.2, 0.2, 0.05],
    [0.12, 0.08, 0.16, 0.003, 0.0, 0.1, 0.14, 0.05],
]).T
TIERS = (np.array([5e5]), np.array([0.08]))
HL = Liquidation(LIQ_BARRIER, 0.0, 2.0 / 3.0, 1)  # Hyperliquid: no fee, backstop below 2/3 maintenance
BN = Liquidation(LIQ_BARRIER, 0.005, 0.0, 1)  # Binance: 0.5 % clearance fee, remaining margin returned


def _single(p: tuple[np.ndarray, ...], r: int, reset: int, liq: Liquidation) -> tuple[np.ndarray, ...]:
    at, al, au, ka, kf, rl, ru, th = RULES[:, r]
    c, q = np.array([15.0]), np.array([0.0])
    return backtest_core_nb(*p, 1e6, at, al, au, ka, kf, 1e4, 10.0, q, c, np.inf, q, c, np.inf, th, 0, True, True,
                            False, liq.mode, *TIERS, rl, ru, reset, liq.fee_rate, liq.backstop_frac,
                            liq.rehedge_delay_bars)


def _run(paths: list[tuple[np.ndarray, ...]], liq: Liquidation) -> tuple[np.ndarray, np.ndarray]:
    b = PathBatch.empty()
    for p in paths:
        b.add(*p, cost_bps=15.0, tiers=TIERS)
    params = np.repeat(RULES[:, :, None], len(paths), axis=2)
    reset = np.zeros((2, len(paths)), dtype=np.int64)
    reset[1, :] = 24
    return run_batch(b, params, reset, 1e6, 1e4, 10.0, liq), reset


@pytest.mark.parametrize(("liq", "vol", "gap"), [(HL, 0.01, 0.0), (BN, 0.01, 0.0), (HL, 0.02, 0.01),
                                                 (BN, 0.02, 0.01)])
def test_batch_equals_single_runs(liq: Liquidation, vol: float, gap: float) -> None:
    """Every metric of the batch equals one ``backtest_core_nb`` call per (rule, path) with the backtest's
    liquidation accounting, recomputed by hand from the kernel's arrays."""
    paths = _paths(5, 0, vol, gap)
    m, reset = _run(paths, liq)
    n_liq = n_gain = 0
    for r in range(2):
        for j, p in enumerate(paths):
            nav, _a, _m, _q, _h, fund, cost, _liq, act, traded, _r, _p, comp = _single(p, r, int(reset[r, j]), liq)
            row = dict(zip(METRICS, m[r, j], strict=True))
            # judged return: every bar's naked-spot gain removed, its losses kept (a liquidation is never a gain)
            gain = np.cumsum(np.maximum(comp[:, C_UNHEDGED], 0.0))
            assert row["ret_raw"] == nav[-1] / 1e6 - 1.0
            assert row["naked_gain_removed"] == pytest.approx(gain[-1] / 1e6, abs=1e-15)
            assert row["ret"] == pytest.approx(row["ret_raw"] - gain[-1] / 1e6, abs=1e-15)
            n_gain += bool(gain[-1] > 0.0)
            reb = np.isin(act, (1, 2, 3))
            assert row["rebalances"] == reb.sum()
            assert row["turnover"] == pytest.approx(traded[reb].sum() / 1e6, rel=1e-12)
            assert row["ret_funding"] == pytest.approx(fund.sum() / 1e6, rel=1e-12)
            assert row["ret_costs"] == pytest.approx(-cost.sum() / 1e6, rel=1e-12)
            kind = comp[:, C_LIQ_KIND]
            assert row["liquidations"] == np.count_nonzero(kind) == np.count_nonzero(act == ACT_LIQUIDATED)
            assert row["backstops"] == np.count_nonzero(kind == LIQ_KIND_BACKSTOP)
            n_liq += int(row["liquidations"])
            assert row["ret_unhedged"] == pytest.approx(comp[:, C_UNHEDGED].sum() / 1e6, abs=1e-15)
            assert row["liq_fee"] == pytest.approx(comp[:, C_LIQ_FEE].sum() / 1e6, abs=1e-15)
            assert row["margin_forfeited"] == pytest.approx(comp[:, C_FORFEIT].sum() / 1e6, abs=1e-15)
            assert row["liq_loss"] == pytest.approx(row["liq_fee"] + row["margin_forfeited"], abs=1e-15)
            assert row["rehedge_cost"] == pytest.approx(comp[:, C_REHEDGE_COST].sum() / 1e6, abs=1e-15)
            path = np.r_[1e6, nav - gain]
            assert row["max_drawdown"] == pytest.approx(np.min(path / np.maximum.accumulate(path) - 1), abs=1e-12)
            po, _ph, pc, so, _sc, fr, fi = p
            static = (1.0 - RULES[0, r]) * 1e6 / so[0] * (fr * po + fi * pc).sum() / 1e6
            assert row["ret_static_carry"] == pytest.approx(static, rel=1e-12)
            assert row["ret_excess_static"] == pytest.approx(row["ret"] - static, abs=1e-15)
    assert n_liq > 0 and n_gain > 0  # the accounting under test is exercised, naked gains removed included


@pytest.mark.parametrize("liq", [HL, BN])
def test_no_liquidation_component_is_ever_a_gain(liq: Liquidation) -> None:
    """On every liquidation bar of gappy, volatile paths (bars opening beyond the barrier and beyond the
    bankruptcy price): the fee, the margin forfeited and the re-hedge cost are <= 0, the perp loses at most its
    margin (the margin returned is >= 0), and the margin account balances: previous margin + perp P&L + funding
    + fee + forfeit = margin returned. So the study needs no 'liquidation gain removed' correction: a NAV rise on a
    liquidation bar is spot P&L (hedged up to the liquidation price, ``ret_unhedged`` after it), never a credit."""
    paths = _paths(8, 3, 0.025, 0.03)
    m, reset = _run(paths, liq)
    n_liq = n_bankrupt = 0
    for r in range(2):
        for j, p in enumerate(paths):
            out = _single(p, r, int(reset[r, j]), liq)
            margin, fund, comp = out[2], out[5], out[12]
            bars = np.flatnonzero(comp[:, C_LIQ_KIND])
            n_liq += bars.size
            for i in bars:
                assert comp[i, C_LIQ_FEE] <= 0.0 and comp[i, C_FORFEIT] <= 0.0 and comp[i, C_REHEDGE_COST] <= 0.0
                assert comp[i, C_RETURNED] >= 0.0
                if i == 0 or out[4][i - 1] == 0.0:  # entry bar, or re-hedged at this open (margin moved)
                    continue
                m_prev = margin[i - 1]
                bal = m_prev + comp[i, C_PERP] + fund[i] + comp[i, C_LIQ_FEE] + comp[i, C_FORFEIT]
                assert bal == pytest.approx(comp[i, C_RETURNED], abs=1e-6)
                assert comp[i, C_PERP] + fund[i] >= -m_prev - 1e-6  # loss capped at the margin account
                n_bankrupt += comp[i, C_RETURNED] == comp[i, C_LIQ_FEE] == comp[i, C_FORFEIT] == 0.0  # equity <= 0
            row = dict(zip(METRICS, m[r, j], strict=True))
            assert row["liq_fee"] <= 0.0 and row["margin_forfeited"] <= 0.0 and row["liq_loss"] <= 0.0
    assert n_liq >= 10 and n_bankrupt >= 1  # gaps through the bankruptcy price occur


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
