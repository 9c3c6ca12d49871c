"""Issue 23 done-when: the regime rule exits within H hours when funding drops to zero and earns the alternative
yield afterwards (NAV checked by hand); constant carry above the hurdle makes 0 exits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, CostModel, run_backtest
from basisctl.forecast.panel import daily_funding
from basisctl.regime import AltYield, RegimeParams, forecast_series, regime_schedule, run_regime
from tests.backtest._bt_synth import T0, make_data, make_rule

R = 1e-4  # funding per hour [decimal]
DAYS = 120
DROP_DAY = 60


def _synthetic(drop: bool) -> tuple:
    n = DAYS * 24
    rate = np.full(n, R)
    if drop:
        ts = pd.date_range(T0, periods=n, freq="1h")
        rate[ts > T0 + pd.Timedelta(days=DROP_DAY)] = 0.0
    data = make_data(np.full(n, 100.0), rate=rate)
    funding = pd.DataFrame({"ts": pd.date_range(T0 - pd.Timedelta(days=40), periods=(DAYS + 40) * 24, freq="1h")
                            + pd.Timedelta(hours=1)})
    funding["rate"] = np.where(funding["ts"] > T0 + pd.Timedelta(days=DROP_DAY), 0.0 if drop else R, R)
    funding["interval_hours"] = 1.0
    return data, funding


def _persistence(funding: pd.DataFrame) -> pd.Series:
    """Forecast = the last complete day's funding, known at the end of that day [decimal per day]."""
    d = daily_funding(funding)
    return pd.Series(d.to_numpy(), index=d.index + pd.Timedelta(days=1))


CFG = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())
COSTS = CostModel.fixed(20.0)


def test_drop_to_zero_exits_within_h_and_earns_the_alt_yield_hand_nav() -> None:
    data, funding = _synthetic(drop=True)
    p = RegimeParams(exit_within_hours=24, decide_every_hours=24, min_hold_hours=72, transfer_fee_bps=5.0,
                     transfer_fee_usd=10.0, transfer_delay_hours=6.0)
    alt = AltYield.constant(0.05)
    res = run_regime(data, make_rule(), COSTS, CFG, _persistence(funding), alt, p)
    assert res.entries == 1 and res.exits == 1
    cross = res.decisions.loc[res.decisions["margin_apr"] < 0, "ts"].iloc[0]
    assert cross == T0 + pd.Timedelta(days=DROP_DAY + 1)  # the first zero day ends
    (exit_t,) = res.exit_times()
    assert pd.Timedelta(0) <= exit_t - cross <= pd.Timedelta(hours=p.exit_within_hours)
    # hand NAV: 8,000 units short at 100 (alpha 0.2 of 1e6), entry 20 bps of 800k, 1,440 hourly settlements of
    # 8,000 x 1e-4 x 100 = 80 USD, exit 20 bps of 800k, transfer 5 bps + 10 USD, 6 h in transit, then 5 % APR
    seg_end = 1e6 - 1600.0 + 1440 * 80.0
    assert res.segments[0].nav_end == pytest.approx(seg_end - 1600.0, abs=1e-6)
    cash = (seg_end - 1600.0) * (1 - 5e-4) - 10.0
    yrs = (DAYS - (DROP_DAY + 1) - 0.25) / 365.0
    assert res.nav[-1] == pytest.approx(cash * math.exp(0.05 * yrs), rel=1e-12)
    assert res.alt_yield_usd == pytest.approx(cash * (math.exp(0.05 * yrs) - 1.0), rel=1e-9)
    # in transit the capital earns nothing; afterwards it compounds at the alt yield
    i_exit = (DROP_DAY + 1) * 24
    assert res.nav[i_exit] == pytest.approx(cash, rel=1e-15)  # bar closing 1 h after the exit: in transit
    assert not res.in_trade[i_exit:].any() and res.in_trade[:i_exit].all()
    m = res.metrics()
    assert m["exits"] == 1 and m["ret_transfer_fees"] == pytest.approx(-((seg_end - 1600.0) * 5e-4 + 10.0) / 1e6)


def test_min_hold_cannot_delay_the_exit_beyond_h() -> None:
    data, funding = _synthetic(drop=True)
    p = RegimeParams(exit_within_hours=48, decide_every_hours=24, min_hold_hours=1e6)
    res = run_regime(data, make_rule(), COSTS, CFG, _persistence(funding), AltYield.constant(0.05), p)
    cross = res.decisions.loc[res.decisions["margin_apr"] < 0, "ts"].iloc[0]
    (exit_t,) = res.exit_times()
    assert exit_t - cross == pd.Timedelta(hours=48)


