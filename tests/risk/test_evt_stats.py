"""EVT fit vs scipy's genpareto MLE and brute-force excursions; Kupiec/Christoffersen vs hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import genpareto

from basisctl.risk import ModelFitError
from basisctl.risk.evt import excursions, fit_evt, fit_evt_sample, gpd_mle
from basisctl.risk.stats import christoffersen_lr, christoffersen_p, kupiec_lr, kupiec_p, transitions
from tests.risk.synth import candles


@pytest.mark.parametrize("xi", [-0.2, 0.0, 0.3, 0.7])
def test_gpd_mle_reaches_scipys_maximum_likelihood(xi: float) -> None:
    y = genpareto.rvs(xi, scale=0.01, size=400, random_state=3)
    mine = gpd_mle(y)
    ref = genpareto.fit(y, floc=0)
    ll = lambda c, s: genpareto.logpdf(y, c, scale=s).sum()  # noqa: E731
    assert ll(*mine) >= ll(ref[0], ref[2]) - 1e-5
    assert mine[0] == pytest.approx(ref[0], abs=5e-3)


def test_excursions_match_brute_force_with_gaps() -> None:
    bars = candles(60, 0.5, seed=2)
    ts = bars.ts_ns.copy()
    ts[30:] += 3600 * 10**9  # a missing bar between 29 and 30
    from basisctl.risk.base import Bars

    b = Bars(ts, bars.close, bars.high, 1.0)
    m = excursions(b, 5.0)
    for i in range(len(b)):
        full = i >= 1 and i + 5 <= len(b) and ts[i + 4] - ts[i - 1] == 5 * 3600 * 10**9
        if full:
            assert m[i] == pytest.approx(math.log(b.high[i:i + 5].max() / b.close[i - 1]))
        else:
            assert np.isnan(m[i])


def test_evt_tail_probability_at_its_barrier_is_epsilon() -> None:
    x = np.random.default_rng(0).standard_t(4, 5000) * 0.01
    f = fit_evt_sample(x, 24.0)
    b = f.barrier_at([0.01, 0.001], 24.0)
    assert np.allclose(f.hit_prob(b, 24.0), [0.01, 0.001], rtol=1e-9)


def test_evt_refuses_a_handful_of_exceedances() -> None:
    bars = candles(24 * 20, 0.5, seed=1)
    with pytest.raises(ModelFitError, match=r"evt: too few exceedances .*h=24h \(\d+ above the 95% quantile of "
                                            r"\d+ windows in 480 bars of 1h.*need at least 30"):
        fit_evt(bars, 0, len(bars), 24.0)


def test_kupiec_matches_hand_computation() -> None:
    # n=10, x=2, p=0.1: -2[8 ln .9 + 2 ln .1 - 8 ln .8 - 2 ln .2] = 0.888060 (by hand, 6 digits)
    assert kupiec_lr(10, 2, 0.1) == pytest.approx(0.888060, abs=2e-6)
    assert kupiec_p(10, 2, 0.1) == pytest.approx(math.erfc(math.sqrt(0.888060 / 2)), abs=2e-6)
    # no breach in 100 at 1%: -2 * 100 ln 0.99 = 2.010067
    assert kupiec_lr(100, 0, 0.01) == pytest.approx(2.010067, abs=2e-6)
    assert kupiec_lr(100, 1, 0.01) == pytest.approx(0.0, abs=1e-12)


def test_christoffersen_matches_hand_computation() -> None:
    seq = [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
    assert transitions(seq) == (5, 1, 1, 2)
    # pi = 3/9, pi0 = 1/6, pi1 = 2/3: ll0 = 6 ln(2/3) + 3 ln(1/3) = -5.7286275,
    # ll1 = 5 ln(5/6) + ln(1/6) + ln(1/3) + 2 ln(2/3) = -4.6129100, LR = 2.231435
    assert christoffersen_lr(seq) == pytest.approx(2.231435, abs=2e-6)
    assert christoffersen_p(seq) == pytest.approx(math.erfc(math.sqrt(2.231435 / 2)), abs=2e-6)
    # alternating pattern with identical transition rates: no evidence of clustering
    assert christoffersen_lr([0, 0, 1, 1, 0, 0, 0, 1, 0, 0]) == pytest.approx(0.0, abs=1e-12)


def test_sorted_quantile_is_numpys_linear_quantile() -> None:
    from basisctl.risk.evt import sorted_quantile

    x = np.sort(np.random.default_rng(4).standard_normal(1001))
    q = np.array([0.0, 0.05, 0.5, 0.95, 0.999, 1.0])
    assert np.allclose(sorted_quantile(x, q), np.quantile(x, q), rtol=0, atol=1e-15)
