"""The regime rule: decisions on a forecast, composed from single-position backtest segments.

Timeline (all UTC; "boundary b" = the open of bar b = the close of bar b-1; the window end is boundary n):

* decisions at the boundaries whose time is a multiple of ``decide_every_hours`` (00:00 UTC daily by default),
  using the forecast known then (a daily forecast made at the end of day d is known from d+1 00:00);
* capital starts flat on the venue at boundary 0 (as in ``basisctl backtest``), so the first decision either
  opens the position there or transfers the capital out;
* ENTER at boundary b: if the capital is off the venue it leaves the alternative yield at t_b, pays the transfer
  fee and arrives ``transfer_delay_hours`` later; the position opens at the first boundary at or after arrival,
  exactly as a fresh ``run_backtest`` over the segment (entry at that bar's open, buy-basis cost charged);
* EXIT at boundary b: the position is closed at the close of bar b-1 (NAV of the segment's last bar), paying the
  sell-basis cost on the spot notional then held; the capital pays the transfer fee and starts earning the
  alternative yield ``transfer_delay_hours`` later (nothing while in transit);
* no decisions while capital is in transit; the settlement at a segment's first bar open is not paid (it accrued
  while the capital was out), except for a segment opened at the window start (as ``basisctl backtest``); margin
  and spot on the venue earn the venue's idle yield
  (:mod:`basisctl.venues.idle_yield`, 0 on every venue listed), simple interest on the margin per bar;
* at the window end an open position is marked to market, not closed (as ``basisctl backtest``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData, FundingAlignment
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.rule import FrozenRule
from basisctl.forecast.models import make_model
from basisctl.forecast.panel import funding_panel
from basisctl.forecast.walkforward import DecisionSpec, walk_forward
from basisctl.regime.alt_yield import AltYield
from basisctl.regime.params import RegimeParams


def forecast_series(funding: pd.DataFrame, params: RegimeParams, perp: pd.DataFrame | None = None,
                    spot: pd.DataFrame | None = None) -> pd.Series:
    """Walk-forward forecasts of mean daily funding over ``params.horizon_days`` [decimal per day], indexed by the
    time each becomes known (end of its origin day). Uses only funding settled by that time."""
    panel = funding_panel(funding, perp, spot)
    wf = walk_forward(panel, [make_model(params.model)], params.horizon_days, params.min_history_days)
    return pd.Series(wf.forecasts[params.model], index=wf.days + pd.Timedelta(days=1), name="kappa_hat_daily")


def decide(in_trade: bool, t_ns: int, margin_apr: float, entry_ns: int, cross_ns: int, params: RegimeParams
           ) -> tuple[int, int]:
    """One decision: (+1 enter | -1 exit | 0 nothing, the new first-crossing time or -1).

    Out: enter iff margin > hysteresis. In: a margin below 0 starts (or continues) a crossing; exit once the
    minimum hold has passed since entry, or when the next decision would come more than H after the crossing.
    NaN margin (no forecast): nothing happens and a running crossing is kept."""
    if not in_trade:
        return (1 if margin_apr > params.hysteresis_apr else 0), -1
    if not margin_apr < 0.0:
        return 0, (-1 if margin_apr >= 0.0 else cross_ns)
    cross = t_ns if cross_ns < 0 else cross_ns
    held = t_ns - entry_ns >= params.min_hold_hours * 3.6e12
    late = t_ns + params.decide_every_hours * 3.6e12 - cross > params.exit_within_hours * 3.6e12
    return (-1 if held or late else 0), cross


def regime_schedule(t_ns: np.ndarray, margin_apr: np.ndarray, params: RegimeParams) -> np.ndarray:
    """+1 (enter) / -1 (exit) / 0 per decision time [ns] from the margins known then [APR] (pure; no transfers:
    :func:`run_regime` applies the same :func:`decide` with transfer delays)."""
    out = np.zeros(t_ns.size, np.int64)
    state_in, entry_t, cross_t = False, 0, -1
    for k in range(t_ns.size):
        a, cross_t = decide(state_in, int(t_ns[k]), float(margin_apr[k]), entry_t, cross_t, params)
        out[k] = a
        if a == 1:
            state_in, entry_t = True, int(t_ns[k])
        elif a == -1:
            state_in = False
    return out


@dataclass(frozen=True)
class Segment:
    """One stretch in the trade: bars [first_bar, last_bar], capital in, NAV out (after the exit cost) [USD]."""

    first_bar: int
    last_bar: int
    capital_in: float
    nav_end: float
    exit_cost: float
    funding_usd: float
    trade_costs_usd: float
    closed: bool
    idle_usd: float = 0.0
    liquidation_loss_usd: float = 0.0
    #: per bar of the segment: the kernel's action code and the traded spot notional [USD] (the study's metrics)
    actions: np.ndarray | None = None
    traded: np.ndarray | None = None
    #: the kernel's components per bar [USD, bars x N_COMP] (``basisctl.backtest.kernel`` C_* columns)
    components: np.ndarray | None = None


@dataclass(frozen=True)
class RegimeResult:
    """NAV per bar close [USD], in-trade flag per bar, segments, decisions, and the cash-flow totals [USD]."""

    ts: pd.DatetimeIndex
    bar_hours: float
    nav: np.ndarray
    in_trade: np.ndarray
    segments: list[Segment]
    decisions: pd.DataFrame
    capital_usd: float
    transfer_fees_usd: float
    alt_yield_usd: float
    idle_yield_usd: float
    alt_label: str
    params: RegimeParams

    @property
    def entries(self) -> int:
        return len(self.segments)

    @property
    def exits(self) -> int:
        return sum(1 for s in self.segments if s.closed)

    def exit_times(self) -> list[pd.Timestamp]:
        """Boundary (bar open after the last in-trade bar) of every exit."""
        return [self.ts[s.last_bar] + pd.Timedelta(hours=self.bar_hours) for s in self.segments if s.closed]

    def returns(self) -> np.ndarray:
        """Bar returns of NAV (the first against the initial capital)."""
        path = np.concatenate([[self.capital_usd], self.nav])
        return np.diff(path) / path[:-1]

    def metrics(self) -> dict[str, Any]:
        cap = self.capital_usd
        days = len(self.ts) * self.bar_hours / 24.0
        acc = float(self.nav[-1] / cap - 1.0)
        path = np.concatenate([[cap], self.nav])
        return {
            "rule": "regime", "start": self.ts[0].isoformat(),
            "end": (self.ts[-1] + pd.Timedelta(hours=self.bar_hours)).isoformat(), "bars": int(self.nav.size),
            "acc_return": acc, "apy": acc * 365.0 / days,
            "max_drawdown": float(np.min(path / np.maximum.accumulate(path) - 1.0)),
            "entries": self.entries, "exits": self.exits, "time_in_trade": float(self.in_trade.mean()),
            "ret_funding": sum(s.funding_usd for s in self.segments) / cap,
            "ret_trade_costs": -sum(s.trade_costs_usd + s.exit_cost for s in self.segments) / cap,
            "ret_transfer_fees": -self.transfer_fees_usd / cap, "ret_alt_yield": self.alt_yield_usd / cap,
            "ret_idle_yield": self.idle_yield_usd / cap, "alt_yield": self.alt_label,
            "exit_times": [t.isoformat() for t in self.exit_times()], "params": self.params.model_dump(),
        }


def _segment_data(data: BacktestData, i0: int, i1: int) -> BacktestData:
    """Bars i0..i1 of ``data``; the settlement at bar i0's open is not paid (it accrued while out), except at the
    window start (i0 = 0), where the segment is exactly ``run_backtest`` over the window (whose convention credits
    it), so that a regime rule that never leaves equals its inner rule bar for bar."""
    al = data.funding
    rate = al.rate[i0:i1 + 1].copy()
    if i0 > 0:
        rate[0] = 0.0
    rate_in = None if al.rate_in is None else al.rate_in[i0:i1 + 1].copy()
    seg_al = FundingAlignment(rate=rate, n_settlements=int(np.count_nonzero(rate)), missing_settlements=0,
                              off_grid=al.off_grid, hours_covered=al.hours_covered, hours_window=al.hours_window,
                              interval_hours=al.interval_hours, rate_in=rate_in)
    sl = slice(i0, i1 + 1)
    return replace(data, ts=data.ts[sl], p_open=data.p_open[sl], p_high=data.p_high[sl], p_close=data.p_close[sl],
                   s_open=data.s_open[sl], s_close=data.s_close[sl], funding=seg_al)


def _forecast_at(forecast: pd.Series, t_ns: np.ndarray) -> np.ndarray:
    """The latest forecast known at each time (index = time known) [decimal per day]; NaN before the first."""
    idx = pd.DatetimeIndex(forecast.index).as_unit("ns").asi8
    j = np.searchsorted(idx, t_ns, side="right") - 1
    v = forecast.to_numpy(float)
    return np.where(j >= 0, v[np.clip(j, 0, None)], np.nan)


def decision_clock(ts: pd.DatetimeIndex, bar_hours: float, params: RegimeParams, alt: AltYield
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The regime rule's clock over bars opening at ``ts`` (``bar_hours`` long): the n + 1 bar boundaries [ns since
    the epoch], which of them are decision times (every ``params.decide_every_hours`` on the clock; the first
    always, the window end never) and the alternative yield [APR] at the decision boundaries (NaN elsewhere)."""
    t_open = ts.as_unit("ns").asi8
    bounds_ns = np.concatenate([t_open, [t_open[-1] + round(bar_hours * 3.6e12)]])
    step_ns = round(params.decide_every_hours * 3.6e12)
    is_dec = (bounds_ns % step_ns == 0)
    is_dec[0] = True  # the capital is placed at the start
    is_dec[-1] = False  # nothing is decided at the window end
    alt.apr_at(pd.DatetimeIndex(bounds_ns, tz="UTC"))  # one warning for the window if a constant fills in
    alt_apr = np.full(bounds_ns.size, np.nan)
    alt_apr[is_dec] = alt.apr_at(pd.DatetimeIndex(bounds_ns[is_dec], tz="UTC"), warn=False)
    return bounds_ns, is_dec, alt_apr


