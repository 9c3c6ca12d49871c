"""``band.rule = "regime"`` in the controller: hold the basis only while forecast net carry beats the alternative
yield plus a hurdle (issue 23; the same rule as the backtest and the path study, :mod:`basisctl.regime`).

A small gate around the ordinary band policy, consulted once per cycle (``cycle.py``):

* **Funding record.** The gate keeps the hourly funding the forecast is made from: the funding stream the band is
  calibrated on (``band.funding_file`` or the data dir's ``band.funding_venue``) up to the start, then every
  settlement the journal records (kind ``funding``: the rate the venue paid). While the controller is flat the
  venue pays nothing, so the settlement is taken from the venue's own funding rate at the first cycle after each
  settlement hour (``VenueState.funding_rate``), journaled as kind ``regime_funding`` (restart-safe; a journal
  settlement of the same hour wins). Hours no source covers stay unknown (the day is NaN, never zero).
* **Decisions** at venue times that are multiples of ``[regime] decide_every_hours`` (the first cycle at or after
  each boundary), with :func:`basisctl.regime.rule.decide` on the margin forecast net carry - alternative yield -
  hurdle [APR] (:class:`basisctl.forecast.walkforward.DecisionSpec`: alpha = the band's alpha_target, the flat
  cost model's mean of the two sides, the round trip amortised over ``holding_days``); forecasts from
  :func:`basisctl.regime.fast.fast_forecast_arrays` (``rolling_mean``/``ewma``; ``har``/``gbm`` through the
  per-origin walk-forward). Hysteresis, minimum hold and H exactly as in the study.
* **Out** = flat ON THE VENUE: both legs are closed through the ordinary unwind (``plans.close_legs``, the
  flatten path, in slices of ``max_order_usd``), alert ``REGIME_OUT``; the USDC stays in the venue's accounts
  (the controller never moves funds off the venue; the alternative yield is the operator's business). While out,
  the band policy is not consulted. **In** = alert ``REGIME_IN``; the band policy enters from flat by its
  ordinary buy-basis rebalance toward alpha_target.
* Every decision is journaled (kind ``regime``) and the in/out state is restored from the journal at start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from basisctl.forecast.walkforward import DecisionSpec
from basisctl.regime.alt_yield import AltYield
from basisctl.regime.params import RegimeParams
from basisctl.regime.rule import decide

if TYPE_CHECKING:
    from basisctl.live.config import ControllerConfig
    from basisctl.live.controller_base import ControllerBase
    from basisctl.live.venue import VenueState

HOUR_MS = 3_600_000


@dataclass
class RegimeGate:
    """In/out state of the regime rule and the funding record it forecasts from.

    ``history``: settlements before the controller's start (ts [UTC], rate [decimal per interval],
    interval_hours); ``alt``: the alternative yield [APR]; ``alpha_target`` [fraction of capital] and
    ``cost_bps`` [bps of the spot notional, mean of the two sides]: the carry arithmetic of the decision."""

    params: RegimeParams
    alt: AltYield
    alpha_target: float
    cost_bps: float
    history: pd.DataFrame
    out: bool = False
    entry_ns: int = 0
    cross_ns: int = -1
    last_boundary_ms: int = -1
    observed: dict[int, float] = field(default_factory=dict)  # venue rate of a settlement hour [ms] -> rate
    settled: dict[int, float] = field(default_factory=dict)  # the journal's settlements [ms] -> rate
    _n_settled: int = 0
    exits: int = 0
    entries: int = 0

    def spec(self, capital_usd: float) -> DecisionSpec:
        """The study's carry arithmetic at ``capital_usd`` (a fixed transfer fee is amortised over it)."""
        p = self.params
        return DecisionSpec(alpha=self.alpha_target, cost_bps=self.cost_bps,
                            transfer_fee_bps=p.transfer_fee_bps + 1e4 * p.transfer_fee_usd / max(capital_usd, 1.0),
                            hurdle_apr=p.hurdle_apr, holding_days=p.holding_days)

    # ------------------------------------------------------------------ funding record
    def record_rate(self, hour_ms: int, rate: float) -> None:
        """The venue's rate for the settlement at ``hour_ms`` [decimal per 1 h interval]."""
        if math.isfinite(rate):
            self.observed[int(hour_ms)] = float(rate)

    def sync_settled(self, journal: Any) -> None:
        """Read the journal's funding settlements added since the last call."""
        n = journal.count("funding")
        if n > self._n_settled:
            for e in journal.entries("funding", limit=n - self._n_settled, newest_first=True):
                if e.payload.get("rate") is not None:
                    self.settled[int(e.payload["ts_ms"])] = float(e.payload["rate"])
            self._n_settled = n

    def funding_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ts [ns], rate, interval_hours): the pre-start history, then the live hours (the journal's settlements
        take precedence over the venue rates recorded while flat; hourly intervals)."""
        h = self.history
        hts = pd.DatetimeIndex(h["ts"]).as_unit("ns").asi8
        merged = {**self.observed, **self.settled}
        keep = hts < min(merged) * 10**6 if merged else np.ones(hts.size, bool)
        lt = np.array(sorted(merged), dtype=np.int64)
        ts = np.concatenate([hts[keep], lt * 10**6])
        rate = np.concatenate([h["rate"].to_numpy(float)[keep], np.array([merged[int(k)] for k in lt], float)])
        hours = np.concatenate([h["interval_hours"].to_numpy(float)[keep], np.ones(lt.size)])
        return ts, rate, hours

    def forecast(self) -> pd.Series:
        """Walk-forward forecasts of mean daily funding over ``horizon_days`` [decimal per day], indexed by the
        time each becomes known."""
        from basisctl.regime.fast import fast_forecast_arrays

        ts, rate, hours = self.funding_arrays()
        fc = fast_forecast_arrays(ts, rate, hours, self.params)
        if fc is None:  # har / gbm: the per-origin walk-forward
            from basisctl.regime.rule import forecast_series

            fc = forecast_series(pd.DataFrame({"ts": pd.DatetimeIndex(ts, tz="UTC"), "rate": rate,
                                               "interval_hours": hours}), self.params)
        return fc

    # ------------------------------------------------------------------ decisions
    def due(self, now_ms: int) -> int | None:
        """The latest decision boundary [ms] not yet decided, or None."""
        step = round(self.params.decide_every_hours * HOUR_MS)
        b = (now_ms // step) * step
        return b if b > self.last_boundary_ms else None

    def decide_at(self, boundary_ms: int, capital_usd: float) -> dict[str, Any]:
        """One decision at ``boundary_ms`` with the forecast known then; updates the state; returns the record."""
        from basisctl.regime.rule import _forecast_at

        t_ns = boundary_ms * 10**6
        kappa = float(_forecast_at(self.forecast(), np.array([t_ns], np.int64))[0])
        alt = float(self.alt.apr_at(pd.Timestamp(t_ns, tz="UTC"))[0])
        margin = float(self.spec(capital_usd).margin_apr(kappa, alt))
        act, self.cross_ns = decide(not self.out, t_ns, margin, self.entry_ns, self.cross_ns, self.params)
        if act == 1:
            self.out, self.entry_ns = False, t_ns
            self.entries += 1
        elif act == -1:
            self.out = True
            self.exits += 1
        self.last_boundary_ms = boundary_ms
        return {"boundary_ms": boundary_ms, "kappa_hat_apr": 365.0 * kappa, "alt_apr": alt, "margin_apr": margin,
                "action": {1: "enter", -1: "exit", 0: "stay_out" if self.out else "hold"}[act], "out": self.out,
                "entry_ns": self.entry_ns, "cross_ns": self.cross_ns}


def restore(gate: RegimeGate, journal: Any) -> None:
    """The last journaled decision's state and the journaled venue rates (after a restart)."""
    for e in journal.entries("regime_funding"):
        gate.record_rate(int(e.payload["hour_ms"]), float(e.payload["rate"]))
    last = journal.entries("regime", limit=1, newest_first=True)
    if last:
        p = last[0].payload
        gate.out, gate.entry_ns, gate.cross_ns = bool(p["out"]), int(p["entry_ns"]), int(p["cross_ns"])
        gate.last_boundary_ms = int(p["boundary_ms"])


