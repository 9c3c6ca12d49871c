"""The regime rule's fast path: :func:`run_regime` event by event, for the path study's thousands of paths.

:func:`basisctl.regime.rule.run_regime` (the reference, kept as written) steps through every bar in Python, builds a
pandas frame per segment through :func:`basisctl.backtest.run_backtest` and re-reads the margin table per segment;
with a walk-forward forecast per path it cost ≈ 0.08-0.4 s per one-year simulated path. This module computes the
same thing:

* forecasts: :func:`fast_forecast_series` - daily funding by ``np.bincount`` and the compiled walk-forward of
  :mod:`basisctl.forecast.vectorised` (``rolling_mean``, ``ewma``; other models fall back to
  :func:`~basisctl.regime.rule.forecast_series`);
* the state machine visits only the decision boundaries and the transfer arrivals (the same
  :func:`~basisctl.regime.rule.decide`, the same order of arrival-then-decision at a boundary); NAV outside the
  trade is filled per stretch in one vectorised expression (bit-identical for a constant alternative yield, the
  reference's per-bar ``AltYield.growth`` for a series);
* segments call the compiled backtest kernel on slices of one prepared argument tuple (margin tiers read once).

Equality with the reference (NAV, segments, cash flows to 1e-12) is tested on synthetic, simulated and real paths
in ``tests/forecast/test_regime_fast.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData
from basisctl.backtest.engine import BacktestConfig, kernel_args
from basisctl.backtest.kernel import backtest_core_nb
from basisctl.backtest.rule import FrozenRule
from basisctl.errors import DataCoverageError
from basisctl.forecast.vectorised import DAY_NS, daily_funding_arrays, walk_forward_fast
from basisctl.regime.alt_yield import NS_PER_YEAR, AltYield
from basisctl.regime.params import RegimeParams
from basisctl.regime.rule import (
    RegimeResult,
    Segment,
    _forecast_at,
    decide,
    decision_clock,
    decision_spec,
    event_bars,
    forecast_series,
)

_VENUE, _ALT, _TRANSIT_IN, _TRANSIT_OUT, _TRADE = range(5)
_LABELS = {1: "enter", -1: "exit"}


def fast_forecast_arrays(ts_ns: np.ndarray, rate: np.ndarray, hours: np.ndarray, params: RegimeParams
                         ) -> pd.Series | None:
    """:func:`~basisctl.regime.rule.forecast_series` from raw settlement arrays ([ns], [decimal], [h]) for the
    compiled models; None for the others."""
    d0, daily = daily_funding_arrays(ts_ns, rate, hours)
    if daily.size < params.min_history_days + params.horizon_days:
        raise DataCoverageError(f"{daily.size} days of funding: too few for {params.min_history_days} days of "
                                f"history plus a {params.horizon_days}-day horizon")
    f = walk_forward_fast(daily, params.model, params.min_history_days)
    if f is None:
        return None
    known = pd.DatetimeIndex(d0 + (np.arange(daily.size, dtype=np.int64) + 1) * DAY_NS, tz="UTC")
    return pd.Series(f, index=known, name="kappa_hat_daily")


def fast_forecast_series(funding: pd.DataFrame, params: RegimeParams, perp: pd.DataFrame | None = None,
                         spot: pd.DataFrame | None = None) -> pd.Series:
    """:func:`~basisctl.regime.rule.forecast_series`, compiled for ``rolling_mean``/``ewma``."""
    ts = pd.DatetimeIndex(funding["ts"])
    ts_ns = (ts.tz_convert("UTC") if ts.tz is not None else ts).as_unit("ns").asi8
    out = fast_forecast_arrays(ts_ns, funding["rate"].to_numpy(float), funding["interval_hours"].to_numpy(float),
                               params)
    return forecast_series(funding, params, perp, spot) if out is None else out


def run_regime_fast(data: BacktestData, rule: FrozenRule, costs: CostModel, cfg: BacktestConfig,
                    forecast: pd.Series, alt: AltYield, params: RegimeParams, idle_apr: float = 0.0,
                    decisions: bool = True) -> RegimeResult:
    """:func:`~basisctl.regime.rule.run_regime` (same arguments, same result); ``decisions=False`` leaves the
    decision table empty (the study does not read it)."""
    n, bh = len(data.ts), data.bar_hours
    bounds_ns, is_dec, alt_full = decision_clock(data.ts, bh, params, alt)
    kappa = _forecast_at(forecast, bounds_ns)
    margin = decision_spec(rule, costs, params, cfg.capital_usd).margin_apr(kappa, alt_full)
    delay_ns = round(params.transfer_delay_hours * 3.6e12)
    args = list(kernel_args(data, rule, costs, cfg))  # margin tiers read once

    nav = np.empty(n)
    in_trade = np.zeros(n, bool)
    segments: list[Segment] = []
    fees = alt_usd = 0.0
    cash = cfg.capital_usd
    where = _VENUE
    arrive_ns = alt_since_ns = 0
    b_arr = n  # boundary of the pending arrival (n = none)
    entry_bar, entry_t, cross_t = -1, 0, -1
    marks: list[tuple[int, int, float, int]] = []  # (boundary, where, cash, alt_since) after each event
    rec_b: list[int] = []
    rec_act: list[str] = []

    def fee(amount: float) -> float:
        return params.transfer_fee_bps * 1e-4 * amount + params.transfer_fee_usd

    def arrival(at_ns: int) -> int:
        return int(np.searchsorted(bounds_ns[:n], at_ns, side="left"))

    def close(i0: int, i1: int, capital: float, closed: bool) -> float:
        return _segment(args, data, costs, i0, i1, capital, closed, idle_apr, nav, segments)

    for b, decided in event_bars(is_dec, n, lambda: b_arr):  # noqa: B023 (read after each event)
        t = int(bounds_ns[b])
        if b == b_arr:
            if where == _TRANSIT_OUT:
                where, alt_since_ns = _ALT, arrive_ns
            elif where == _TRANSIT_IN:  # the capital has arrived: open the position now
                where, entry_bar, entry_t, cross_t = _TRADE, b, t, -1
            b_arr = n
        if decided and where in (_VENUE, _ALT, _TRADE) and not (where == _TRADE and entry_bar == b):
            act, cross_t = decide(where == _TRADE, t, float(margin[b]), entry_t, cross_t, params)
            label = _LABELS.get(act, "hold" if where == _TRADE else "stay_out")
            if act == 1 and where == _ALT:
                g = alt.growth(pd.Timestamp(alt_since_ns, tz="UTC"), pd.Timestamp(t, tz="UTC"), warn=False)
                alt_usd += cash * (g - 1.0)
                cash *= g
                f = fee(cash)
                fees, cash = fees + f, cash - f
                if delay_ns > 0:
                    where, arrive_ns, label = _TRANSIT_IN, t + delay_ns, "transfer_in"
                    b_arr = arrival(arrive_ns)
                else:
                    where = _VENUE
            if act == 1 and where == _VENUE:
                where, entry_bar, entry_t, cross_t = _TRADE, b, t, -1
            elif act == 0 and where == _VENUE:  # out, capital still on the venue: move it off
                act, label = -1, "transfer_out"
            if act == -1:
                if where == _TRADE:
                    cash = close(entry_bar, b - 1, cash, True)
                    in_trade[entry_bar:b] = True
                f = fee(cash)
                fees, cash = fees + f, cash - f
                where, arrive_ns, alt_since_ns = _TRANSIT_OUT, t + delay_ns, t + delay_ns
                if delay_ns == 0:
                    where = _ALT
                else:
                    b_arr = arrival(arrive_ns)
            if decisions:
                rec_b.append(b)
                rec_act.append(label)
        marks.append((b, where, cash, alt_since_ns))
    # NAV at each bar close outside the trade, one stretch (between two events) at a time
    for j, (b0, w, c, since) in enumerate(marks):
        b1 = marks[j + 1][0] if j + 1 < len(marks) else n
        if w == _TRADE or b1 <= b0:
            continue
        if w != _ALT:
            nav[b0:b1] = c
        elif alt.is_constant:
            r = np.float64(alt.fallback_apr)
            dt = bounds_ns[b0 + 1:b1 + 1] - since
            nav[b0:b1] = c * np.where(dt > 0, np.exp(r * dt / NS_PER_YEAR), 1.0)
        else:
            s = pd.Timestamp(since, tz="UTC")
            nav[b0:b1] = [c * alt.growth(s, pd.Timestamp(int(x), tz="UTC"), warn=False)
                          for x in bounds_ns[b0 + 1:b1 + 1]]
    if where == _TRADE:
        close(entry_bar, n - 1, cash, False)
        in_trade[entry_bar:] = True
    elif where == _ALT:
        alt_usd += cash * (alt.growth(pd.Timestamp(alt_since_ns, tz="UTC"), pd.Timestamp(int(bounds_ns[-1]),
                                                                                          tz="UTC"), warn=False) - 1.0)
    rb = np.asarray(rec_b, dtype=np.int64)
    dec = pd.DataFrame({"ts": pd.DatetimeIndex(bounds_ns[rb], tz="UTC"), "kappa_hat_apr": 365.0 * kappa[rb],
                        "alt_apr": alt_full[rb], "margin_apr": margin[rb], "action": rec_act})
    return RegimeResult(ts=data.ts, bar_hours=bh, nav=nav, in_trade=in_trade, segments=segments, decisions=dec,
                        capital_usd=cfg.capital_usd, transfer_fees_usd=fees, alt_yield_usd=alt_usd,
                        idle_yield_usd=sum(s.idle_usd for s in segments), alt_label=alt.label, params=params)


def _segment(args: list[Any], data: BacktestData, costs: CostModel, i0: int, i1: int, capital: float,
             closed: bool, idle_apr: float, nav: np.ndarray, segments: list[Segment]) -> float:
    """The compiled kernel over bars i0..i1 with ``capital`` (the reference's ``_close_segment`` without the
    frame): writes the segment's NAV into ``nav``, returns the capital after the exit cost [USD]."""
    a = list(args)
    sl = slice(i0, i1 + 1)
    for j in range(7):  # p_open, p_high, p_close, s_open, s_close, fund_rate, fund_rate_in
        a[j] = args[j][sl]
    if i0 > 0:  # the settlement at the segment's first open accrued while out (the reference's _segment_data)
        a[5] = a[5].copy()
        a[5][0] = 0.0
    a[7] = float(capital)
    out = backtest_core_nb(*a)
    seg_nav = np.array(out[0], dtype=float)
    m, q, fund, cost, liq, act, traded = out[2], out[3], out[5], out[6], out[7], out[8], out[9]
    idle = 0.0
    if idle_apr != 0.0:
        accr = np.cumsum(np.asarray(m, float) * idle_apr * data.bar_hours / 8760.0)
        seg_nav += accr
        idle = float(accr[-1])
    exit_cost = 0.0
    if closed:
        q_usd = float(q[-1] * data.s_close[i1])
        exit_cost = costs.sell_cost_bps(q_usd) * 1e-4 * q_usd
        seg_nav[-1] -= exit_cost
    nav[sl] = seg_nav
    segments.append(Segment(i0, i1, capital, float(seg_nav[-1]), exit_cost, float(np.sum(fund)),
                            float(np.sum(cost)), closed, idle, float(np.sum(liq)), np.asarray(act, dtype=np.int64),
                            np.asarray(traded, dtype=float), out[12]))
    return float(seg_nav[-1])