def decision_spec(rule: FrozenRule, costs: CostModel, params: RegimeParams, capital_usd: float) -> DecisionSpec:
    """The enter/exit test of one position: its trade cost [bps, the mean of buying and selling the rule's target
    spot size] and the transfer fee [bps of ``capital_usd``] against the hurdle [APR] over the holding period."""
    q_spot = (1.0 - rule.alpha_target) * capital_usd
    return DecisionSpec(alpha=rule.alpha_target, cost_bps=0.5 * (costs.buy_cost_bps(q_spot) + costs.sell_cost_bps(
        q_spot)), transfer_fee_bps=params.transfer_fee_bps + 1e4 * params.transfer_fee_usd / capital_usd,
        hurdle_apr=params.hurdle_apr, holding_days=params.holding_days)


def event_bars(is_dec: np.ndarray, n: int, pending: Callable[[], int]) -> Iterator[tuple[int, bool]]:
    """The boundaries where something happens, in time order, as ``(b, is_decision)``: every decision boundary
    and the boundary of the pending arrival, ``pending()`` (n when none; read again after each event). Stops at the
    window end ``n``."""
    dec_b = np.flatnonzero(is_dec).tolist()
    k = 0
    while True:
        b = min(dec_b[k] if k < len(dec_b) else n, pending())
        if b >= n:
            return
        decided = k < len(dec_b) and dec_b[k] == b
        if decided:
            k += 1
        yield b, decided


