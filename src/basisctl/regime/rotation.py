"""Forecast-driven rotation across (asset, venue) positions with switching costs (issue 23, ``backtest-portfolio``).

The regime rule (:mod:`basisctl.regime.rule`) decides in/out of ONE position; rotation applies the same forecasts
and the same carry arithmetic to several candidate positions on one bar clock and holds at most one at a time:

* at every decision boundary (UTC multiples of ``decide_every_hours``) each candidate j has a margin
  m_j = forecast net carry_j - alternative yield - hurdle [APR] (:class:`~basisctl.forecast.walkforward.
  DecisionSpec` with the candidate's alpha_target and cost); the best candidate is the one with the largest m_j;
* **out** (capital in the wallet, earning the alternative yield): enter the best iff m_best > ``hysteresis_apr``;
* **in** candidate c: :func:`~basisctl.regime.rule.decide` on m_c (crossing below 0, minimum hold, H) says
  whether to leave c; if it does, the capital goes to the best other candidate when its margin exceeds the
  hysteresis, else to the wallet. If c is not left, the capital still switches to a better candidate b when
  m_b > max(m_c, 0) + ``hysteresis_apr`` and the minimum hold since entry has passed;
* **switching costs**: leaving a position pays its sell-basis cost on the spot notional (the segment's exit), a
  new position pays the kernel's entry cost; every move of capital between places (wallet -> venue, venue ->
  wallet, venue A -> venue B) is one transfer: ``transfer_fee_bps`` of the amount + ``transfer_fee_usd``, and
  the capital is in transit (earning nothing) for ``transfer_delay_hours``; switching asset on the SAME venue
  moves no capital (trading costs only, no delay);
* the capital starts in the wallet at boundary 0; a position opens at the first bar open at or after the capital
  arrives (a fresh single-position run with the capital carried over, its first settlement not paid), exactly as
  :func:`~basisctl.regime.rule.run_regime`'s segments (the same segment runner,
  :func:`basisctl.regime.fast._segment`); at the window end an open position is marked to market.

Tested against a hand-computed NAV on two venues whose carry switches (``tests/portfolio/test_rotation.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData
from basisctl.backtest.engine import BacktestConfig, kernel_args
from basisctl.backtest.rule import FrozenRule
from basisctl.errors import ModelDomainError
from basisctl.regime.alt_yield import NS_PER_YEAR, AltYield
from basisctl.regime.fast import _segment
from basisctl.regime.params import RegimeParams
from basisctl.regime.rule import Segment, _forecast_at, decide, decision_clock, decision_spec, event_bars


@dataclass(frozen=True)
class Candidate:
    """One position the rotation may hold: its bars/funding, frozen band rule, costs, run settings and forecast
    (mean daily funding over the horizon [decimal per day], indexed by the time it becomes known)."""

    asset: str
    venue: str
    data: BacktestData
    rule: FrozenRule
    costs: CostModel
    cfg: BacktestConfig
    forecast: pd.Series


@dataclass(frozen=True)
class RotationResult:
    """Book NAV per bar close [USD], the candidate held per bar (-1 = none), segments (candidate index, segment),
    the decision table and the cash-flow totals [USD]."""

    ts: pd.DatetimeIndex
    nav: np.ndarray
    holding: np.ndarray
    segments: list[tuple[int, Segment]]
    decisions: pd.DataFrame
    labels: list[str]
    capital_usd: float
    transfer_fees_usd: float
    transfers: int
    alt_yield_usd: float
    params: RegimeParams | None = None

    def metrics(self) -> dict[str, Any]:
        cap = self.capital_usd
        days = len(self.ts) * (self.ts[1] - self.ts[0]).total_seconds() / 86400.0 if len(self.ts) > 1 else 1.0
        acc = float(self.nav[-1] / cap - 1.0)
        path = np.concatenate([[cap], self.nav])
        held = {lab: float(np.mean(self.holding == j)) for j, lab in enumerate(self.labels)}
        return {"book": "rotation", "acc_return": acc, "apy": acc * 365.0 / days,
                "max_drawdown": float(np.min(path / np.maximum.accumulate(path) - 1.0)),
                "positions_opened": len(self.segments), "switches": max(len(self.segments) - 1, 0),
                "transfers": self.transfers, "ret_transfer_fees": -self.transfer_fees_usd / cap,
                "ret_alt_yield": self.alt_yield_usd / cap,
                "ret_trade_costs": -sum(s.trade_costs_usd + s.exit_cost for _, s in self.segments) / cap,
                "ret_funding": sum(s.funding_usd for _, s in self.segments) / cap,
                "time_out": float(np.mean(self.holding < 0)), "time_held": held,
                "params": self.params.model_dump() if self.params is not None else None}


def _margins(cands: list[Candidate], bounds_ns: np.ndarray, alt_apr: np.ndarray, params: RegimeParams,
             capital: float) -> np.ndarray:
    """(candidates, boundaries) margin [APR] at every boundary (NaN where a forecast is unknown)."""
    out = np.empty((len(cands), bounds_ns.size))
    for j, c in enumerate(cands):
        spec = decision_spec(c.rule, c.costs, params, capital)
        out[j] = spec.margin_apr(_forecast_at(c.forecast, bounds_ns), alt_apr)
    return out


def run_rotation(cands: list[Candidate], alt: AltYield, params: RegimeParams, capital_usd: float) -> RotationResult:
    """Replay the candidates' common bar clock under the rotation rule (module doc)."""
    if not cands:
        raise ModelDomainError("rotation needs at least one candidate position")
    ts = cands[0].data.ts
    for c in cands[1:]:
        if len(c.data.ts) != len(ts) or not (c.data.ts == ts).all():
            raise ModelDomainError(f"rotation: {c.asset}/{c.venue} bars differ from {cands[0].asset}/"
                                   f"{cands[0].venue}'s (one bar clock for every candidate)")
    n = len(ts)
    bounds_ns, is_dec, alt_apr = decision_clock(ts, cands[0].data.bar_hours, params, alt)
    margin = _margins(cands, bounds_ns, alt_apr, params, capital_usd)
    delay_ns = round(params.transfer_delay_hours * 3.6e12)
    args = [list(kernel_args(c.data, c.rule, c.costs, c.cfg)) for c in cands]

    nav = np.empty(n)
    holding = np.full(n, -1, np.int64)
    segs: list[Segment] = []
    seg_of: list[int] = []
    fees = alt_usd = 0.0
    transfers = 0
    cash = capital_usd
    where = "alt"  # alt | transit | trade
    cur = dest = -1
    arrive_ns, alt_since_ns = 0, int(bounds_ns[0])
    b_arr = n
    entry_bar, entry_t, cross_t = -1, 0, -1
    marks: list[tuple[int, str, float, int]] = []
    rows: list[dict[str, Any]] = []

    def move(to: int, t: int) -> None:  # one transfer of the cash: fee, then transit (or instant)
        nonlocal cash, fees, transfers, where, dest, arrive_ns, b_arr, alt_since_ns
        f = params.transfer_fee_bps * 1e-4 * cash + params.transfer_fee_usd
        fees, cash, transfers = fees + f, cash - f, transfers + 1
        dest, arrive_ns = to, t + delay_ns
        if delay_ns == 0:
            arrive(t)
        else:
            where = "transit"
            b_arr = int(np.searchsorted(bounds_ns[:n], arrive_ns, side="left"))

    def arrive(t: int) -> None:
        nonlocal where, cur, entry_bar, entry_t, cross_t, alt_since_ns, b_arr
        b_arr = n
        if dest < 0:
            where, alt_since_ns = "alt", arrive_ns
        else:
            where, cur, entry_bar, entry_t, cross_t = "trade", dest, int(np.searchsorted(bounds_ns, t)), t, -1

    def close(b: int) -> None:  # close the position held, at the close of bar b - 1
        nonlocal cash
        cash = _segment(args[cur], cands[cur].data, cands[cur].costs, entry_bar, b - 1, cash, True, 0.0, nav, segs)
        seg_of.append(cur)
        holding[entry_bar:b] = cur

    for b, decided in event_bars(is_dec, n, lambda: b_arr):
        t = int(bounds_ns[b])
        if b == b_arr:
            arrive(t)
        if decided and where != "transit" and not (where == "trade" and entry_bar == b):
            m = margin[:, b]
            ok = np.isfinite(m)
            best = int(np.nanargmax(np.where(ok, m, -np.inf))) if ok.any() else -1
            m_best = float(m[best]) if best >= 0 else float("nan")
            action = "stay_out"
            if where == "alt":
                if best >= 0 and m_best > params.hysteresis_apr:
                    g = alt.growth(pd.Timestamp(alt_since_ns, tz="UTC"), pd.Timestamp(t, tz="UTC"), warn=False)
                    alt_usd += cash * (g - 1.0)
                    cash *= g
                    action = f"enter {cands[best].asset}/{cands[best].venue}"
                    move(best, t)
            else:
                act, cross_t = decide(True, t, float(m[cur]), entry_t, cross_t, params)
                others = np.where(ok & (np.arange(m.size) != cur), m, -np.inf)
                alt_j = int(np.argmax(others)) if np.isfinite(others).any() else -1
                m_alt_j = float(m[alt_j]) if alt_j >= 0 else float("nan")
                held = t - entry_t >= params.min_hold_hours * 3.6e12
                to: int | None = None
                if act == -1:
                    to = alt_j if alt_j >= 0 and m_alt_j > params.hysteresis_apr else -1
                elif (alt_j >= 0 and held and np.isfinite(m[cur])
                      and m_alt_j > max(float(m[cur]), 0.0) + params.hysteresis_apr):
                    to = alt_j
                action = "hold"
                if to is not None:
                    close(b)
                    src = cands[cur]
                    if to >= 0 and cands[to].venue == src.venue:  # same venue: no transfer, no delay
                        dest, arrive_ns = to, t
                        arrive(t)
                    else:
                        move(to, t)
                    action = "exit" if to < 0 else f"switch to {cands[to].asset}/{cands[to].venue}"
            rows.append({"ts": pd.Timestamp(t, tz="UTC"), "alt_apr": alt_apr[b], "best": best,
                         "margin_best_apr": m_best, "action": action,
                         **{f"margin_{c.asset}_{c.venue}": float(m[j]) for j, c in enumerate(cands)}})
        marks.append((b, where, cash, alt_since_ns))
    for j, (b0, w, cv, since) in enumerate(marks):
        b1 = marks[j + 1][0] if j + 1 < len(marks) else n
        if w == "trade" or b1 <= b0:
            continue
        if w == "transit":
            nav[b0:b1] = cv
        elif alt.is_constant:
            dt = bounds_ns[b0 + 1:b1 + 1] - since
            nav[b0:b1] = cv * np.where(dt > 0, np.exp(np.float64(alt.fallback_apr) * dt / NS_PER_YEAR), 1.0)
        else:
            s = pd.Timestamp(since, tz="UTC")
            nav[b0:b1] = [cv * alt.growth(s, pd.Timestamp(int(x), tz="UTC"), warn=False)
                          for x in bounds_ns[b0 + 1:b1 + 1]]
    if where == "trade":
        _segment(args[cur], cands[cur].data, cands[cur].costs, entry_bar, n - 1, cash, False, 0.0, nav, segs)
        seg_of.append(cur)
        holding[entry_bar:] = cur
    elif where == "alt":
        alt_usd += cash * (alt.growth(pd.Timestamp(alt_since_ns, tz="UTC"), pd.Timestamp(int(bounds_ns[-1]),
                                                                                         tz="UTC"), warn=False) - 1)
    return RotationResult(ts, nav, holding, list(zip(seg_of, segs, strict=True)), pd.DataFrame(rows),
                          [f"{c.asset}/{c.venue}" for c in cands], capital_usd, fees, transfers, alt_usd, params)


