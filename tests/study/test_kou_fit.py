"""Kou's threshold fit on simulated Kou paths recovers the parameters, and its drift is the martingale
compensator (the realised mean log return of martingale Kou paths matches it)."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.risk.kou import KouRisk, fit_kou
from tests.risk.synth import assert_kou_recovered

HOURS = 8760.0


def kou_returns(n: int, sigma: float, lam: float, p_up: float, m_up: float, m_down: float, mu_log: float,
                seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = 1.0 / HOURS
    x = mu_log * dt + sigma * np.sqrt(dt) * rng.standard_normal(n)
    nj = rng.poisson(lam * dt, n)
    tot = int(nj.sum())
    up = rng.random(tot) < p_up
    size = np.where(up, rng.exponential(m_up, tot), -rng.exponential(m_down, tot))
    np.add.at(x, np.repeat(np.arange(n), nj), size)
    return x


TRUE = {"sigma": 0.5, "lam": 40.0, "p_up": 0.45, "m_up": 0.025, "m_down": 0.03}


@pytest.mark.parametrize("match_variance", [False, True])
def test_fit_recovers_simulated_kou(match_variance: bool) -> None:
    mu_log = float(KouRisk.of(TRUE["sigma"], TRUE["lam"], TRUE["p_up"], TRUE["m_up"], TRUE["m_down"])
                   .mu_log_annual[0])
    r = kou_returns(int(20 * HOURS), TRUE["sigma"], TRUE["lam"], TRUE["p_up"], TRUE["m_up"], TRUE["m_down"],
                    mu_log, seed=3)
    assert_kou_recovered(fit_kou(r, 1.0, match_variance=match_variance).params(), TRUE, rel_sigma=0.06, rel_lam=0.3,
                         abs_p_up=0.12, rel_means=0.25)


def test_fitted_drift_is_the_compensator_and_matches_martingale_paths() -> None:
    """On martingale Kou paths the realised mean log return per year equals the fitted mu_log within 3 SE;
    the fitted mu_log equals -sigma^2/2 - lam zeta of the fitted parameters (a compensator, not an estimate)."""
    true = KouRisk.of(TRUE["sigma"], TRUE["lam"], TRUE["p_up"], TRUE["m_up"], TRUE["m_down"])
    r = kou_returns(int(20 * HOURS), TRUE["sigma"], TRUE["lam"], TRUE["p_up"], TRUE["m_up"], TRUE["m_down"],
                    float(true.mu_log_annual[0]), seed=5)
    k = fit_kou(r, 1.0).params()
    realised = r.mean() * HOURS
    se = r.std() * np.sqrt(HOURS) / np.sqrt(r.size / HOURS)
    assert abs(realised - k["mu_log_annual"]) < 3 * se
    p, e1, e2 = k["jump_p_up"], 1 / k["jump_mean_up"], 1 / k["jump_mean_down"]
    zeta = p * e1 / (e1 - 1) + (1 - p) * e2 / (e2 + 1) - 1
    assert k["mu_log_annual"] == pytest.approx(-k["sigma_annual"] ** 2 / 2 - k["jump_rate_annual"] * zeta,
                                               rel=1e-9)


def test_match_variance_keeps_total_variance_on_fat_tailed_diffusion() -> None:
    """Student-t hourly returns (no jumps, the shape of real bars): the plain fit counts hundreds of small jumps
    a year and its total variance overshoots; with match_variance the model's variance equals the sample's."""
    rng = np.random.default_rng(0)
    r = 0.005 * rng.standard_t(3, int(2 * HOURS)) / np.sqrt(3.0)
    for mv in (False, True):
        k = fit_kou(r, 1.0, match_variance=mv).params()
        total = (k["sigma_annual"] ** 2 + k["jump_rate_annual"] * (
            k["jump_p_up"] * 2 * k["jump_mean_up"] ** 2 + (1 - k["jump_p_up"]) * 2 * k["jump_mean_down"] ** 2))
        ratio = total / (r.var() * HOURS)
        if mv:
            assert ratio == pytest.approx(1.0, rel=0.02)
        else:
            assert k["jump_rate_annual"] > 300  # the diagnosis: the threshold fit reads fat tails as jumps
            assert ratio > 1.05