def run_regime(data: BacktestData, rule: FrozenRule, costs: CostModel, cfg: BacktestConfig, forecast: pd.Series,
               alt: AltYield, params: RegimeParams, idle_apr: float = 0.0) -> RegimeResult:
    """Replay ``data`` under the regime rule (see the module doc).

    ``forecast``: mean daily funding over the next ``params.horizon_days`` [decimal per day], indexed by the time
    it becomes known (e.g. :func:`forecast_series`); ``rule``: the frozen band rule run inside each segment;
    ``alt``: the alternative yield; ``idle_apr``: what the venue pays on margin [APR]."""
    n, bh = len(data.ts), data.bar_hours
    bounds_ns, is_dec, alt_full = decision_clock(data.ts, bh, params, alt)
    kappa = _forecast_at(forecast, bounds_ns)
    margin = decision_spec(rule, costs, params, cfg.capital_usd).margin_apr(kappa, alt_full)
    delay_ns = round(params.transfer_delay_hours * 3.6e12)

    nav = np.empty(n)
    in_trade = np.zeros(n, bool)
    segments: list[Segment] = []
    rows: list[dict[str, Any]] = []
    fees = alt_usd = 0.0
    cash = cfg.capital_usd
    where = "venue"  # venue (flat) | alt | transit_in | transit_out | trade
    arrive_ns = alt_since_ns = 0
    entry_bar, entry_t, cross_t = -1, 0, -1

    def ts(x: int) -> pd.Timestamp:
        return pd.Timestamp(x, tz="UTC")

    def fee(amount: float) -> float:
        return params.transfer_fee_bps * 1e-4 * amount + params.transfer_fee_usd

    for b in range(n):
        t = int(bounds_ns[b])
        if where == "transit_out" and t >= arrive_ns:
            where, alt_since_ns = "alt", arrive_ns
        if where == "transit_in" and t >= arrive_ns:  # the capital has arrived: open the position now
            where, entry_bar, entry_t, cross_t = "trade", b, t, -1
        # a position opened at this boundary (capital just arrived) is held for at least its first bar
        if is_dec[b] and where in ("venue", "alt", "trade") and not (where == "trade" and entry_bar == b):
            m = float(margin[b])
            act, cross_t = decide(where == "trade", t, m, entry_t, cross_t, params)
            label = {1: "enter", -1: "exit", 0: "hold" if where == "trade" else "stay_out"}[act]
            if act == 1 and where == "alt":
                g = alt.growth(ts(alt_since_ns), ts(t), warn=False)
                alt_usd += cash * (g - 1.0)
                cash *= g
                f = fee(cash)
                fees, cash = fees + f, cash - f
                if delay_ns > 0:
                    where, arrive_ns, label = "transit_in", t + delay_ns, "transfer_in"
                else:
                    where = "venue"
            if act == 1 and where == "venue":
                where, entry_bar, entry_t, cross_t = "trade", b, t, -1
            elif act == 0 and where == "venue":  # out, capital still on the venue: move it off
                act, label = -1, "transfer_out"
            if act == -1:
                if where == "trade":
                    cash = _close_segment(data, rule, costs, cfg, entry_bar, b - 1, cash, True, idle_apr, nav,
                                          segments)
                    in_trade[entry_bar:b] = True
                f = fee(cash)
                fees, cash = fees + f, cash - f
                where, arrive_ns, alt_since_ns = "transit_out", t + delay_ns, t + delay_ns
                if delay_ns == 0:
                    where = "alt"
            rows.append({"ts": ts(t), "kappa_hat_apr": 365.0 * kappa[b], "alt_apr": alt_full[b],
                         "margin_apr": m, "action": label})
        if where != "trade":  # NAV at this bar's close
            t_close = int(bounds_ns[b + 1])
            nav[b] = cash * alt.growth(ts(alt_since_ns), ts(t_close), warn=False) if where == "alt" else cash
    if where == "trade":
        _close_segment(data, rule, costs, cfg, entry_bar, n - 1, cash, False, idle_apr, nav, segments)
        in_trade[entry_bar:] = True
    elif where == "alt":
        alt_usd += cash * (alt.growth(ts(alt_since_ns), ts(int(bounds_ns[-1])), warn=False) - 1.0)
    return RegimeResult(ts=data.ts, bar_hours=bh, nav=nav, in_trade=in_trade, segments=segments,
                        decisions=pd.DataFrame(rows), capital_usd=cfg.capital_usd, transfer_fees_usd=fees,
                        alt_yield_usd=alt_usd, idle_yield_usd=sum(s.idle_usd for s in segments),
                        alt_label=alt.label, params=params)