def rotation_candidates(assets: list[str], streams: Any, start: pd.Timestamp, end: pd.Timestamp,
                        params: RegimeParams, sizer: Any = None) -> list[Candidate]:
    """One candidate per (asset, venue) funding stream, prepared as ``backtest-portfolio``'s positions are: Binance
    perp bars over [start, end), the venue's funding and margin tiers, the paper's costs, the frozen rule calibrated
    on the two years before ``start`` (``position_rule``), and the walk-forward forecast of the venue's stream
    (causal: each forecast sees only settlements before the time it is known)."""
    from basisctl.backtest.data import prepare
    from basisctl.backtest.portfolio import position_rule
    from basisctl.errors import BasisctlError
    from basisctl.model.margin import venue_margin_tiers
    from basisctl.regime.fast import fast_forecast_series
    from basisctl.warnings import substitute

    out = []
    for (a, v), f in sorted(streams.items()):
        if a not in assets:
            continue
        try:  # a venue without a documented margin rule for the asset cannot be run (the allocation skips it too)
            tiers = venue_margin_tiers(v, a)
            rule = position_rule(a, v, start, f, sizer)
        except BasisctlError as e:
            substitute("missing_data", f"rotation: {a} on {v} left out: {e}")
            continue
        data = prepare(a, start, end, "binance", v, funding=f, spot="auto")
        out.append(Candidate(a, v, data, rule, CostModel.paper(a), BacktestConfig(margin_tiers=tiers),
                             fast_forecast_series(f, params)))
    return out
