"""Per-side reset targets and scheduled resets in the one policy function (hand-computed sizes)."""

from __future__ import annotations

import pytest

from basisctl.errors import ModelDomainError
from basisctl.model.policy import Action, BandPolicy, CostCurve, Reason, decide

V = 1_000_000.0
FLAT = CostCurve.flat(20.0)


def pol(**kw: float) -> BandPolicy:
    base: dict = {"alpha_target": 0.2, "alpha_lower": 0.1, "alpha_upper": 0.4, "kappa_fix": 0.05,
                  "k_reb_fix": 0.0, "q_min_usd": 10_000.0,
                  "sell_budget_bps": 100.0, "buy_budget_bps": 100.0}
    base.update(kw)
    return BandPolicy(**base)


def test_lower_breach_restores_reset_lower() -> None:
    d = decide(0.09, V, pol(reset_lower=0.12), FLAT, FLAT)
    assert d.action is Action.RAISE_COLLATERAL
    assert d.q_target_usd == pytest.approx((0.12 - 0.09) * V)


def test_upper_breach_restores_reset_upper_and_gates_on_it() -> None:
    d = decide(0.45, V, pol(reset_upper=0.38), FLAT, FLAT)
    assert d.action is Action.LOWER_COLLATERAL
    assert d.q_target_usd == pytest.approx((0.45 - 0.38) * V)
    # eq. 47 with the reset target: (0.45 - 0.38) * 0.05 = 35 bps < 40 bps -> hold
    held = decide(0.45, V, pol(reset_upper=0.38, k_reb_fix=0.004), FLAT, FLAT)
    assert held.action is Action.NONE and held.reason_code is Reason.UPPER_BREACH_CARRY_BELOW_COST


def test_default_resets_are_the_paper_target() -> None:
    d = decide(0.45, V, pol(), FLAT, FLAT)
    assert d.q_target_usd == pytest.approx((0.45 - 0.2) * V)


def test_scheduled_reset_inside_the_band() -> None:
    assert decide(0.3, V, pol(), FLAT, FLAT).action is Action.NONE
    up = decide(0.3, V, pol(), FLAT, FLAT, reset_due=True)
    assert up.action is Action.LOWER_COLLATERAL and up.reason_code is Reason.PERIODIC_RESET
    assert up.q_target_usd == pytest.approx(0.1 * V)
    down = decide(0.15, V, pol(), FLAT, FLAT, reset_due=True)
    assert down.action is Action.RAISE_COLLATERAL and down.q_hat_usd == pytest.approx(0.05 * V)
    tiny = decide(0.205, V, pol(), FLAT, FLAT, reset_due=True)  # $5k < q_min
    assert tiny.action is Action.NONE


def test_reset_targets_must_lie_inside_the_band() -> None:
    with pytest.raises(ModelDomainError):
        pol(reset_upper=0.5)
    with pytest.raises(ModelDomainError):
        pol(reset_lower=0.05)