def regime_step(ctl: ControllerBase, st: VenueState, acted: bool) -> VenueState:
    """The cycle hook: record the venue rate of the last settlement hour, decide at a due boundary, close both
    legs while out (only when the cycle may act: fresh data, no undecided intents, no halt)."""
    gate: RegimeGate | None = getattr(ctl, "regime", None)
    if gate is None:
        return st
    now = int(st.ts_ms)
    gate.sync_settled(ctl.journal)
    last_hour = (now // HOUR_MS) * HOUR_MS
    if last_hour not in gate.settled and last_hour not in gate.observed and math.isfinite(st.funding_rate):
        gate.record_rate(last_hour, st.funding_rate)
        ctl.journal.append("regime_funding", f"regime_funding:{last_hour}",
                           {"hour_ms": last_hour, "rate": st.funding_rate}, now)
    b = gate.due(now)
    if b is not None:
        was_out = gate.out
        rec = gate.decide_at(b, st.equity)
        ctl.journal.append("regime", f"regime:{b}", rec, now)
        if gate.out and not was_out:
            ctl.alerts.raise_("REGIME_OUT", f"forecast net carry margin {rec['margin_apr']:+.2%} APR below the "
                              "alternative yield + hurdle: going flat on the venue (funds stay on the venue)", now)
        elif was_out and not gate.out:
            ctl.alerts.raise_("REGIME_IN", f"forecast net carry margin {rec['margin_apr']:+.2%} APR: back in the "
                              "trade (ordinary entry)", now)
    if gate.out and acted and not ctl.halted and (st.spot_base > 0 or st.perp_size < 0):
        st = ctl.close_legs(st, "regime-out")
    return st


def make_gate(cfg: ControllerConfig, alpha_target: float, start: pd.Timestamp,
              history: pd.DataFrame | None = None) -> RegimeGate:
    """The gate of ``cfg`` (``band.rule = "regime"``, ``[regime]`` section); ``history``: the funding before
    ``start`` (default: the band's funding stream, as the calibration reads it)."""
    r = cfg.regime
    params = RegimeParams(**{k: getattr(r, k) for k in RegimeParams.model_fields})
    if history is None:
        from basisctl.backtest.data import load_funding_stream

        ff = str(cfg.resolve(cfg.band.funding_file)) if cfg.band.funding_file else None
        history = load_funding_stream(cfg.venue.asset, cfg.band.funding_venue, ff)[0]
    h = history[pd.DatetimeIndex(history["ts"]) < start].reset_index(drop=True)
    if r.alt_yield_series:
        from basisctl.regime.alt_yield import load_alt_yield

        alt = load_alt_yield(r.alt_yield_series, fallback_apr=r.alt_yield_apr)
    else:
        alt = AltYield.constant(r.alt_yield_apr)
    c = cfg.costs
    return RegimeGate(params, alt, alpha_target, 0.5 * (c.sell_basis_bps + c.buy_basis_bps), h)
