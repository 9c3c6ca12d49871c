"""The issue's "done when" worlds, small enough for CI: the study's verdict on synthetic worlds whose answer is
known. Each world: 2 assets, 2 years of hourly GBM bars (4 sub-steps per bar for the high), the FHS generator,
few simulated paths (every rule on the same paths)."""

from __future__ import annotations

import pytest

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.study.run import run_study
from basisctl.study.studyfile import load_study
from tests.skips import need_extra
from tests.study.worlds import gbm_history

pytestmark = pytest.mark.needs_extra
need_extra("arch", "study")

CFG = BacktestConfig(margin_tiers=(), q_min_usd=0.0)
SPEC = RuleSpec(l_max=10.0)
GBM_FLOORED = ("paper", "hold", "fixed_leverage", "periodic")
FHS_FLOORED = ("paper_fhs", "optimal")


def _study(paths: int, years: float = 0.5):
    """The default study's issue-18 candidates (the regime candidate of issue 23 has its own worlds,
    tests/study/test_regime_candidate.py)."""
    st = load_study()
    return st.with_(paths=paths, cost_bps=0.0, generators=("fhs",), years=years, bootstrap_reps=1000,
                    candidates=tuple(c for c in st.candidates if c != "regime"), regime=None)


def test_zero_costs_gbm_world_prefers_optimal() -> None:
    h = gbm_history(sigma_annual=0.6, funding_per_8h=1e-4, seed=1)
    s = run_study(_study(30), history=h, cfg=CFG, spec=SPEC).summary()
    assert s["verdict"] == "optimal"
    assert s["paired"]["optimal"]["d_apy_ci"][0] > 0
    assert s["paired"]["optimal"]["d_ret_ci"][0] > 0
    assert set(s) >= {"study_hash", "paths_real", "paths_simulated", "assets", "rules", "paired", "spa_p",
                      "decision_rule", "verdict"}


def test_planted_up_jumps_gbm_floors_liquidate_more_and_are_not_picked() -> None:
    """Up-jumps (30 a year, mean 4 %) on GBM: the same band with a GBM floor is liquidated more often than with
    an FHS floor (paper vs paper_fhs; optimal with the GBM floor vs optimal with the FHS floor), with disjoint
    Garwood CIs, and the verdict picks no GBM-floored rule. Both runs share their paths (same seeds)."""
    h = gbm_history(sigma_annual=0.5, funding_per_8h=1e-4, seed=2, jump_rate_annual=30.0, jump_mean=0.04)
    gbm = run_study(_study(30, years=1.0).with_(optimal_floor_model="gbm"), history=h, cfg=CFG,
                    spec=SPEC).summary()
    fhs = run_study(_study(30, years=1.0).with_(candidates=("paper", "optimal")), history=h, cfg=CFG,
                    spec=SPEC).summary()
    g, f = gbm["rules"], fhs["rules"]
    assert g["paper"]["liq_rate_ci"][0] > g["paper_fhs"]["liq_rate_ci"][1]
    assert g["optimal"]["liq_rate_ci"][0] > f["optimal"]["liq_rate_ci"][1]
    assert g["optimal"]["liq_rate_ci"][0] > g["paper_fhs"]["liq_rate_ci"][1]
    assert g["paper"]["liq_rate"] == f["paper"]["liq_rate"]  # common random numbers: the same paths
    assert gbm["verdict"] == "paper_fhs"  # not paper, not the GBM-floored optimal, hold, fixed_leverage, periodic
    assert fhs["verdict"] == "optimal"


def test_zero_carry_no_costs_every_paired_ci_covers_zero() -> None:
    """Constant (zero) carry and no costs: a delta-neutral book earns nothing whatever its band, so every paired
    difference is noise and every CI covers 0."""
    h = gbm_history(sigma_annual=0.6, funding_per_8h=0.0, seed=3)
    s = run_study(_study(20), history=h, cfg=CFG, spec=SPEC).summary()
    tol = 1e-12  # float rounding of sums of zero cash flows
    for name, p in s["paired"].items():
        for key in ("d_ret_ci", "d_apy_ci", "d_liq_rate_ci"):
            assert p[key][0] <= tol and p[key][1] >= -tol, (name, key, p[key])
    assert s["verdict"] == "paper"
