"""The regime rule's fast path (``basisctl.regime.fast``) equals the reference segment runner (``run_regime``) and
the compiled forecasts equal the per-origin walk-forward: synthetic, simulated (block-bootstrapped regime-switching
funding, many entries and exits) and real paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, CostModel
from basisctl.forecast.panel import daily_funding
from basisctl.forecast.vectorised import daily_funding_arrays
from basisctl.regime import AltYield, RegimeParams, forecast_series, run_regime
from basisctl.regime.fast import fast_forecast_series, run_regime_fast
from basisctl.regime.rule import RegimeResult
from basisctl.study.generators import switching_funding_level
from tests.backtest._bt_synth import T0, make_data, make_rule

CFG = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())


def _same(a: RegimeResult, b: RegimeResult) -> None:
    np.testing.assert_allclose(a.nav, b.nav, rtol=1e-12, atol=0)
    assert (a.in_trade == b.in_trade).all()
    assert [(s.first_bar, s.last_bar, s.closed) for s in a.segments] == \
           [(s.first_bar, s.last_bar, s.closed) for s in b.segments]
    for sa, sb in zip(a.segments, b.segments, strict=True):
        for f in ("capital_in", "nav_end", "exit_cost", "funding_usd", "trade_costs_usd", "idle_usd",
                  "liquidation_loss_usd"):
            assert getattr(sa, f) == pytest.approx(getattr(sb, f), rel=1e-12, abs=1e-9), f
        np.testing.assert_array_equal(sa.actions, sb.actions)
        np.testing.assert_allclose(sa.components, sb.components, rtol=1e-12, atol=1e-9)
    for f in ("transfer_fees_usd", "alt_yield_usd", "idle_yield_usd"):
        assert getattr(a, f) == pytest.approx(getattr(b, f), rel=1e-12, abs=1e-9), f
    if len(b.decisions):
        pd.testing.assert_frame_equal(a.decisions.reset_index(drop=True), b.decisions.reset_index(drop=True),
                                      rtol=1e-12)


def _switching_funding(days: int, seed: int, start: pd.Timestamp) -> pd.DataFrame:
    """Hourly funding in 10-40-day regimes of +2 / -0.5 / +0.3 bp per hour, with noise (crosses any hurdle)."""
    rng = np.random.default_rng(seed)
    n = days * 24
    level = switching_funding_level(rng, n)
    ts = pd.date_range(start, periods=n, freq="1h") + pd.Timedelta(hours=1)
    return pd.DataFrame({"ts": ts, "rate": level + 3e-5 * rng.standard_normal(n), "interval_hours": 1.0})


def test_daily_funding_arrays_equal_the_pandas_aggregation() -> None:
    f = _switching_funding(60, 1, T0 - pd.Timedelta(hours=5))
    f = f.drop(index=[100, 101, 700]).reset_index(drop=True)  # gaps: those days are NaN, never filled
    ref = daily_funding(f)
    d0, got = daily_funding_arrays(pd.DatetimeIndex(f["ts"]).as_unit("ns").asi8, f["rate"].to_numpy(),
                                   f["interval_hours"].to_numpy())
    assert d0 == ref.index[0].value
    np.testing.assert_allclose(got, ref.to_numpy(), rtol=1e-13, atol=0)
    assert (np.isnan(got) == ref.isna().to_numpy()).all()
    assert np.isnan(got[1:-1]).sum() == 3  # rows 100|101 straddle a midnight, 700: three days (ends partial)


@pytest.mark.parametrize("model", ["rolling_mean", "ewma"])
def test_compiled_forecasts_equal_the_walk_forward(model: str) -> None:
    f = _switching_funding(400, 2, T0)
    f = f.drop(index=range(5000, 5030)).reset_index(drop=True)
    p = RegimeParams(model=model, min_history_days=30)
    ref, got = forecast_series(f, p), fast_forecast_series(f, p)
    assert (ref.index == got.index).all()
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-12, atol=1e-18)
    assert np.isfinite(ref.to_numpy()).sum() > 100


def _synth(days: int, seed: int) -> tuple:
    f = _switching_funding(days + 60, seed, T0 - pd.Timedelta(days=60))
    rng = np.random.default_rng(seed + 100)
    close = 100.0 * np.exp(np.cumsum(0.004 * rng.standard_normal(days * 24)))
    rate = f.set_index("ts")["rate"].reindex(pd.date_range(T0, periods=days * 24, freq="1h")).fillna(0.0)
    return make_data(close, rate=rate.to_numpy()), f


CASES = {
    "daily, no delay": dict(min_hold_hours=0.0, hysteresis_apr=0.0),
    "delay and fees": dict(min_hold_hours=72.0, transfer_fee_bps=5.0, transfer_fee_usd=10.0,
                           transfer_delay_hours=7.0),
    "long delay, 8 h cadence": dict(min_hold_hours=24.0, decide_every_hours=8.0, exit_within_hours=24.0,
                                    transfer_delay_hours=30.0, transfer_fee_usd=3.0),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", [3, 4])
def test_fast_runner_equals_the_reference_on_switching_funding(case: str, seed: int) -> None:
    data, f = _synth(240, seed)
    p = RegimeParams(model="ewma", **CASES[case])  # type: ignore[arg-type]
    fc = forecast_series(f, p)
    alt = AltYield.constant(0.06)
    ref = run_regime(data, make_rule(), CostModel.fixed(20.0), CFG, fc, alt, p, idle_apr=0.01)
    got = run_regime_fast(data, make_rule(), CostModel.fixed(20.0), CFG, fc, alt, p, idle_apr=0.01)
    assert ref.exits >= 2  # the case exercises in/out switches
    _same(got, ref)


def test_fast_runner_equals_the_reference_with_a_rate_series(tmp_path) -> None:
    """A rate series that starts mid-window (the constant before it) and changes daily."""
    data, f = _synth(150, 5)
    days = pd.date_range(T0 + pd.Timedelta(days=40), periods=200, freq="1D")
    csv = tmp_path / "r.csv"
    pd.DataFrame({"timestamp": days.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "apy": 0.05 + 0.10 * np.random.default_rng(0).random(days.size)}).to_csv(csv, index=False)
    from basisctl.regime import read_rate_series

    alt = read_rate_series(csv, fallback_apr=0.05)
    p = RegimeParams(model="ewma", min_hold_hours=0.0, hysteresis_apr=0.0, transfer_delay_hours=2.0,
                     transfer_fee_usd=1.0)
    fc = forecast_series(f, p)
    ref = run_regime(data, make_rule(), CostModel.fixed(20.0), CFG, fc, alt, p)
    got = run_regime_fast(data, make_rule(), CostModel.fixed(20.0), CFG, fc, alt, p)
    assert ref.exits >= 1
    _same(got, ref)


def test_fast_equals_the_reference_on_simulated_study_paths() -> None:
    """The study's own simulated paths (block bootstrap of a world with regime-switching funding): the study's
    rows through the fast path equal the reference runner's, path by path."""
    from tests.skips import need_extra

    need_extra("arch", "study")
    from basisctl.backtest.rule import RuleSpec
    from basisctl.regime.params import RegimeParams as RP
    from basisctl.study.generators import history_from_frames
    from basisctl.study.regime_candidate import (
        RegimeStudy,
        path_forecast,
        path_forecast_reference,
        regime_row,
        run_sim_regime_chunk,
        segment_config,
        sim_data,
    )
    from basisctl.study.simulate import burn_in_frames, burn_in_rules, draw_test_path, sim_setup
    from tests.study.worlds import START, gbm_frames

    days = 540
    c, _ = gbm_frames(("BTC",), days, 0.5, 7, 1e-4)
    f = _switching_funding(days, 8, START - pd.Timedelta(hours=1))
    f = f[f["ts"] <= START + pd.Timedelta(days=days)]
    h = history_from_frames(c, {"BTC": f}, START + pd.Timedelta(days=days))
    cfg = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())
    fb = burn_in_frames(h, 0, "fhs", 180, 30, 11)
    rules, p0, _ = burn_in_rules(h, 0, "fhs", ["paper"], 180, 30, 11, 20.0, cfg, RuleSpec(), "fhs", frames=fb)
    s = sim_setup(h, 0, "fhs", rules, ["paper"], p0, 0.5, 30, 11, 20.0, (np.zeros(0), np.zeros(0)), cfg)
    rs = RegimeStudy(RP(model="ewma", min_hold_hours=24.0, hysteresis_apr=0.0, transfer_fee_usd=1.0,
                        transfer_delay_hours=1.0), "paper", 0.08)
    rule = rules["paper"]
    fast_rows = run_sim_regime_chunk(s, [0, 1, 2], rule, fb[1], rs, cfg)
    start = pd.Timestamp(fb[1]["ts"].iloc[-1]) + pd.Timedelta(hours=1)
    exits = 0
    for i, fast in zip([0, 1, 2], fast_rows, strict=True):
        data = sim_data("BTC", start, *draw_test_path(s, i))
        fc_ref = path_forecast_reference(fb[1], data, rs.params)
        np.testing.assert_allclose(path_forecast(fb[1], data, rs.params).to_numpy(), fc_ref.to_numpy(),
                                   rtol=1e-12, atol=1e-18)
        ref = run_regime(data, rule, CostModel.fixed(20.0), segment_config(cfg), fc_ref,
                         AltYield.constant(0.08), rs.params)
        exits += ref.exits
        want = regime_row(ref, data, rule.alpha_target)
        assert fast.keys() == want.keys()
        for k, v in want.items():
            assert fast[k] == pytest.approx(v, rel=1e-12, abs=1e-12), (i, k)
    assert exits >= 3


