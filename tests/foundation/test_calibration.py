"""Calibration against hand calculations and synthetic series with known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.calibration.funding import funding_window_stats, kappa_tilde, rolling_carry
from basisctl.calibration.inputs import calibrate_sigma
from basisctl.calibration.volatility import realised_vol
from basisctl.data import locator
from basisctl.errors import DataCoverageError

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def candles(close: np.ndarray, hours: float, start: pd.Timestamp = T0) -> pd.DataFrame:
    ts = start + pd.to_timedelta(np.arange(close.size) * hours, unit="h")
    return pd.DataFrame({"ts": ts, "open": close, "high": close, "low": close, "close": close})


def funding(rates: np.ndarray, hours: float, start: pd.Timestamp = T0) -> pd.DataFrame:
    ts = start + pd.to_timedelta((np.arange(rates.size) + 1) * hours, unit="h")
    return pd.DataFrame({"ts": ts, "rate": rates, "interval_hours": float(hours)})


def test_realised_vol_hand_calculation():
    close = np.array([100.0, 101.0, 99.0, 102.0, 102.5])
    c = candles(close, 1.0)
    r = np.diff(np.log(close))
    expected = np.std(r, ddof=1) * np.sqrt(8760)
    est = realised_vol(c, T0 + pd.Timedelta(hours=5), 5 / 24, 1.0)
    assert est.sigma_annual == pytest.approx(expected)
    assert est.n_returns == 4


def test_returns_across_gaps_are_skipped_not_filled():
    close = np.array([100.0, 101.0, 99.0, 150.0, 151.0, 150.5])
    c = candles(close, 1.0).drop(index=[3]).reset_index(drop=True)  # bar 3 missing
    est = realised_vol(c, T0 + pd.Timedelta(hours=6), 0.25, 1.0)
    r = np.diff(np.log(np.array([100.0, 101.0, 99.0])))
    r = np.concatenate([r, np.diff(np.log(np.array([151.0, 150.5])))])
    assert est.n_returns == 3
    assert est.sigma_annual == pytest.approx(np.std(r, ddof=1) * np.sqrt(8760))


@pytest.mark.parametrize("bar_hours", [1.0, 4.0])
def test_annualisation_recovers_known_sigma_for_hourly_and_4h_bars(bar_hours):
    rng = np.random.default_rng(3)
    sigma = 0.6
    n = int(2 * 8760 / bar_hours)
    r = sigma * np.sqrt(bar_hours / 8760) * rng.standard_normal(n)
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    est = realised_vol(candles(close, bar_hours), T0 + pd.Timedelta(days=800), 800, bar_hours)
    assert est.sigma_annual == pytest.approx(sigma, rel=4 / np.sqrt(2 * n))


def test_no_look_ahead_bars_closing_after_asof_are_ignored():
    close = np.array([100.0, 101.0, 99.0, 500.0])
    c = candles(close, 1.0)
    asof = T0 + pd.Timedelta(hours=3)  # bar opening at 3h closes at 4h > asof
    est = realised_vol(c, asof, 1.0, 1.0)
    assert est.n_returns == 2


def test_hourly_gap_falls_back_to_4h_series_and_says_so(gappy_hourly_data_dir):
    # hourly bars with a gap 2024-06-16 -> 2025-03-06: a window inside it must use 4h bars
    est = calibrate_sigma("BTC", "2025-01-01", 90)
    assert est.interval_hours == 4.0
    assert est.coverage > 0.99
    est = calibrate_sigma("BTC", "2026-03-10", 180)
    assert est.interval_hours == 1.0


def test_rolling_carry_hourly_and_8h_hand_calculation():
    hourly = funding(np.full(72, 1e-5), 1.0)
    carry = rolling_carry(hourly, 24.0)
    assert carry.size == 72 - 23
    assert np.allclose(carry.to_numpy(), 24e-5)
    eight = funding(np.array([1e-4, 2e-4, 3e-4, 4e-4]), 8.0)
    c8 = rolling_carry(eight, 24.0)
    assert np.allclose(c8.to_numpy(), [6e-4, 9e-4])


def test_rolling_carry_excludes_windows_with_gaps():
    f = funding(np.arange(1, 49) * 1e-6, 1.0).drop(index=[30]).reset_index(drop=True)
    carry = rolling_carry(f, 24.0)
    # windows ending at settlements 24..48 (hours); those containing hour 31 (index 30) are dropped
    ends = (carry.index - T0) / pd.Timedelta(hours=1)
    assert not any((e - 24 < 31 <= e) for e in ends)
    assert carry.iloc[0] == pytest.approx(sum(range(1, 25)) * 1e-6)


def test_mixed_cadence_windows_respect_accrual():
    # 8h rows then hourly rows (Hyperliquid before/after 2023-06-08): a 24h window straddling the switch
    eight = funding(np.array([8e-5, 8e-5, 8e-5]), 8.0)
    hourly = funding(np.full(24, 1e-5), 1.0, start=T0 + pd.Timedelta(hours=24))
    carry = rolling_carry(pd.concat([eight, hourly], ignore_index=True), 24.0)
    assert np.allclose(carry.to_numpy(), 24e-5)
    # an 8h row accruing over (0, 8] cannot be split, so only windows aligned with its edges are complete:
    # (0, 24], (8, 32], (16, 40], (24, 48]
    ends = list((carry.index - T0) / pd.Timedelta(hours=1))
    assert ends == [24, 32, 40, 48]


def test_kappa_tilde_is_the_mean_of_window_sums_and_coverage_is_reported():
    rates = np.r_[np.full(24 * 10, 1e-5), np.full(24 * 10, 3e-5)]
    f = funding(rates, 1.0)
    k = kappa_tilde(f, 24.0, T0 + pd.Timedelta(days=20), 20)
    expected = rolling_carry(f, 24.0).mean()
    assert k.kappa == pytest.approx(expected)
    assert k.days_covered == pytest.approx(20.0)
    with pytest.raises(DataCoverageError):
        kappa_tilde(f, 24.0, T0 - pd.Timedelta(days=1), 5)


def test_funding_window_stats_hand_calculation_on_8h_stream():
    rates = np.tile([1e-4, -2e-4, 4e-4], 30)  # every 24h window sums to 3e-4
    f = funding(rates, 8.0)
    s = funding_window_stats(f, T0 + pd.Timedelta(days=30), (30.0,))[0]
    assert s.mean == pytest.approx(3e-4 * 365)
    assert s.share_positive == 1.0


@pytest.mark.needs_data
def test_binance_interest_component_scale():
    # sanity on shipped data: Binance's 0.01%/8h interest floor -> typical 1-day carry about 3 bps
    k = kappa_tilde(locator.load_funding("binance", "BTC"), 24.0, "2023-12-31", 360)
    assert 0.5e-4 < k.kappa < 4e-4
