"""The issue's "done when" worlds, small enough for CI: the study's verdict on synthetic worlds whose answer is
known. Each world: 2 assets, 2 years of hourly GBM bars (4 sub-steps per bar for the high), the FHS generator,
few simulated paths (every rule on the same paths)."""

from __future__ import annotations

import pytest

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.study.generators import History
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
    Garwood CIs, and the verdict picks no GBM-floored candidate. Both runs share their paths (same seeds).

    Rules are judged on returns with the naked spot's gains removed (a liquidation is never credited as a gain,
    docs/rules.md "Judged return"): the planted jumps sit inside a bar (high = close), the kernel closes the short at
    the barrier and the spot held naked until the next open keeps the rest of the jump. Under the venue's
    documented liquidation rule with a cost (Binance: 0.5 % clearance fee) the verdict is `paper_fhs` (FHS floor);
    under Hyperliquid's (market liquidation at the barrier returns the maintenance margin, no fee) a liquidation
    costs nothing in this zero-cost world once its naked gain is removed, so no candidate beats `paper` on return
    and the verdict stays the baseline, the GBM-floored `optimal` rejected by its liquidation rate. One seed: this
    world is seed-sensitive (see the last test); the default venue and costs on seeds 1-5 are
    ``test_planted_up_jumps_default_venue_and_costs``."""
    from dataclasses import replace

    h = gbm_history(sigma_annual=0.5, funding_per_8h=1e-4, seed=2, jump_rate_annual=30.0, jump_mean=0.04)
    bn = replace(CFG, liquidation_venue="binance")
    st_gbm = _study(30, years=1.0).with_(optimal_floor_model="gbm")
    st_fhs = _study(30, years=1.0).with_(candidates=("paper", "optimal"))
    gbm = run_study(st_gbm, history=h, cfg=bn, spec=SPEC).summary()
    fhs = run_study(st_fhs, history=h, cfg=bn, spec=SPEC).summary()
    g, f = gbm["rules"], fhs["rules"]
    # (1) the liquidation-rate CIs of the GBM-floored rules lie above those of the FHS-floored ones
    assert g["paper"]["liq_rate_ci"][0] > g["paper_fhs"]["liq_rate_ci"][1]
    assert g["optimal"]["liq_rate_ci"][0] > f["optimal"]["liq_rate_ci"][1]
    assert g["optimal"]["liq_rate_ci"][0] > g["paper_fhs"]["liq_rate_ci"][1]
    assert g["paper"]["liq_rate"] == f["paper"]["liq_rate"]  # common random numbers: the same paths
    # (2) the verdict picks no GBM-floored candidate, the baseline `paper` included: an FHS-floored rule wins
    assert gbm["verdict"] not in (*GBM_FLOORED, "optimal")
    assert gbm["verdict"] == "paper_fhs" and gbm["paired"]["paper_fhs"]["d_ret_ci"][0] > 0
    assert fhs["verdict"] == "optimal"  # the FHS-floored optimal beats paper too
    # the naked gains are removed from the judged return and only from it (the raw NAV return is reported)
    rows_gain = g["optimal"]["naked_gain_removed_mean"]
    assert rows_gain > 0.3 and g["optimal"]["ret_mean"] == pytest.approx(g["optimal"]["ret_raw_mean"] - rows_gain)
    assert g["optimal"]["apy_raw_mean"] > g["optimal"]["apy_mean"] + 0.3
    # Hyperliquid's rule: a liquidation costs nothing here once its naked gain is removed; nothing beats paper on
    # return with fewer liquidations, the GBM-floored optimal earns more but is rejected by its liquidation rate
    hl = run_study(st_gbm, history=h, cfg=CFG, spec=SPEC).summary()
    assert hl["rules"]["paper"]["liq_rate"] == g["paper"]["liq_rate"]  # the trigger does not depend on the venue
    assert hl["verdict"] == "paper" and hl["preferred"] == []
    p_opt = hl["paired"]["optimal"]
    assert p_opt["d_ret_ci"][0] > 0 and p_opt["d_liq_rate_ci"][0] > 0
    assert hl["rules"]["optimal"]["liq_loss_mean"] == 0.0  # market liquidations: no fee, maintenance returned


# The planted up-jumps world under the product's defaults (Hyperliquid's liquidation rule, Table VIII costs):
# fixed 15 % up-jumps 12 times a year at the end of a bar on σ 50 % GBM, 1 bp / 8 h (docs/rules.md "Planted
# up-jumps"). The verdict per world seed, as measured: the FHS-floored `optimal` on every seed. On seed 5 the
# GBM-calibrated `fixed_leverage` is preferred over paper too (liquidated no more often than `paper`) and earns
# 0.09 pp more than `optimal`: the rule as first registered picked it; the safety-first amendment of the decision
# rule (found on this world, docs/rules.md "Decision rule") drops it, being liquidated more than `optimal`.
def _up_jumps_world(seed: int) -> History:
    return gbm_history(sigma_annual=0.5, funding_per_8h=1e-4, seed=seed, jump_rate_annual=12.0, jump_mean=0.15,
                       jump_fixed=True)


UP_JUMPS_VERDICT = {1: "optimal", 2: "optimal", 3: "optimal", 4: "optimal", 5: "optimal"}


@pytest.mark.parametrize("seed", sorted(UP_JUMPS_VERDICT))
def test_planted_up_jumps_default_venue_and_costs(seed: int) -> None:
    """Every GBM-floored rule (paper, hold, fixed_leverage, periodic, and `optimal` with the GBM floor) has a
    liquidation-rate Garwood CI above both FHS-floored rules' (paper_fhs, `optimal` with the FHS floor), on every
    world seed; the verdict is never a GBM-floored rule (`paper`, `hold`, `fixed_leverage`, `periodic`, the
    GBM-floored `optimal`), and the FHS-floored `optimal` is preferred over paper on every seed. A liquidation
    costs its re-entry trades (Table VIII, 20 bps) and the naked bar's losses; its naked gains are removed (judged
    return)."""
    h = _up_jumps_world(seed)
    st = _study(30, years=1.0).with_(cost_bps=None)  # "paper": Table VIII per asset (BTC, ETH: 20 bps)
    d = run_study(st, history=h, cfg=CFG, spec=SPEC).summary()  # the default candidates, optimal FHS-floored
    g = run_study(st.with_(candidates=("paper", "optimal"), optimal_floor_model="gbm"), history=h, cfg=CFG,
                  spec=SPEC).summary()
    r = d["rules"]
    assert g["rules"]["paper"]["liq_rate"] == r["paper"]["liq_rate"]  # common random numbers: the same paths
    fhs_hi = max(r[n]["liq_rate_ci"][1] for n in FHS_FLOORED)
    gbm_lo = {**{n: r[n]["liq_rate_ci"][0] for n in GBM_FLOORED}, "optimal (GBM floor)":
              g["rules"]["optimal"]["liq_rate_ci"][0]}
    assert all(lo > fhs_hi for lo in gbm_lo.values()), (fhs_hi, gbm_lo)
    assert r["paper_fhs"]["liquidations"] == r["optimal"]["liquidations"] == 0
    assert "optimal" in d["preferred"] and d["paired"]["optimal"]["d_ret_ci"][0] > 0
    assert d["verdict"] not in GBM_FLOORED and g["verdict"] == "paper"
    assert d["verdict"] == UP_JUMPS_VERDICT[seed]
    # a GBM-floored rule preferred over paper (seed 5: fixed_leverage, liquidated no more often than paper) is
    # dropped by the safety-first clause: its liquidation rate minus optimal's has a paired CI above 0
    for n in set(d["preferred"]) & set(GBM_FLOORED):
        assert n in d["dropped_by_safety"] and d["paired"][n]["d_liq_rate_ci_vs"]["optimal"][0] > 0
        assert d["paired"][n]["d_liq_rate_ci"][0] <= 0 < r[n]["liquidations"]


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
    assert (rows["ret"] == rows["ret_raw"]).all()  # no liquidation: nothing to remove
    assert all(p["d_apy_raw_ci"] == p["d_apy_ci"] for p in s["paired"].values())  # the raw figures ride along


def test_zero_carry_no_costs_every_raw_paired_difference_covers_zero() -> None:
    """The literal reading of "every rule's paired difference CI covers 0" holds where it honestly can: zero carry,
    no costs (the same world as above with funding 0). Rules then differ only by liquidations, and none happens."""
    h = gbm_history(sigma_annual=0.6, funding_per_8h=0.0, seed=3)
    s = run_study(_study(20), history=h, cfg=CFG, spec=SPEC).summary()
    assert s["verdict"] == "paper" and s["preferred"] == []
    for name, p in s["paired"].items():
        for key in ("d_ret_ci", "d_apy_ci", "d_liq_rate_ci"):
            assert p[key][0] <= 1e-9 and p[key][1] >= -1e-9, (name, key, p[key])  # float rounding of sums
    assert (s["rules"]["paper"]["liq_rate"], s["rules"]["optimal"]["liq_rate"]) == (0.0, 0.0)


def test_exp_jump_world_seed_sensitivity_is_the_burn_in_tail_not_a_bug() -> None:
    """Why the Exp(4 %) up-jump world separates `paper` from `paper_fhs` on seed 2 and not on seed 4 (docs/rules.md,
    "Planted up-jumps"): each rule calibrates once per (asset, generator) on the 180-day burn-in, and FHS cannot
    draw a residual beyond the burn-in's largest. Seed 2's BTC burn-in holds a 25 % bar, seed 4's at most 7.3 %:
    the FHS floor follows (0.18 against 0.12), and on seed 4 `paper_fhs`'s (unstressed) target falls below
    `paper`'s (GBM, stress 1.5), so its band sits inside paper's with a lower top."""
    import numpy as np

    from basisctl.study.simulate import burn_in_frames, burn_in_rules

    st = _study(1, years=1.0)
    out = {}
    for seed in (2, 4):
        h = gbm_history(sigma_annual=0.5, funding_per_8h=1e-4, seed=seed, jump_rate_annual=30.0, jump_mean=0.04)
        fr = burn_in_frames(h, 0, "fhs", st.burn_in_days, st.block_days, st.seed)
        rules, _, _ = burn_in_rules(h, 0, "fhs", ["paper", "paper_fhs"], st.burn_in_days, st.block_days, st.seed,
                                    0.0, CFG, SPEC, "gbm", frames=fr)
        c = fr[0]
        top = float(np.max(np.log(c["high"].to_numpy()[1:] / c["close"].to_numpy()[:-1])))
        out[seed] = (top, rules["paper"], rules["paper_fhs"])
    (top2, p2, f2), (top4, p4, f4) = out[2], out[4]
    assert top2 > 0.2 and top4 < 0.08  # the burn-ins' largest bar (log high / previous close)
    assert f2.alpha_lower > p2.alpha_lower + 0.05 and f2.alpha_target > p2.alpha_target  # FHS saw a big jump
    assert p4.alpha_lower < f4.alpha_lower < p4.alpha_lower + 0.03  # FHS saw none: its floor barely above GBM's
    assert f4.alpha_target < p4.alpha_target  # and its target below paper's (stress 1.5 on GBM)
    assert p2.theta_f == f2.theta_f and f2.alpha_lower != f4.alpha_lower  # FHS alphas per burn-in, not shared
