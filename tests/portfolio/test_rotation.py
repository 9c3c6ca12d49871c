"""Forecast-driven rotation with switching costs (issue 23): two venues whose carry switches half-way, NAV by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from basisctl.backtest import BacktestConfig, CostModel
from basisctl.forecast.panel import daily_funding
from basisctl.regime import AltYield, RegimeParams, run_regime
from basisctl.regime.rotation import Candidate, run_rotation
from tests.backtest._bt_synth import T0, make_data, make_rule

R = 1e-4  # funding per hour while a venue pays [decimal]
DAYS = 120
SWITCH_DAY = 60
CFG = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())
COSTS = CostModel.fixed(20.0)


def _venue(first_half: bool) -> Candidate:
    n = DAYS * 24
    ts = pd.date_range(T0, periods=n, freq="1h")
    late = ts > T0 + pd.Timedelta(days=SWITCH_DAY)
    rate = np.where(late, 0.0 if first_half else R, R if first_half else 0.0)
    fts = pd.date_range(T0 - pd.Timedelta(days=40), periods=(DAYS + 40) * 24, freq="1h") + pd.Timedelta(hours=1)
    flate = fts > T0 + pd.Timedelta(days=SWITCH_DAY)
    f = pd.DataFrame({"ts": fts, "rate": np.where(flate, 0.0 if first_half else R, R if first_half else 0.0),
                      "interval_hours": 1.0})
    d = daily_funding(f)  # persistence: the last complete day's funding, known at the end of that day
    fc = pd.Series(d.to_numpy(), index=d.index + pd.Timedelta(days=1))
    return Candidate("TST", "A" if first_half else "B", make_data(np.full(n, 100.0), rate=rate), make_rule(), COSTS,
                     CFG, fc)


P = RegimeParams(exit_within_hours=24, decide_every_hours=24, min_hold_hours=72, transfer_fee_bps=5.0,
                 transfer_fee_usd=10.0, transfer_delay_hours=6.0)


def test_carry_switching_venue_rotates_once_and_pays_every_switching_cost_by_hand() -> None:
    res = run_rotation([_venue(True), _venue(False)], AltYield.constant(0.05), P, 1e6)
    assert [(j, s.first_bar, s.last_bar, s.closed) for j, s in res.segments] == [
        (0, 6, SWITCH_DAY * 24 + 23, True),  # A from the wallet (6 h transfer) until the first zero day ends
        (1, (SWITCH_DAY + 1) * 24 + 6, DAYS * 24 - 1, False),  # B after the venue-to-venue transfer (6 h)
    ]
    assert res.transfers == 2
    acts = res.decisions.set_index("ts")["action"]
    assert acts[T0] == "enter TST/A" and acts[T0 + pd.Timedelta(days=SWITCH_DAY + 1)] == "switch to TST/B"
    assert (acts != "hold").sum() == 2
    # hand NAV: alpha 0.2, flat price 100: entry and exit 20 bps of the 0.8 C spot notional; each hourly
    # settlement pays 0.8 C R; transfers 5 bps + $10; nothing earned in transit
    c0 = 1e6
    c_a = c0 - (5e-4 * c0 + 10.0)
    n_a = SWITCH_DAY * 24 - 6  # settlements at bars 7 .. 1440 (bar 6's accrued in transit: not paid)
    p_a = c_a * (1 - 0.0016) + n_a * 0.8 * c_a * R - 0.0016 * c_a
    assert res.segments[0][1].nav_end == pytest.approx(p_a, rel=1e-12)
    c_b = p_a - (5e-4 * p_a + 10.0)
    n_b = DAYS * 24 - 1 - ((SWITCH_DAY + 1) * 24 + 6)  # bars 1471 .. 2879
    want = c_b * (1 - 0.0016) + n_b * 0.8 * c_b * R
    assert res.nav[-1] == pytest.approx(want, rel=1e-12)
    assert res.transfer_fees_usd == pytest.approx(c0 - c_a + p_a - c_b, rel=1e-12)
    # in transit the capital is flat: the bars of the wallet -> A and A -> B moves
    np.testing.assert_allclose(res.nav[:6], c_a, rtol=1e-15)
    i = (SWITCH_DAY + 1) * 24
    np.testing.assert_allclose(res.nav[i:i + 6], c_b, rtol=1e-12)
    assert (res.holding[:6] == -1).all() and (res.holding[6:i] == 0).all() and (res.holding[i + 6:] == 1).all()
    m = res.metrics()
    assert m["switches"] == 1 and m["transfers"] == 2 and m["time_out"] == pytest.approx(12 / (DAYS * 24))


def test_rotation_beats_staying_on_the_first_venue_only_by_the_carry_it_finds() -> None:
    """The single-venue regime rule on A leaves to the wallet when A stops paying; rotation goes to B instead and
    ends higher by B's carry less the extra switching costs."""
    a = _venue(True)
    rot = run_rotation([a, _venue(False)], AltYield.constant(0.05), P, 1e6)
    only_a = run_rotation([a], AltYield.constant(0.05), P, 1e6)
    assert [j for j, _ in only_a.segments] == [0] and only_a.segments[0][1].closed
    assert rot.nav[-1] > only_a.nav[-1] * (1 + 0.8 * R * 24 * 50)  # ~ 50 days of B's carry more
    # a one-candidate rotation that starts on the venue is the regime rule: same segment, same cash afterwards
    reg = run_regime(a.data, a.rule, COSTS, CFG, a.forecast, AltYield.constant(0.05), P)
    assert reg.segments[0].last_bar == only_a.segments[0][1].last_bar


def test_same_venue_asset_switch_moves_no_capital() -> None:
    a = _venue(True)
    b = _venue(False)
    b2 = Candidate("TS2", "A", b.data, b.rule, b.costs, b.cfg, b.forecast)  # the other asset on venue A
    res = run_rotation([a, b2], AltYield.constant(0.05), P, 1e6)
    assert res.transfers == 1  # only wallet -> A
    s0, s1 = res.segments[0][1], res.segments[1][1]
    assert s1.first_bar == s0.last_bar + 1  # no delay
    assert s1.capital_in == pytest.approx(s0.nav_end, rel=1e-15)  # no fee
    assert math.isclose(res.transfer_fees_usd, 5e-4 * 1e6 + 10.0)
