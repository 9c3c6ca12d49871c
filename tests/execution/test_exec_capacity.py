"""Capacity (eqs. 65-68): phi from an explicit account rebalance, V^max by hand, the safe quantile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.execution.capacity import capacity_from_curves, phi, q_star, v_max_side
from basisctl.model.policy import CostCurve


@given(a=st.floats(0.02, 0.95), target=st.floats(0.05, 0.9), v=st.floats(1e4, 1e9))
@settings(max_examples=60, deadline=None)
def test_q_star_restores_target_in_the_accounts(a: float, target: float, v: float) -> None:
    """Move q* dollars between the spot and margin accounts (perp resized by the same notional): the margin
    share lands on alpha_target exactly (costs ignored)."""
    spot, margin = (1 - a) * v, a * v
    q = q_star(a, target, v)
    if a < target:  # sell-basis: sell spot, buy back perp, move the USD into margin
        spot, margin = spot - q, margin + q
    else:  # buy-basis: withdraw margin, buy spot, add to the short
        spot, margin = spot + q, margin - q
    assert margin / (spot + margin) == pytest.approx(target, abs=1e-12)
    assert phi(a, target) == pytest.approx(q / v)


def test_phi_matches_eq31_price_path() -> None:
    """After a price rise p0 -> p the margin share follows eq. 31; q* then equals the spot value sold."""
    a0, p0, p, v0 = 0.173, 100.0, 108.0, 1e6
    alpha_t = 1 - (1 - a0) * p / p0
    spot_units = (1 - a0) * v0 / p0
    v_t = v0  # delta neutral: equity unchanged to first order (funding suppressed)
    margin_t = alpha_t * v_t
    units_to_sell = (a0 * v_t - margin_t) / p
    assert q_star(alpha_t, a0, v_t) == pytest.approx(units_to_sell * p, rel=1e-12)
    assert units_to_sell < spot_units


def test_capacity_hand_computed() -> None:
    # C(q) = 5 + 10 * q / 1e6 bps on both sides; budget 20, buffer 5 -> Q^max = 1e6
    lin = CostCurve(np.array([0.0, 1e7]), np.array([5.0, 105.0]))
    steep = CostCurve(np.array([0.0, 1e7]), np.array([5.0, 205.0]))  # Q^max = 5e5
    rep = capacity_from_curves([lin, lin, steep, lin], [lin, steep, steep, lin], alpha_target=0.2,
                               alpha_lower=0.1, alpha_upper=0.45, buy_budget_bps=20.0, sell_budget_bps=20.0,
                               buffer_bps=5.0, q_min_usd=1e4, p=0.25, ts_ms=[0, 1, 2, 3])
    assert rep.phi_buy == pytest.approx(0.25) and rep.phi_sell == pytest.approx(0.1)
    np.testing.assert_allclose(rep.q_max_buy_usd, [1e6, 1e6, 5e5, 1e6])
    np.testing.assert_allclose(rep.v_max_buy_usd, [4e6, 4e6, 2e6, 4e6])
    np.testing.assert_allclose(rep.v_max_sell_usd, [1e7, 5e6, 5e6, 1e7])
    np.testing.assert_allclose(rep.v_max_usd, [4e6, 4e6, 2e6, 4e6])
    assert rep.v_max_safe_usd == pytest.approx(2e6)  # lower 25% quantile of {2, 4, 4, 4} M
    assert rep.v_min_usd == pytest.approx(1e4 / 0.1)
    d = rep.to_dict()
    assert d["v_max_usd"] == pytest.approx(4e6) and d["observations"] == 4
    assert len(rep.to_frame()) == 4


def test_side_without_admissible_size_has_zero_capacity() -> None:
    assert v_max_side(5e3, 0.1, q_min_usd=1e4) == 0.0
    assert v_max_side(5e5, 0.0) == np.inf
    assert v_max_side(5e5, 0.1) == pytest.approx(5e6)
