"""Second-opinion checks of the lead's calibration and static solvers: realised vol window edges and
annualisation, the rolling-horizon funding estimator with a cadence switch and a gap, and both static
variants against brute force with an independent scipy closed form."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from basisctl.calibration.funding import kappa_tilde, rolling_carry
from basisctl.calibration.volatility import realised_vol
from basisctl.model.static import pi_liq, solve_alpha_econ, solve_alpha_risk

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _candles(closes: np.ndarray, hours: float) -> pd.DataFrame:
    ts = pd.date_range(T0, periods=closes.size, freq=f"{hours:g}h")
    return pd.DataFrame({"ts": ts, "open": closes, "high": closes, "low": closes, "close": closes, "volume": 1.0})


def test_realised_vol_window_and_annualisation_by_hand() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, 60)
    closes = 100 * np.exp(np.r_[0.0, np.cumsum(r)])  # bar k closes at (k + 1) * 4 h
    c = _candles(closes, 4.0)
    end = T0 + pd.Timedelta(hours=4 * 41)  # bars 0..40 have closed by `end`; bar 41 closes after it
    est = realised_vol(c, end, lookback_days=5.0, interval_hours=4.0)  # window [end - 120 h, end)
    # first bar of the window opens at end - 120 h = bar 11; returns bar 11 -> 12, ..., 39 -> 40
    first, last = 11, 40
    ref = np.std(np.diff(np.log(closes[first:last + 1])), ddof=1) * math.sqrt(8760 / 4)
    assert est.n_returns == last - first and est.expected_returns == 29
    assert est.sigma_annual == pytest.approx(ref, rel=1e-12)
    # a shock in a bar that closes after `end` changes nothing (no look-ahead)
    c2 = c.copy()
    c2.loc[41:, "close"] *= 3.0
    assert realised_vol(c2, end, 5.0, 4.0).sigma_annual == est.sigma_annual


def test_rolling_carry_cadence_switch_and_gap() -> None:
    # 8h rows at 00, 08, 16 (day 0) then hourly from 17:00; one hourly row missing at 30:00
    eight = pd.DataFrame({"ts": [T0, T0 + pd.Timedelta(hours=8), T0 + pd.Timedelta(hours=16)],
                          "rate": [8e-4, 8e-4, 8e-4], "interval_hours": 8.0})
    hourly_ts = [T0 + pd.Timedelta(hours=h) for h in range(17, 60) if h != 30]
    hourly = pd.DataFrame({"ts": hourly_ts, "rate": [1e-4 * (h % 3 + 1) for h in range(17, 60) if h != 30],
                           "interval_hours": 1.0})
    f = pd.concat([eight, hourly], ignore_index=True)
    carry = rolling_carry(f, 24.0)
    # a 24h window (t - 24, t] is complete iff it holds no straddling row and no hole
    idx_h = [int((t - T0) / pd.Timedelta(hours=1)) for t in carry.index]
    # by hand: (-8, 16] = three 8h rows; (0, 24] = rows 8, 16 and hours 17..24; (30, 54] .. (35, 59] hourly.
    # (9, 33] sums to 24 h only because the straddling 8h row (8, 16] offsets the missing hour 30: excluded.
    assert idx_h == [16, 24, 54, 55, 56, 57, 58, 59]
    hr = {h: 1e-4 * (h % 3 + 1) for h in range(17, 60)}
    assert carry.iloc[0] == pytest.approx(24e-4, rel=1e-12)
    assert carry.iloc[1] == pytest.approx(16e-4 + sum(hr[h] for h in range(17, 25)), rel=1e-12)
    assert carry.iloc[2] == pytest.approx(sum(hr[h] for h in range(31, 55)), rel=1e-12)
    # kappa over a sample ending at 57:00 uses only windows ending <= 57:00 and starting >= sample start
    k = kappa_tilde(f, 24.0, T0 + pd.Timedelta(hours=57), lookback_days=57 / 24)
    # the row at T0 is outside (T0, end], so (-8, 16] is incomplete: windows 24, 54..57
    assert k.n_windows == 5 and k.kappa == pytest.approx(float(carry.iloc[1:6].mean()), rel=1e-12)


def _pi(alpha: float, sigma: float, theta: float, h: float, mu: float = 0.0) -> float:
    b = math.log(1.0 / ((1.0 + theta) * (1.0 - alpha)))
    if b <= 0:
        return 1.0
    nu = mu - 0.5 * sigma**2
    s = sigma * math.sqrt(h)
    up = stats.norm.cdf((-b + nu * h) / s)
    return float(up + math.exp(2 * nu * b / sigma**2) * stats.norm.cdf((-b - nu * h) / s))


@pytest.mark.parametrize("sigma,theta,mu", [(0.75, 0.0125, 0.0), (1.2, 0.05, 0.5)])
def test_static_variants_against_brute_force(sigma: float, theta: float, mu: float) -> None:
    h, eps, kappa, lgd = 1 / 365, 1e-3, 1.7e-4, 0.1
    grid = np.arange(1, 100_000) / 100_000.0  # 1e-5 grid in alpha
    pis = np.array([_pi(a, sigma, theta, h, mu) for a in grid])
    a_risk_bf = grid[np.argmax(pis <= eps)]  # first grid alpha meeting the budget
    a_risk = float(solve_alpha_risk(sigma, theta, h, eps, mu))
    assert a_risk_bf - 1e-5 <= a_risk <= a_risk_bf + 1e-10
    assert _pi(a_risk, sigma, theta, h, mu) == pytest.approx(eps, rel=1e-6)
    assert float(pi_liq(a_risk, sigma, theta, h, mu)) == pytest.approx(eps, rel=1e-6)
    j = (1 - grid) * kappa - lgd * pis
    a_econ_bf = grid[np.argmax(j)]
    a_econ = float(solve_alpha_econ(sigma, theta, h, kappa, lgd, 1.0, mu))
    assert a_econ == pytest.approx(a_econ_bf, abs=2e-5)
    assert (1 - a_econ) * kappa - lgd * _pi(a_econ, sigma, theta, h, mu) >= j.max() - 1e-12