def test_constant_carry_above_the_hurdle_never_exits_and_equals_the_plain_backtest() -> None:
    data, funding = _synthetic(drop=False)
    p = RegimeParams(transfer_fee_bps=5.0, transfer_delay_hours=6.0)
    res = run_regime(data, make_rule(), COSTS, CFG, _persistence(funding), AltYield.constant(0.05), p)
    assert res.exits == 0 and res.entries == 1 and res.in_trade.all()
    plain = run_backtest(data, make_rule(), COSTS, CFG)
    np.testing.assert_allclose(res.nav, plain.nav, rtol=0, atol=1e-8)
    assert res.transfer_fees_usd == 0.0


def test_constant_carry_with_a_real_model_forecast_never_exits() -> None:
    data, funding = _synthetic(drop=False)
    for model in ("rolling_mean", "ewma", "har"):
        p = RegimeParams(model=model, min_history_days=30)
        res = run_regime(data, make_rule(), COSTS, CFG, forecast_series(funding, p), AltYield.constant(0.05), p)
        assert res.exits == 0, model


def test_drop_with_the_ewma_forecast_exits_within_h_of_its_crossing() -> None:
    data, funding = _synthetic(drop=True)
    p = RegimeParams(model="ewma", exit_within_hours=24, min_hold_hours=0)
    res = run_regime(data, make_rule(), COSTS, CFG, forecast_series(funding, p), AltYield.constant(0.05), p)
    assert res.exits == 1
    cross = res.decisions.loc[res.decisions["margin_apr"] < 0, "ts"].iloc[0]
    assert pd.Timedelta(0) <= res.exit_times()[0] - cross <= pd.Timedelta(hours=24)
    assert cross > T0 + pd.Timedelta(days=DROP_DAY)  # the forecast only learns of the drop after it happens
    # afterwards the capital earns the alternative yield: NAV grows at 5 % APR between the last two bars
    assert res.nav[-1] / res.nav[-2] == pytest.approx(math.exp(0.05 / 8760.0), rel=1e-12)


def test_schedule_hysteresis_and_nan() -> None:
    p = RegimeParams(hysteresis_apr=0.02, min_hold_hours=0, exit_within_hours=24)
    t = (np.arange(6) * 24 * 3.6e12).astype(np.int64)
    m = np.array([0.01, 0.03, 0.01, np.nan, -0.001, 0.05])
    # 0.01 < hysteresis: no entry; 0.03 enters; 0.01 and NaN hold; below 0 exits; 0.05 re-enters
    assert regime_schedule(t, m, p).tolist() == [0, 1, 0, 0, -1, 1]


def test_params_refuse_a_cadence_slower_than_h() -> None:
    with pytest.raises(ValueError, match="exit_within_hours"):
        RegimeParams(decide_every_hours=48, exit_within_hours=24)
    with pytest.raises(ValueError, match="model"):
        RegimeParams(model="oracle")


def test_capital_arriving_into_a_negative_forecast_holds_one_decision_then_leaves() -> None:
    """Out at the start, in on day 5 (24 h transfer), the forecast turns negative as the capital arrives on day 6:
    the position opens there, is held to the next decision and exits on day 7; fees on all three transfers."""
    data, _ = _synthetic(drop=False)
    days = pd.date_range(T0 - pd.Timedelta(days=1), periods=DAYS + 2, freq="1D")
    k = np.full(days.size, -1e-3)
    k[(days >= T0 + pd.Timedelta(days=5)) & (days < T0 + pd.Timedelta(days=6))] = 24 * R
    fc = pd.Series(k, index=days)
    p = RegimeParams(min_hold_hours=0, transfer_delay_hours=24, transfer_fee_usd=10.0)
    res = run_regime(data, make_rule(), COSTS, CFG, fc, AltYield.constant(0.05), p)
    assert res.entries == 1 and res.exits == 1
    seg = res.segments[0]
    assert (seg.first_bar, seg.last_bar) == (6 * 24, 7 * 24 - 1)
    assert res.transfer_fees_usd == pytest.approx(30.0)
    acts = res.decisions.set_index("ts")["action"]
    assert acts[T0] == "transfer_out" and acts[T0 + pd.Timedelta(days=5)] == "transfer_in"
    assert acts[T0 + pd.Timedelta(days=7)] == "exit"
