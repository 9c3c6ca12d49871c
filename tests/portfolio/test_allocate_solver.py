"""The allocation solver against exhaustive enumeration on a coarse grid, constraint checks to 1e-9, a
capacity-bound venue, and the Ledoit-Wolf shrinkage against its closed form on a hand-sized case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from basisctl.errors import ModelDomainError
from basisctl.portfolio.allocate import make_problem, shrinkage_covariance, solve

GRID = (0.0, 0.2, 0.4)


def three_by_three(lam: float = 0.0, cap=None, seed: int = 1):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-0.02, 0.15, 9)  # net carry APY of 3 assets x 3 venues
    venue_of = np.tile(np.arange(3), 3)
    asset_of = np.repeat(np.arange(3), 3)
    x = rng.normal(size=(400, 9)) @ rng.normal(size=(9, 9)) * 0.05
    sigma, _ = shrinkage_covariance(x)
    return make_problem(mu, np.full(9, 0.4) if cap is None else cap, venue_of, asset_of, [0.4] * 3, [0.4] * 3,
                        sigma, lam)


def feasible(p, w: np.ndarray, tol: float = 1e-9) -> bool:  # type: ignore[no-untyped-def]
    ok = (w >= -tol).all() and (w <= p.cap + tol).all()
    return bool(ok and all(w[m].sum() <= s + tol for m, s in p.groups()))


def enumerate_best(p) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    ws = np.array(list(itertools.product(GRID, repeat=p.mu.size)))
    ok = (ws <= p.cap + 1e-12).all(axis=1)
    for m, s in p.groups():
        ok &= ws[:, m].sum(axis=1) <= s + 1e-12
    ws = ws[ok]
    vals = ws @ p.mu
    if p.sigma is not None and p.lam > 0:
        vals -= 0.5 * p.lam * np.einsum("ki,ij,kj->k", ws, p.sigma, ws)
    k = int(np.argmax(vals))
    return float(vals[k]), ws[k]


def test_linear_case_equals_the_best_grid_point() -> None:
    # caps on multiples of the grid step put the LP's optimal vertex on the grid
    p = three_by_three(lam=0.0)
    w = solve(p)
    best, w_grid = enumerate_best(p)
    assert feasible(p, w)
    assert p.objective(w) == pytest.approx(best, abs=1e-9)
    np.testing.assert_allclose(w, w_grid, atol=1e-7)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mean_variance_dominates_every_grid_point(seed: int) -> None:
    p = three_by_three(lam=20.0, seed=seed)
    w = solve(p)
    best, _ = enumerate_best(p)
    assert feasible(p, w)
    assert p.objective(w) >= best - 1e-12  # the continuous optimum beats every feasible grid point
    # and it is a local (= global, concave) optimum: no feasible coordinate step improves it
    for i in range(9):
        for h in (1e-4, -1e-4):
            v = w.copy()
            v[i] += h
            if feasible(p, v, tol=0.0):
                assert p.objective(v) <= p.objective(w) + 1e-12


def test_constraints_hold_to_1e_9_on_a_large_random_book() -> None:
    rng = np.random.default_rng(7)
    n_a, n_v = 20, 6
    mu = rng.uniform(-0.05, 0.3, n_a * n_v)
    cap = rng.uniform(0.0, 0.2, n_a * n_v)
    x = rng.normal(size=(300, n_a * n_v)) * 0.1
    sigma, _ = shrinkage_covariance(x)
    for lam in (0.0, 5.0):
        p = make_problem(mu, cap, np.tile(np.arange(n_v), n_a), np.repeat(np.arange(n_a), n_v), [0.25] * n_v,
                         [0.1] * n_a, sigma, lam)
        w = solve(p)
        assert feasible(p, w, tol=1e-9)
        assert w.sum() <= 1 + 1e-9 and (w >= 0).all()


def test_a_high_carry_venue_with_tiny_capacity_gets_exactly_its_capacity() -> None:
    mu = np.array([0.50, 0.10, 0.08])  # venue 0 pays five times more, but its book is thin
    cap = np.array([0.01, 1.0, 1.0])  # V^max / D
    p = make_problem(mu, cap, [0, 1, 2], [0, 0, 0], [1, 1, 1], [1.0])
    w = solve(p)
    np.testing.assert_allclose(w, [0.01, 0.99, 0.0], atol=1e-12)
    assert w[0] <= cap[0]


def test_negative_carry_is_never_bought_in_the_linear_case() -> None:
    p = make_problem([-0.01, -0.2], [1, 1], [0, 1], [0, 0], [1, 1], [1])
    assert (solve(p) == 0).all()


def test_shrinkage_by_hand_on_two_streams() -> None:
    # x rows (3,1), (-3,-1), (1,1), (-1,-1): mean 0, S = [[5,2],[2,1]], target 3 I, d^2 = 16,
    # b^2 = (18 + 18 + 18 + 18) / 4^2 = 4.5, delta = 4.5 / 16 = 0.28125
    x = np.array([[3.0, 1.0], [-3.0, -1.0], [1.0, 1.0], [-1.0, -1.0]])
    sigma, delta = shrinkage_covariance(x)
    assert delta == pytest.approx(0.28125)
    np.testing.assert_allclose(sigma, [[4.4375, 1.4375], [1.4375, 1.5625]])


def test_shrinkage_makes_a_singular_sample_positive_definite() -> None:
    x = np.random.default_rng(0).normal(size=(5, 12))  # more streams than observations
    sigma, delta = shrinkage_covariance(x)
    assert 0 < delta <= 1 and np.linalg.eigvalsh(sigma).min() > 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ModelDomainError, match="finite"):
        make_problem([np.nan], [1], [0], [0], [1], [1])
    with pytest.raises(ModelDomainError, match="covariance"):
        make_problem([0.1], [1], [0], [0], [1], [1], lam=1.0)