def test_fast_equals_the_reference_on_a_real_window() -> None:
    from tests.datadir import data_dir, require

    d = data_dir()
    require(None if d is None else d / "funding/binance", "the data dir's Binance funding")
    from basisctl.backtest.data import load_funding_stream, prepare

    data = prepare("BTC", "2024-03-01", "2024-09-01", prices_venue="binance", funding_venue="binance")
    funding = load_funding_stream("BTC", "binance")[0]
    p = RegimeParams(model="ewma", min_hold_hours=0.0, hysteresis_apr=0.0, transfer_fee_usd=1.0,
                     transfer_delay_hours=1.0)
    fc = forecast_series(funding, p)
    np.testing.assert_allclose(fast_forecast_series(funding, p).to_numpy(), fc.to_numpy(), rtol=1e-12,
                               atol=1e-18)
    alt = AltYield.constant(0.12)  # high enough that 2024's funding crosses it
    costs = CostModel.fixed(20.0)
    ref = run_regime(data, make_rule(), costs, BacktestConfig(), fc, alt, p, idle_apr=0.0)
    got = run_regime_fast(data, make_rule(), costs, BacktestConfig(), fc, alt, p, idle_apr=0.0)
    assert ref.exits >= 1
    _same(got, ref)


def test_fast_equals_the_reference_on_the_done_when_scenarios() -> None:
    """The hand-checked scenarios of test_regime_rule.py (drop to zero with fees and a 6 h transfer, constant
    carry, capital arriving into a negative forecast) give the same result through the fast path."""
    from tests.forecast import test_regime_rule as t

    cases = []
    data, funding = t._synthetic(drop=True)
    cases.append((data, t._persistence(funding), RegimeParams(
        exit_within_hours=24, decide_every_hours=24, min_hold_hours=72, transfer_fee_bps=5.0, transfer_fee_usd=10.0,
        transfer_delay_hours=6.0)))
    cases.append((data, t._persistence(funding), RegimeParams(exit_within_hours=48, min_hold_hours=1e6)))
    data2, funding2 = t._synthetic(drop=False)
    cases.append((data2, t._persistence(funding2), RegimeParams(transfer_fee_bps=5.0, transfer_delay_hours=6.0)))
    days = pd.date_range(T0 - pd.Timedelta(days=1), periods=t.DAYS + 2, freq="1D")
    k = np.full(days.size, -1e-3)
    k[(days >= T0 + pd.Timedelta(days=5)) & (days < T0 + pd.Timedelta(days=6))] = 24 * t.R
    cases.append((data2, pd.Series(k, index=days), RegimeParams(min_hold_hours=0, transfer_delay_hours=24,
                                                                  transfer_fee_usd=10.0)))
    for d, fc, p in cases:
        ref = run_regime(d, make_rule(), t.COSTS, t.CFG, fc, AltYield.constant(0.05), p)
        got = run_regime_fast(d, make_rule(), t.COSTS, t.CFG, fc, AltYield.constant(0.05), p)
        _same(got, ref)