def _close_segment(data: BacktestData, rule: FrozenRule, costs: CostModel, cfg: BacktestConfig, i0: int, i1: int,
                   capital: float, close: bool, idle_apr: float, nav: np.ndarray, segments: list[Segment]) -> float:
    """Run the single-position backtest over bars i0..i1 with ``capital``; write its NAV into ``nav``; return the
    capital after the exit cost (``close``) [USD]."""
    seg = _segment_data(data, i0, i1)
    res = run_backtest(seg, rule, costs, replace(cfg, capital_usd=capital))
    fr = res.to_frame()
    seg_nav = fr["nav"].to_numpy(float).copy()
    idle = 0.0
    if idle_apr != 0.0:
        accr = np.cumsum(fr["margin_usd"].to_numpy(float) * idle_apr * data.bar_hours / 8760.0)
        seg_nav += accr
        idle = float(accr[-1])
    exit_cost = 0.0
    if close:
        q_usd = float(fr["spot_qty"].iloc[-1] * fr["spot_close"].iloc[-1])
        exit_cost = costs.sell_cost_bps(q_usd) * 1e-4 * q_usd
        seg_nav[-1] -= exit_cost
    nav[i0:i1 + 1] = seg_nav
    segments.append(Segment(i0, i1, capital, float(seg_nav[-1]), exit_cost, float(fr["funding_usd"].sum()),
                            float(fr["cost_usd"].sum()), close, idle, float(fr["liquidation_loss_usd"].sum()),
                            np.asarray(res.arrays[8], dtype=np.int64), np.asarray(res.arrays[9], dtype=float),
                            res.components))
    return float(seg_nav[-1])
