"""The optimal-band solver against closed forms, the known structure of impulse-control bands and a brute-force
search with the backtest kernel on common random numbers (issue 13, Verify)."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.errors import ModelDomainError
from basisctl.model.bands import alpha_lower
from basisctl.model.optimal_band import solve_optimal_band
from basisctl.model.policy import CostCurve
from basisctl.model.static import solve_alpha_risk
from basisctl.rules.montecarlo import Band, gbm_paths, score_bands

SIG, KAP, THETA = 0.5, 0.10, 0.0125
FLOOR = float(alpha_lower(SIG * 1.5, THETA, 3.0, 1e-4))
DAGGER = float(solve_alpha_risk(SIG * 1.5, THETA, 1.0 / 365.0, 1e-3))


@pytest.mark.parametrize("floor", [FLOOR, DAGGER])
def test_zero_costs_collapse_the_band_onto_the_floor(floor: float) -> None:
    b = solve_optimal_band(SIG, KAP, floor)
    assert b.alpha_lower == pytest.approx(floor)
    assert b.alpha_upper - floor < 0.01
    # with free trading alpha is held at the floor, so the carry is (1 - floor) kappa (closed form)
    assert b.net_carry_apy == pytest.approx((1.0 - floor) * KAP, abs=b.grid_step * KAP)
    assert b.cost_drag_apy == pytest.approx(0.0, abs=1e-12)


def test_proportional_costs_trade_to_the_boundary() -> None:
    b = solve_optimal_band(SIG, KAP, FLOOR, buy_cost=20.0, sell_cost=20.0)
    assert b.alpha_upper - FLOOR > 0.05  # a real no-trade region
    assert b.alpha_upper - b.reset_upper <= b.grid_step + 1e-12  # upper trade stops at the boundary
    assert b.reset_lower - b.alpha_lower <= b.grid_step + 1e-12  # lower trade stops at the boundary
    assert b.contiguous and b.converged


def test_fixed_costs_reset_to_an_interior_point() -> None:
    b = solve_optimal_band(SIG, KAP, FLOOR, buy_cost=20.0, sell_cost=20.0, fixed_usd=500.0)
    width = b.alpha_upper - b.alpha_lower
    for r in (b.reset_lower, b.reset_upper):
        assert b.alpha_lower + 0.1 * width < r < b.alpha_upper - 0.1 * width
    only_fixed = solve_optimal_band(SIG, KAP, FLOOR, fixed_usd=1000.0)
    assert only_fixed.alpha_lower + 0.1 * (only_fixed.alpha_upper - only_fixed.alpha_lower) < only_fixed.reset_upper


def test_side_specific_costs_move_only_their_side() -> None:
    cheap = solve_optimal_band(SIG, KAP, FLOOR, buy_cost=10.0, sell_cost=10.0)
    dear_buy = solve_optimal_band(SIG, KAP, FLOOR, buy_cost=60.0, sell_cost=10.0)
    assert dear_buy.alpha_upper > cheap.alpha_upper + 0.02  # costly buy-basis: trade down less often
    curve = CostCurve(np.array([0.0, 1e5, 1e6]), np.array([10.0, 10.0, 60.0]))  # size-dependent cost
    sized = solve_optimal_band(SIG, KAP, FLOOR, buy_cost=curve, sell_cost=10.0)
    assert cheap.alpha_upper <= sized.alpha_upper <= dear_buy.alpha_upper


def test_band_widens_monotonically_in_cost() -> None:
    prop = [solve_optimal_band(SIG, KAP, FLOOR, buy_cost=c, sell_cost=c) for c in (0, 5, 10, 20, 40, 80)]
    up = np.array([b.alpha_upper for b in prop])
    assert np.all(np.diff(up) > 0)
    assert np.all(np.diff([b.net_carry_apy for b in prop]) < 0)
    fixed = [solve_optimal_band(SIG, KAP, FLOOR, buy_cost=10, sell_cost=10, fixed_usd=f) for f in (0, 100, 500, 2000)]
    assert np.all(np.diff([b.alpha_upper for b in fixed]) > 0)


def test_bad_inputs_raise_model_domain_error() -> None:
    with pytest.raises(ModelDomainError):
        solve_optimal_band(0.0, KAP, FLOOR)
    with pytest.raises(ModelDomainError):
        solve_optimal_band(SIG, KAP, 0.995)


@pytest.mark.slow
@pytest.mark.parametrize(("sigma", "kappa", "cost", "theta"), [(0.5, 0.10, 20.0, 0.0125), (0.8, 0.15, 30.0, 0.05)])
def test_solver_band_earns_as_much_as_the_best_brute_force_band(sigma: float, kappa: float, cost: float,
                                                                theta: float) -> None:
    """Brute force over (alpha_U, reset_U, reset_L) with the backtest kernel on 16 two-year GBM paths shared by
    every candidate (common random numbers): the solver's band is within 3 paired standard errors of the best
    candidate, and the measured growth of its band matches the solver's own long-run carry."""
    q_min, cap = 10_000.0, 1_000_000.0
    fl = float(alpha_lower(sigma * 1.5, theta, 3.0, 1e-4))
    ob = solve_optimal_band(sigma, kappa, fl, cost, cost, capital_usd=cap, q_min_usd=q_min)
    bands = [Band(ob.alpha_lower, ob.reset_lower, ob.alpha_upper, ob.reset_upper, ob.reset_upper)]
    for au in np.arange(fl + 0.03, fl + 0.42, 0.02):
        for ru in (au - 0.01, au - (au - fl) / 3.0, 0.5 * (au + fl)):
            for rl in (fl + 0.01, fl + 0.03):
                if rl < au and ru > fl:
                    bands.append(Band(fl, rl, float(au), float(ru), float(ru)))
    prices = gbm_paths(sigma, 2.0, 16, seed=11)
    s = score_bands(bands, prices, kappa, cost, theta, cap, q_min)
    best = int(np.argmax(s.mean))
    assert s.mean[0] >= s.mean[best] - 3.0 * max(s.paired_se(best, 0), 1e-9)
    se0 = float(s.growth[0].std(ddof=1) / np.sqrt(s.growth.shape[1]))
    assert abs(s.mean[0] - ob.net_carry_apy) < 3.0 * se0 + 0.002
    assert s.liquidations[0] == 0


def test_numba_solver_matches_its_plain_python_twin() -> None:
    """The compiled kernels and the same source run as Python (BASISCTL_DISABLE_JIT=1) give the same band."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json; from basisctl.model.optimal_band import solve_optimal_band as s; "
            "b = s(0.6, 0.12, 0.1, 25.0, 15.0, fixed_usd=200.0, grid_step=0.01); print(json.dumps(b.to_dict()))")
    env = {**os.environ, "BASISCTL_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    py = json.loads(out.stdout.strip().splitlines()[-1])
    nb = solve_optimal_band(0.6, 0.12, 0.1, 25.0, 15.0, fixed_usd=200.0, grid_step=0.01).to_dict()
    for k in ("alpha_lower", "reset_lower", "alpha_upper", "reset_upper", "iterations"):
        assert py[k] == nb[k], k
    assert py["net_carry_apy"] == pytest.approx(nb["net_carry_apy"], rel=1e-9)
