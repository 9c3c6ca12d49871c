"""Kou first passage vs the GBM closed form (no-jump limit) and vs exact-jump Monte Carlo; calibration."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.risk import alpha_at, pi_liq
from basisctl.risk.gbm import GBMRisk
from basisctl.risk.kou import KouRisk, fit_kou
from tests.risk.kou_mc import kou_hit_mc
from tests.risk.synth import assert_kou_recovered, kou_returns

B = np.linspace(1e-3, 0.6, 120)


@pytest.mark.parametrize("sigma", [0.2, 0.7, 2.0])
@pytest.mark.parametrize("h", [1.0, 24.0, 168.0])
def test_no_jump_limit_is_the_gbm_closed_form(sigma: float, h: float) -> None:
    gbm = GBMRisk.of(sigma).hit_prob(B, h)
    exact_zero = KouRisk.of(sigma, 0.0, 0.5, 0.03, 0.04).hit_prob(B, h)  # the inversion itself at lam = 0
    tiny = KouRisk.of(sigma, 1e-9, 0.5, 0.03, 0.04).hit_prob(B, h)  # and the limit lam -> 0
    assert np.max(np.abs(exact_zero - gbm)) < 1e-8
    assert np.max(np.abs(tiny - gbm)) < 1e-8


CASES = [  # sigma, lam [1/yr], p_up, m_up, m_down, h [hours], b
    (0.5, 300.0, 0.4, 0.02, 0.03, 24.0, 0.05),
    (0.1, 3000.0, 0.7, 0.01, 0.015, 24.0, 0.06),  # jump-dominated: jumps carry ~97% of the variance
    (0.8, 50.0, 0.5, 0.05, 0.05, 168.0, 0.3),
    (0.6, 100.0, 1.0, 0.04, 0.04, 1.0, 0.03),  # upward jumps only, short horizon, small probability
]


@pytest.mark.parametrize("case", CASES)
def test_kou_matches_exact_jump_monte_carlo(case: tuple[float, ...]) -> None:
    s, lam, p, mu_, md, h, b = case
    k = KouRisk.of(s, lam, p, mu_, md)
    mc, se = kou_hit_mc(b, h / 8760.0, s, lam, p, mu_, md, float(k.mu_log_annual[0]), 100_000, seed=7)
    assert abs(float(k.hit_prob(b, h)[0]) - mc) < 4.0 * se


def test_alpha_at_epsilon_meets_the_budget_and_jumps_cost_more() -> None:
    k = KouRisk.of(0.5, 200.0, 0.5, 0.03, 0.03)
    a = alpha_at(k, 1e-3, 0.0125, 24.0)
    assert abs(float(pi_liq(k, a, 0.0125, 24.0)[0]) - 1e-3) < 1e-7
    assert float(a[0]) > float(alpha_at(GBMRisk.of(0.5), 1e-3, 0.0125, 24.0)[0])


def test_threshold_calibration_recovers_kou_parameters() -> None:
    true = dict(sigma=0.5, lam=300.0, p_up=0.4, m_up=0.03, m_down=0.04)
    r = kou_returns(24 * 365 * 10, 1.0, true["sigma"], true["lam"], true["p_up"], true["m_up"], true["m_down"], 3)
    assert_kou_recovered(fit_kou(r, 1.0).params(), true, rel_sigma=0.05, rel_lam=0.15, abs_p_up=0.06, rel_means=0.15)


def test_kou_rejects_bad_parameters() -> None:
    from basisctl.errors import ModelDomainError

    with pytest.raises(ModelDomainError, match="sigma"):
        KouRisk.of(0.0, 10.0, 0.5, 0.03, 0.03)
    with pytest.raises(ModelDomainError, match="up-jump"):
        KouRisk.of(0.5, 10.0, 0.5, 1.5, 0.03)


def test_gbm_model_is_the_static_closed_form() -> None:
    from basisctl.model.static import pi_liq as static_pi_liq
    from basisctl.model.static import solve_alpha_risk

    sig = np.array([0.3, 0.6, 1.2])
    m = GBMRisk.of(sig)
    for h in (1.0, 24.0, 168.0):
        want = solve_alpha_risk(sig, 0.0125, h / 8760.0, 1e-3)
        assert np.max(np.abs(alpha_at(m, 1e-3, 0.0125, h) - want)) < 1e-9
        assert np.array_equal(pi_liq(m, 0.1, 0.0125, h), static_pi_liq(0.1, sig, 0.0125, h / 8760.0))


def test_root_continuation_equals_companion_eigenvalues_on_random_parameters() -> None:
    from basisctl.risk.kou import _roots_eig

    rng = np.random.default_rng(12)
    n = 300
    k = KouRisk.of(rng.uniform(0.05, 2.0, n), rng.choice([0.0, 5.0, 300.0, 5000.0], n), rng.uniform(0, 1, n),
                   rng.uniform(0.001, 0.2, n), rng.uniform(0.001, 0.3, n))
    for h in (1.0, 24.0, 168.0):
        b1, b2, *_ = k._nodes(h)
        e1, e2 = _roots_eig(np.stack(np.broadcast_arrays(*_coefficients(k, h)), axis=-1))
        got = np.sort_complex(np.stack([b1, b2], -1))
        want = np.sort_complex(np.stack([e1, e2], -1))
        assert np.allclose(got, want, rtol=1e-9, atol=1e-9)


def _coefficients(k: KouRisk, h: float) -> tuple[np.ndarray, ...]:
    """The quartic (G(x) - s)(eta1 - x)(eta2 + x) written out by hand, highest power first."""
    from basisctl.risk.kou import _K, EULER_A

    s = ((EULER_A + 2j * np.pi * _K) / (2.0 * h / 8760.0))[None, :]
    e1, e2 = (1 / k.mean_up)[:, None], (1 / k.mean_down)[:, None]
    lam, p = k.jump_rate_annual[:, None], k.p_up[:, None]
    a2, a1, a0 = 0.5 * k.sigma_annual[:, None] ** 2, k.mu_log_annual[:, None], -(lam + s)
    return (-a2 + 0 * s, a2 * (e1 - e2) - a1 + 0 * s, a2 * e1 * e2 + a1 * (e1 - e2) - a0,
            a1 * e1 * e2 + a0 * (e1 - e2) + lam * (p * e1 - (1 - p) * e2), -s * e1 * e2 + 0 * lam)
