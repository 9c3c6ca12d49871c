"""The loop: one observe -> decide -> act cycle (steps in ``controller``'s docstring), run, dead man."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from basisctl.live.controller_base import ControllerBase
from basisctl.live.costs import book_cost_curves
from basisctl.live.crashpoint import maybe_crash
from basisctl.live.guards import VenueDataError
from basisctl.live.journal import JournalWriteError
from basisctl.live.venue import VenueError, VenueState, VenueUnavailable
from basisctl.live.venue_truth import venue_truth_tick
from basisctl.model.policy import Action, CostCurve, Decision, decide

#: halts under which not even a collateral raise is sent (every other halt blocks only new risk); any of them
#: raised in this process counts, the kill file while it exists
HALTS_BLOCKING_PROTECTIVE = frozenset({"KILL_SWITCH", "LOCK_LOST", "STORAGE_FAILED"})


class CycleMixin(ControllerBase):
    """cycle / safe_cycle / run and the cycle record."""

    def safe_cycle(self) -> dict[str, Any] | None:
        """``cycle()`` with every read failure turned into an alert and a skipped cycle (None): transport
        failures and 5xx/429 (VENUE_UNAVAILABLE), incomplete reads (STATE_UNKNOWN), refused reads (VENUE_ERROR).
        Consecutive failures back off (jittered exponential, capped at the cadence)."""
        try:
            rec = self.cycle()
        except VenueDataError as e:
            self.alerts.raise_("STATE_UNKNOWN", f"cycle skipped: {e}", self._now())
        except VenueUnavailable as e:
            self.alerts.raise_("VENUE_UNAVAILABLE", f"cycle aborted: {e}", self._now())
        except VenueError as e:
            self.alerts.raise_("VENUE_ERROR", f"read refused, cycle skipped: {e}", self._now())
        except JournalWriteError as e:  # no intent can be journaled, so nothing can be sent: halt, say why
            self._halt("STORAGE_FAILED", str(e))
        else:
            self.read_failures = 0
            self.backoff.reset()
            return rec
        self.read_failures += 1
        self.break_episode()  # adoption needs K CONSECUTIVE complete reads
        self._wall_sleep(min(self.backoff.next_delay(), self.cfg.cadence_seconds))
        return None

    def cycle(self) -> dict[str, Any]:
        """One observe -> decide -> act cycle; returns the cycle record (also journaled)."""
        now_wall = time.time()
        self.recalibration_tick()  # cycle boundary: apply a finished refit / start a due one (never waits)
        self._check_ack()
        if self.kill_file.exists():
            self._halt("KILL_SWITCH", f"kill file {self.kill_file} present: no new risk")
        for check in self.lock_checks:
            if (why := check()) is not None:
                self._halt("LOCK_LOST", why)
        st = self.read_state()
        stale_s = (self._now() - st.ts_ms) / 1000.0
        stale = self._stale = stale_s > self.cfg.limits.stale_after_seconds
        if stale:
            self.alerts.raise_(
                "STALE_DATA",
                f"prices {stale_s:.1f}s old > {self.cfg.limits.stale_after_seconds}s: no new risk (repairs go on)",
                st.ts_ms,
            )
        undecided = self.reconcile_intents(wait_budget_s=5.0)
        st, mism = self.check_positions()
        mism = self.track_mismatch(st, mism)  # escalation of a lasting disagreement (live/unexplained.py)
        self._mismatch = bool(mism)
        if mism:
            self._halt("POSITION_MISMATCH", f"journal vs venue differ: {mism}")
        safe = undecided == 0 and not mism
        if safe:  # base-unit repairs need no fresh price: they run on stale data too
            st = self.handle_external(st)
        if undecided == 0:  # refused (REPAIR_REFUSED) while journal and venue disagree
            st = self.repair_hedge(st)
        tol = self.cfg.limits.hedge_tolerance_usd
        if self.tracker.update(st.unhedged_usd, tol, time.time(), st.ts_ms):
            self._halt(
                "ONE_LEGGED_ESCALATION",
                f"unhedged ${st.unhedged_usd:,.0f} for {self.tracker.cycles} cycle(s) / "
                f"{self.tracker.seconds:.1f}s exceeds the configured bound",
            )
        if self.tracker.timed_out and safe:
            act = self.cfg.safety.one_legged_action
            self._halt(
                "ONE_LEGGED_TIMEOUT",
                f"hedge still failing after {self.tracker.seconds:.0f}s / {self.tracker.cycles} cycles: {act}",
                persist=not self.ack_required,
            )
            if act == "unwind":
                st = self.unwind_spot(st, "timeout")
                if st.unhedged_usd <= tol:
                    self.tracker.update(st.unhedged_usd, tol, time.time(), st.ts_ms)
        venue_truth_tick(self, st)  # LIQ_PRICE_DRIFT / FUNDING_MISMATCH (never raises): after the repairs above
        if not mism:
            self._check_drawdown(st)
        if self.alerts.failed:  # protective actions above are done; no new risk while storage fails
            self._halt("STORAGE_FAILED", f"alerts cannot be stored ({self.alerts.failed}); they go to stderr")
        acted = not stale and safe
        if self.halted and self.cfg.safety.flatten_on_kill and not self.flattened and acted:
            self.flatten(st)
            st = self.read_state()
        if acted and not self.flattened:
            st = self.sweep_spot_usdc(st)
        if self.regime is not None and not self.flattened:  # band.rule = "regime": out = flat on the venue
            from basisctl.live.regime_policy import regime_step

            st = regime_step(self, st, acted)
        decision = None
        if st.equity > 0 and not self.flattened and not (self.regime is not None and self.regime.out):
            cap = max(st.equity, 1.0)
            if self.cfg.costs.model == "book":
                curves = book_cost_curves(self.venue, st, self.cfg.costs.spot_fee_bps, self.cfg.costs.perp_fee_bps, cap)
            else:
                curves = (CostCurve.flat(self.cfg.costs.sell_basis_bps), CostCurve.flat(self.cfg.costs.buy_basis_bps))
            decision = decide(st.alpha, st.equity, self.policy, curves[0], curves[1])
            # a collateral raise (sell-basis: spot sold, the short bought back reduce-only, USDC moved to margin)
            # adds no risk and leaves the gap as it is: it goes on under a halt, except under the operator's kill
            # switch and a lost lock / failing storage (issue 19, N4; blocked, a halted book was liquidated by a
            # rally in the 500-kill chaos run). Not while journal and venue disagree (``acted``, ``_mismatch``: also a
            # read inside a repair): the read it would be sized on is unconfirmed (N3: a mangled szi never buys perp)
            protective = decision.action in (Action.RAISE_COLLATERAL, Action.EMERGENCY) and not (
                HALTS_BLOCKING_PROTECTIVE & (self.halt_kinds | {self.halt_kind}) or self.kill_file.exists()
                or self._mismatch or self.halt_kind == "POSITION_MISMATCH")  # as repair.py: any read disagreed
            blocked = (
                ""
                if acted and (not self.halted or protective)
                else ("halted: " + self.halt_reason if self.halted else "stale data" if stale else "undecided intents")
            )
            drec = {
                **decision.to_dict(),
                "equity_usd": st.equity,
                "ts_ms": st.ts_ms,
                "blocked": blocked,
                "target_sell_bps": curves[0](decision.q_hat_usd),
                "target_buy_bps": curves[1](decision.q_hat_usd),
            }
            self.journal.append("decision", f"decision:{uuid.uuid4().hex}", drec, st.ts_ms)
            self.last_decision = decision
            if decision.action is not Action.NONE:
                self.recent_decisions.appendleft(drec)
            if decision.action is not Action.NONE and not blocked:
                maybe_crash("before_execute")
                self.execute(decision, st, curves)
                st = self.read_state()
        self.refresh_dead_man()
        self.cycles += 1
        rec = self.cycle_record(st, decision, now_wall)
        self.journal.append("cycle", f"cycle:{uuid.uuid4().hex}", rec, st.ts_ms)
        counts = {
            "fills": self.journal.count("fill"),
            "decisions": self.journal.count("decision"),
            "intents": self.journal.count("intent"),
        }
        with self._lock:
            self.journal_counts = counts
            self.last_state = st
            self.history.append(
                {
                    k: rec[k]
                    for k in ("ts_ms", "alpha", "equity_usd", "leverage", "funding_usd", "pnl_usd", "liq_distance")
                }
            )
        self.last_cycle_wall = time.time()
        return rec

    def _check_drawdown(self, st: VenueState) -> None:
        """Circuit breaker: equity more than ``limits.max_drawdown_pct`` below its peak over the last
        ``limits.drawdown_window_s`` (venue time) halts new risk until `basisctl ack` (alert DRAWDOWN)."""
        lim = self.cfg.limits
        hist = self._equity_hist
        hist.append((st.ts_ms, st.equity))
        while hist and hist[0][0] < st.ts_ms - lim.drawdown_window_s * 1000:
            hist.popleft()
        peak = max(e for _, e in hist)
        dd = (peak - st.equity) / peak * 100.0 if peak > 0 else 0.0
        if dd > lim.max_drawdown_pct and self.halt_kind != "DRAWDOWN":
            self._halt("DRAWDOWN", f"equity ${st.equity:,.0f} is {dd:.2f}% below its peak ${peak:,.0f} within "
                       f"{lim.drawdown_window_s:g}s (max_drawdown_pct {lim.max_drawdown_pct:g}): no new risk",
                       persist=not self.ack_required)

    def refresh_dead_man(self) -> None:
        secs = self.cfg.venue.dead_man_seconds
        if secs > 0:
            try:
                self.venue.schedule_cancel(self._now() + int(secs * 1000))
            except (VenueError, VenueUnavailable) as e:
                self.errors.appendleft(f"scheduleCancel failed: {e}")

    def cycle_record(self, st: VenueState, d: Decision | None, wall: float) -> dict[str, Any]:
        g = self.journal.genesis()
        funding = self.journal.sum_payload("funding", "amount_usd")  # in SQLite: no per-row decode per cycle
        liq = st.liquidation_px
        return {
            "ts_ms": st.ts_ms,
            "wall_s": wall,
            "alpha": st.alpha,
            "equity_usd": st.equity,
            "perp_account_value": st.perp_account_value,
            "spot_value": st.spot_value,
            "leverage": st.leverage,
            "liq_px": liq if math.isfinite(liq) else None,
            "liq_distance": (liq / st.mark_px - 1.0) if math.isfinite(liq) else None,
            "funding_usd": funding,
            "pnl_usd": st.equity - float(g.payload["equity"]) if g else 0.0,
            # the balances and prices of this snapshot (P&L attribution, basisctl/pnl)
            "spot_mid": st.spot_mid,
            "mark_px": st.mark_px,
            "spot_base": st.spot_base,
            "spot_usdc": st.spot_usdc,
            "perp_size": st.perp_size,
            "perp_cash": st.perp_cash,
            "unhedged_usd": st.unhedged_usd,
            "action": d.action.name.lower() if d else None,
            "halted": self.halted,
        }

    def run(self, max_cycles: int | None = None, advance: Callable[[float], None] | None = None) -> int:
        """Start, then cycle until ``max_cycles`` or SIGTERM. Returns cycles run. Read failures are alerted
        and skipped (``safe_cycle``); the loop ends only on SIGTERM, ``max_cycles`` or the end of replay data."""
        self.start()
        n = 0
        while not self.stop_requested and (max_cycles is None or n < max_cycles):
            self.safe_cycle()
            n += 1
            if self.stop_requested or (max_cycles is not None and n >= max_cycles):
                break
            (advance or self._sleep)(self.cfg.cadence_seconds)
        for attempt in range(5):  # a last ingest so the journal holds every event (a failed read is retried)
            try:
                if self.halted and self.cfg.safety.flatten_on_kill and not self.flattened:
                    self.flatten(self.read_state())
                self.ingest()
                break
            except (VenueUnavailable, VenueError) as e:
                why = f"final ingest failed ({e}); retry {attempt + 1}/5"
                self.alerts.raise_("VENUE_UNAVAILABLE", why, self._now())
                self._wall_sleep(self.backoff.next_delay())
        return n
