"""Variant 2 and Variant 1 solvers against brute-force grids at 1e-6 resolution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.errors import ModelDomainError
from basisctl.model.static import (
    StaticInputs,
    pi_liq,
    solve_alpha_econ,
    solve_alpha_risk,
    solve_static_grid,
)

H1D = 1 / 365


def brute_alpha_risk(sigma, theta, h, eps, mu=0.0, step=1e-6):
    a = np.arange(theta / (1 + theta) + step, 0.999, step)
    p = pi_liq(a, sigma, theta, h, mu)
    return a[np.argmax(p <= eps)]


def brute_alpha_econ(sigma, theta, h, kappa, lgd, mu=0.0, step=1e-6):
    a = np.arange(step, 1 - step / 2, step)
    j = (1 - a) * kappa - lgd * pi_liq(a, sigma, theta, h, mu)
    return a[np.argmax(j)], j.max()


@pytest.mark.parametrize(
    ("sigma", "theta", "eps", "mu"),
    [(0.72, 0.008, 1e-3, 0.0), (0.72, 0.0125, 1e-3, 0.0), (1.2, 0.05, 1e-3, 0.0), (0.5, 0.02, 1e-4, 0.2),
     (2.0, 0.05, 0.05, -0.3)],
)
def test_variant2_matches_brute_force_grid(sigma, theta, eps, mu):
    got = float(solve_alpha_risk(sigma, theta, H1D, eps, mu))
    assert got == pytest.approx(brute_alpha_risk(sigma, theta, H1D, eps, mu), abs=1.5e-6)
    # eq. (26): the constraint binds at the optimum
    assert float(pi_liq(got, sigma, theta, H1D, mu)) == pytest.approx(eps, rel=1e-5)


@pytest.mark.parametrize(
    ("sigma", "theta", "kappa", "lgd"),
    [(0.72, 0.008, 0.82e-4, 0.1), (1.19, 0.05, 2.65e-4, 0.1), (0.6, 0.0125, 5e-4, 0.01), (0.9, 0.02, 1e-4, 1.0)],
)
def test_variant1_matches_brute_force_grid(sigma, theta, kappa, lgd):
    got = float(solve_alpha_econ(sigma, theta, H1D, kappa, lgd))
    a_b, j_b = brute_alpha_econ(sigma, theta, H1D, kappa, lgd)
    assert got == pytest.approx(a_b, abs=2e-6)
    j_got = (1 - got) * kappa - lgd * float(pi_liq(got, sigma, theta, H1D))
    assert j_got >= j_b - 1e-12


def test_variant1_finds_the_global_maximum_when_the_objective_is_not_concave():
    # Tiny LGD and large carry: accepting liquidation (alpha -> 0) beats the interior local maximum.
    sigma, theta, kappa, lgd = 0.8, 0.02, 2e-3, 1e-4
    a_b, _ = brute_alpha_econ(sigma, theta, H1D, kappa, lgd)
    got = float(solve_alpha_econ(sigma, theta, H1D, kappa, lgd))
    assert a_b < 0.01  # the brute force confirms the global optimum is at the low end
    assert got == pytest.approx(a_b, abs=2e-6)


def test_variant1_returns_one_without_positive_carry():
    assert float(solve_alpha_econ(0.7, 0.01, H1D, 0.0, 0.1)) == 1.0
    assert float(solve_alpha_econ(0.7, 0.01, H1D, -1e-4, 0.1)) == 1.0


def test_grid_solver_equals_cellwise_solver():
    cells = [StaticInputs("hyperliquid", "BTC", s, k, 0.0125, 40, 1.0, 1e-3, 0.1, 2e-4)
             for s in (0.3, 0.5, 0.9) for k in (1.0, 1.5, 2.0)]
    res = solve_static_grid(cells)
    for c, r in zip(cells, res, strict=True):
        assert r.alpha_risk == pytest.approx(float(solve_alpha_risk(c.sigma_annual * c.stress, 0.0125, H1D, 1e-3)),
                                             abs=1e-9)
        assert r.pi_liq_at_alpha_risk == pytest.approx(1e-3, rel=1e-5)


@pytest.mark.parametrize("eps", [0.0, 1.0, -0.1, 2.0])
def test_epsilon_outside_unit_interval_is_rejected(eps):
    with pytest.raises(ModelDomainError, match="epsilon"):
        solve_alpha_risk(0.5, 0.01, H1D, eps)


sig_st = st.floats(0.1, 3.0)
theta_st = st.floats(0.002, 0.1)
eps_st = st.floats(1e-5, 0.2)


@settings(max_examples=60, deadline=None)
@given(sig_st, theta_st, eps_st, st.floats(1.01, 3.0))
def test_alpha_risk_rises_with_stress(sigma, theta, eps, stress):
    a1 = float(solve_alpha_risk(sigma, theta, H1D, eps))
    a2 = float(solve_alpha_risk(sigma * stress, theta, H1D, eps))
    assert a2 >= a1 - 1e-9


@settings(max_examples=60, deadline=None)
@given(sig_st, theta_st, eps_st, st.floats(1.01, 3.0))
def test_alpha_risk_rises_with_theta(sigma, theta, eps, factor):
    a1 = float(solve_alpha_risk(sigma, theta, H1D, eps))
    a2 = float(solve_alpha_risk(sigma, min(theta * factor, 0.5), H1D, eps))
    assert a2 >= a1 - 1e-9


@settings(max_examples=60, deadline=None)
@given(sig_st, theta_st, eps_st, st.floats(1.01, 10.0))
def test_alpha_risk_falls_as_epsilon_grows(sigma, theta, eps, factor):
    a1 = float(solve_alpha_risk(sigma, theta, H1D, eps))
    a2 = float(solve_alpha_risk(sigma, theta, H1D, min(eps * factor, 0.99)))
    assert a2 <= a1 + 1e-9
