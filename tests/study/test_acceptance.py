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
    return load_study().with_(paths=paths, cost_bps=0.0, generators=("fhs",), years=years, bootstrap_reps=1000)


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
    Garwood CIs, and the verdict picks no GBM-floored candidate. Both runs share their paths (same seeds)."""
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
    # the verdict picks no GBM-floored candidate (`paper` is the baseline, kept when nothing is preferred)
    assert gbm["verdict"] not in ("optimal", "hold", "fixed_leverage", "periodic")
    # Under the backtest's accounting (issue 17) the verdict is `paper`, not `paper_fhs` (it was `paper_fhs` under the
    # legacy accounting): the planted jumps sit inside a bar (high = close), the kernel liquidates at the barrier
    # and the naked spot keeps the rest of the jump, so in this world a liquidation *pays* (the margin is returned,
    # no fee on Hyperliquid) and paper_fhs's fewer liquidations cost it return. Pinned so that a change of the
    # intrabar jump model shows up here (docs/rules.md, "Planted up-jumps under the venue accounting").
    assert gbm["verdict"] == "paper"
    assert gbm["paired"]["paper_fhs"]["d_ret_ci"][1] < 0
    assert g["optimal"]["ret_unhedged_mean"] > 0.1 and g["optimal"]["liq_loss_mean"] == 0.0
    assert fhs["verdict"] == "paper" and fhs["paired"]["optimal"]["d_ret_ci"][1] < 0  # was `optimal` (legacy)


def test_constant_carry_no_costs_rules_differ_only_by_their_carry() -> None:
    """Constant positive carry (1 bp / 8 h), no costs, zero-drift GBM (docs/rules.md, "Constant carry with no
    costs"). Read literally ("every paired Δreturn CI covers 0") the statement is false whenever the carry is not
    zero: rules hold different collateral and so collect different carry, which is exactly why `optimal` wins the
    zero-cost world above. It is asserted here that (1) the raw differences are real (optimal's Δreturn CI lies
    above 0, hold's below), and (2) measured against its own carry (return minus the funding the rule collected:
    costs, liquidation losses and naked spot, all zero or absent here) every rule's paired difference CI covers 0
    and no rule is preferred on it, while the Δ liquidation-rate CIs cover 0 too."""
    h = gbm_history(sigma_annual=0.6, funding_per_8h=1e-4, seed=3)
    res = run_study(_study(20), history=h, cfg=CFG, spec=SPEC)
    s = res.summary()
    assert s["paired"]["optimal"]["d_ret_ci"][0] > 0 and s["paired"]["hold"]["d_ret_ci"][1] < 0
    rows = res.rows
    assert (rows["ret_funding"] > 0.02).all()  # ~5 % carry a half-year: the world is not trivial
    tol = 1e-9  # float rounding of sums of per-bar cash flows [fraction of capital]
    for name, p in s["paired"].items():
        for key in ("d_ret_ex_carry_ci", "d_liq_rate_ci"):
            assert p[key][0] <= tol and p[key][1] >= -tol, (name, key, p[key])
    assert (rows["ret"] - rows["ret_funding"]).abs().max() < tol  # every return is carry, nothing leaks
