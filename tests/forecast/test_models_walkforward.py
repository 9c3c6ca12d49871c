"""Daily panel, the four forecasters and the walk-forward: hand values, recovery of known coefficients, and no
look-ahead (forecasts at an origin are unchanged when everything after it is perturbed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.forecast import DecisionSpec, daily_funding, evaluate, funding_panel, make_model, walk_forward
from basisctl.forecast.panel import Past, future_mean
from tests.skips import need_extra

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _hourly(daily: np.ndarray) -> pd.DataFrame:
    """Hourly settlements whose daily sums are ``daily`` [decimal per day]."""
    ts = pd.date_range(T0 + pd.Timedelta(hours=1), periods=24 * daily.size, freq="1h")
    return pd.DataFrame({"ts": ts, "rate": np.repeat(daily / 24.0, 24), "interval_hours": 1.0})


def test_daily_funding_sums_days_and_leaves_incomplete_days_unknown() -> None:
    f = _hourly(np.array([24e-4, 48e-4, 12e-4]))
    f = f.drop(index=30)  # one hour missing on day 2
    d = daily_funding(f)
    assert d.iloc[0] == pytest.approx(24e-4) and np.isnan(d.iloc[1]) and d.iloc[2] == pytest.approx(12e-4)
    # 8-hourly settlements at 00/08/16: the 00:00 one closes the previous day
    ts = pd.date_range(T0 + pd.Timedelta(hours=8), periods=6, freq="8h")
    g = daily_funding(pd.DataFrame({"ts": ts, "rate": [1, 2, 3, 4, 5, 6], "interval_hours": 8.0}))
    assert g.tolist() == [6.0, 15.0]


def test_future_mean_hand() -> None:
    y = future_mean(np.array([1.0, 2.0, 3.0, np.nan, 5.0, 6.0]), 2)
    np.testing.assert_allclose(y[:2], [2.5, np.nan])  # days 1-2 mean 2.5; days 2-3 include an unknown day
    assert np.isnan(y[2]) and y[3] == 5.5 and np.isnan(y[4]) and np.isnan(y[5])


def test_rolling_mean_and_ewma_by_hand() -> None:
    x = np.arange(1.0, 201.0) * 1e-5
    past = Past({"funding": x}, 200)
    rm = make_model("rolling_mean")
    assert rm.predict(past, 14) == pytest.approx(np.mean(x[-180:]))
    ew = make_model("ewma")
    w = 0.5 ** (np.arange(70)[::-1] / 7.0)
    assert ew.predict(past, 14) == pytest.approx(np.sum(w * x[-70:]) / w.sum())
    assert np.isnan(rm.predict(past.upto(100), 14))  # fewer than 180 days


def test_har_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(3)
    n, h = 900, 7
    x = rng.normal(1e-3, 5e-4, n)
    f = _hourly(x)
    panel = funding_panel(f)
    # target: mean of the next h days; on iid data the OLS slope on the last day is ~0, intercept ~ the mean
    m = make_model("har")
    m.fit(Past.of(panel), h)
    beta = m.beta  # type: ignore[attr-defined]
    assert beta[0] + 1e-3 * beta[1:].sum() == pytest.approx(1e-3, abs=1e-4)
    # an exactly linear world: y_{d,h} = 0.5 x_d + 0.5 m30 is recovered when the data are built that way
    y = np.zeros(n)
    y[:40] = 1e-3
    for d in range(40, n):
        y[d] = 1e-3 * (1 + 0.5 * np.sin(d / 20.0))
    pan = funding_panel(_hourly(y))
    m2 = make_model("har")
    m2.fit(Past.of(pan), 1)
    pred = m2.predict(Past.of(pan).upto(600), 1)
    assert pred == pytest.approx(y[600], rel=0.05)


@pytest.mark.parametrize("name", ["rolling_mean", "ewma", "har"])
def test_no_look_ahead(name: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(1e-3, 5e-4, 400)
    k = 250
    y = x.copy()
    y[k + 1:] = rng.normal(-5e-3, 1e-3, y.size - k - 1)
    a = walk_forward(funding_panel(_hourly(x)), [make_model(name)], 14)
    b = walk_forward(funding_panel(_hourly(y)), [make_model(name)], 14)
    np.testing.assert_array_equal(a.forecasts[name][: k + 1], b.forecasts[name][: k + 1])
    assert not np.allclose(a.forecasts[name][k + 30:], b.forecasts[name][k + 30:], equal_nan=True)


@pytest.mark.needs_extra
def test_gbm_no_look_ahead_and_weekly_refit() -> None:
    need_extra("sklearn", "ml")
    rng = np.random.default_rng(2)
    x = rng.normal(1e-3, 5e-4, 260)
    k = 200
    y = x.copy()
    y[k + 1:] = -1e-2
    a = walk_forward(funding_panel(_hourly(x)), [make_model("gbm")], 7)
    b = walk_forward(funding_panel(_hourly(y)), [make_model("gbm")], 7)
    np.testing.assert_array_equal(a.forecasts["gbm"][: k + 1], b.forecasts["gbm"][: k + 1])
    assert a.refit_every_days["gbm"] == 7 and a.n_fits["gbm"] == int(np.ceil((260 - 29) / 7))
    assert a.fit_seconds["gbm"] > 0


def test_evaluate_metrics_by_hand() -> None:
    """Two origins' worth of arithmetic checked against an explicit loop."""
    rng = np.random.default_rng(5)
    x = rng.normal(2e-4, 3e-4, 500)
    wf = walk_forward(funding_panel(_hourly(x)), [make_model("rolling_mean"), make_model("ewma")], 14)
    spec = DecisionSpec(alpha=0.25, cost_bps=20.0, hurdle_apr=0.01, holding_days=14)
    alt = np.full(len(wf.days), 0.03)
    res = {r.model: r for r in evaluate(wf, "X", "v", spec, alt)}
    ok = wf.common(["rolling_mean", "ewma"])
    f, y = wf.forecasts["ewma"][ok], wf.realised[ok]
    assert res["ewma"].n_origins == ok.sum()
    assert res["ewma"].mae == pytest.approx(np.mean(np.abs(f - y)) * 365)
    cost = 2 * 20e-4 * 0.75 * 365 / 14
    dec_f = 0.75 * 365 * f - cost - 0.03 - 0.01 > 0
    dec_y = 0.75 * 365 * y - cost - 0.03 - 0.01 > 0
    assert res["ewma"].decision_accuracy == pytest.approx(np.mean(dec_f == dec_y))
    assert res["ewma"].sign_accuracy == pytest.approx(np.mean(np.sign(f) == np.sign(y)))
    assert res["ewma"].smape == pytest.approx(np.mean(2 * np.abs(f - y) / (np.abs(f) + np.abs(y))))
    assert res["rolling_mean"].dm_p_vs_rolling_mean is None
    assert 0 <= res["ewma"].dm_p_vs_rolling_mean <= 1  # type: ignore[operator]
