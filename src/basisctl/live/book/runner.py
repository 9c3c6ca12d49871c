"""A book: N positions, one process, one journal; each position runs the unchanged single-position Controller.

Per book cycle every position runs its own ``safe_cycle`` (its own band, calibration and ``decide`` call) in a
bulkhead: an exception in one position's cycle is caught, journaled under that position (``error`` entry +
``CYCLE_ERROR`` alert) and halts that position's NEW risk only; the other positions' cycles - their repairs,
unwinds, collateral raises - run in the same book cycle regardless. A position whose venue is down at start-up
does not hold the others back either: its start is retried at the next book cycle. Book limits gate new risk
only (:mod:`basisctl.live.book.limits`, through :class:`PositionController.execute`). The book kill switch is
the positions' shared kill file (every position halts new risk; ``kill.flatten`` flattens each).
"""

from __future__ import annotations

import contextlib
import signal
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.errors import BasisctlError, DataCoverageError
from basisctl.live.book.config import BookFile, PositionSpec, position_config
from basisctl.live.book.limits import Exposure, gross_usd, new_risk_refusal, opening_refusal
from basisctl.live.calibration import calibrate_band
from basisctl.live.config import ConfigError, ControllerConfig
from basisctl.live.controller import Controller
from basisctl.live.journal import Journal
from basisctl.live.runner import check_config_binding, check_paths, lock_journal, lock_sim_account, lock_trade_log
from basisctl.live.sim_venue import PriceReplay, SimVenue
from basisctl.live.venue import VenueError, VenueState, VenueUnavailable
from basisctl.model.policy import Action, CostCurve, Decision

#: root-scope journal kinds of the book itself
BOOK_KIND = "book"
BOOK_CYCLE_KIND = "book_cycle"


class _StartDeferred(Exception):
    """A position's start-up met an unavailable venue: retried at the next book cycle (bulkhead)."""


class PositionController(Controller):
    """The single-position Controller with the book's new-risk gate on buy-basis rebalances."""

    position_id: str = ""
    gate: Callable[[PositionController, Decision, VenueState], str | None] | None = None
    _last_refusal: str = ""

    def execute(self, d: Decision, st: VenueState, curves: tuple[CostCurve, CostCurve]) -> None:
        if self.gate is not None and d.action is Action.LOWER_COLLATERAL:  # the only action that adds risk
            why = self.gate(self, d, st)
            if why is not None:
                rec = {"action": d.action.name.lower(), "q_hat_usd": d.q_hat_usd, "reason": f"book limit: {why}"}
                self.journal.append("refusal", f"refusal:{uuid.uuid4().hex}", rec, st.ts_ms)
                if why != self._last_refusal:  # alert once per distinct reason
                    self.alerts.raise_("BOOK_LIMIT", f"buy-basis rebalance refused: {why}", st.ts_ms)
                self._last_refusal = why
                with self._lock:
                    if self.recent_decisions:
                        self.recent_decisions[0] = {**self.recent_decisions[0], "blocked": f"book limit: {why}"}
                return
        self._last_refusal = ""
        super().execute(d, st, curves)


@dataclass
class BookPosition:
    """One position of a running book."""

    spec: PositionSpec
    cfg: ControllerConfig
    ctl: PositionController
    venue: SimVenue
    started: bool = False
    errors: int = 0
    last_error: str = ""
    last_cycle_ms: int | None = None
    last_cycle_wall: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _replay(venue: str, asset: str) -> PriceReplay:
    """Prices and recorded funding of ``venue``: its own perp 1h candles where the data dir has them (else
    Hyperliquid's), and its own funding settlements."""
    from basisctl.data import locator

    try:
        candles = locator.load_candles(f"{venue}_perp", asset, "1h")
    except BasisctlError:
        candles = locator.load_candles("hyperliquid_perp", asset, "1h")
    return PriceReplay(asset, candles, locator.load_funding(venue, asset))


def build_position(book: BookFile, p: PositionSpec, journal: Journal, source: str,
                   force_config: bool = False, journal_lock: Any = None) -> BookPosition:
    """The controller of position ``p`` on its own simulated venue (paper), writing to ``journal``'s scope."""
    cfg = position_config(book, p, source)
    if cfg.venue.kind != "sim":
        raise ConfigError(f"{source}: position '{p.id}': a book runs in paper mode on simulated venues (venue.kind "
                          "= 'sim'); a live book needs per-position margin (docs/operations.md, Books)")
    check_paths(cfg)
    locks = [lk for lk in (journal_lock, lock_sim_account(cfg), lock_trade_log(cfg)) if lk is not None]
    pj = journal.scoped(p.id)
    check_config_binding(cfg, pj, force_config)
    replay = _replay(p.venue, p.asset)
    start = pd.Timestamp(cfg.sim.start)
    asof = pd.Timestamp(cfg.band.asof) if cfg.band.asof else start
    policy, info = calibrate_band(cfg, asof, cfg.sim.capital_usd)
    p0 = replay.mid(int(start.value // 10**6))
    sim = SimVenue(cfg.resolve(cfg.sim.state_file), cfg.sim_config(policy.alpha_target, p0), replay)
    ctl = PositionController(cfg, sim, pj, policy, info, sleep=sim.advance if sim.config.clock == "manual" else None)
    ctl.position_id = p.id
    ctl.lock_checks = [lk.problem for lk in locks]  # every cycle, as the single-position runner does
    ctl.held_locks = locks  # /health's lock check (live/api.py)
    return BookPosition(p, cfg, ctl, sim, info=info)


class Book:
    """A running book (see the module docstring). ``positions`` in book-file order."""

    def __init__(self, book: BookFile, journal: Journal, positions: list[BookPosition], source: str = "<book>"):
        self.book = book
        self.journal = journal
        self.positions = positions
        self.source = source
        self.cycles = 0
        self.stop_requested = False
        self.kill_file = book.resolve(book.kill.file)
        self.last_cycle_wall: float | None = None
        for bp in positions:
            bp.ctl.gate = self._gate

    # ------------------------------------------------------------------ limits
    def exposures(self) -> list[Exposure]:
        out = []
        for bp in self.positions:
            st = bp.ctl.last_state
            out.append(Exposure(bp.spec.id, bp.spec.venue, bp.spec.asset, gross_usd(st) if st else None,
                                st.unhedged_usd if st else None))
        return out

    def _gate(self, ctl: PositionController, d: Decision, st: VenueState) -> str | None:
        rows = [Exposure(r.id, r.venue, r.asset, gross_usd(st), st.unhedged_usd) if r.id == ctl.position_id else r
                for r in self.exposures()]
        return new_risk_refusal(self.book.limits, rows, ctl.position_id, 2.0 * d.q_hat_usd)

    def check_opening(self) -> None:
        """Refuse (ConfigError) a book whose positions' opening gross notional already breaks a book limit."""
        rows = []
        for bp in self.positions:
            if bp.ctl.journal.genesis() is not None:
                continue  # already open: its exposure is checked by the cycle's gate
            a = bp.ctl.policy.alpha_target
            rows.append(Exposure(bp.spec.id, bp.spec.venue, bp.spec.asset, 2.0 * (1.0 - a) * bp.cfg.sim.capital_usd,
                                 0.0))
        why = opening_refusal(self.book.limits, rows) if rows else None
        if why is not None:
            raise ConfigError(f"{self.source}: field 'limits': opening the book breaks a limit: {why}")

    # ------------------------------------------------------------------ loop
    def install_signal_handlers(self) -> None:
        """SIGUSR1: every position halts new risk. SIGTERM: halt all and stop after this book cycle."""

        def on_usr1(signum: int, frame: object) -> None:
            for bp in self.positions:
                bp.ctl._halt("KILL_SWITCH", "SIGUSR1 received: no new risk")

        def on_term(signum: int, frame: object) -> None:
            self.stop_requested = True
            for bp in self.positions:
                bp.ctl._halt("KILL_SWITCH", "SIGTERM received: no new risk, stopping after this cycle")
                bp.ctl.stop_requested = True

        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGTERM, on_term)

    def _contain(self, bp: BookPosition, what: str, e: BaseException) -> None:
        """Journal an exception of one position's ``what`` under that position and halt its new risk."""
        bp.errors += 1
        bp.last_error = f"{what}: {type(e).__name__}: {' '.join(str(e).split())}"[:500]
        ctl = bp.ctl
        with contextlib.suppress(Exception):
            ctl.journal.append("error", f"error:{uuid.uuid4().hex}",
                               {"what": what, "error": bp.last_error, "trace": traceback.format_exc()[-2000:]},
                               ctl._now())
        ctl._halt("CYCLE_ERROR", f"{bp.last_error} (contained: other positions go on; new risk halted here)")

    def _start_one(self, bp: BookPosition) -> None:
        ctl = bp.ctl

        def defer(seconds: float) -> None:
            raise _StartDeferred()

        ctl._wall_sleep = defer  # a down venue defers this position's start instead of blocking the book
        try:
            ctl.start()
            bp.started = True
        except _StartDeferred:
            pass
        finally:
            ctl._wall_sleep = ctl._interruptible_sleep

    def start(self) -> None:
        """Journal the book, then start every position (genesis, in-flight intents, ingest) in its bulkhead."""
        self.journal.append(BOOK_KIND, f"book:{uuid.uuid4().hex}", {
            "positions": [{**bp.spec.model_dump(mode="json"), "capital_usd": bp.cfg.sim.capital_usd}
                          for bp in self.positions],
            "limits": self.book.limits.model_dump(mode="json"), "kill": self.book.kill.model_dump(mode="json"),
        }, int(time.time() * 1000))
        for bp in self.positions:
            try:
                self._start_one(bp)
            except DataCoverageError:
                raise
            except Exception as e:
                self._contain(bp, "start", e)

    def cycle(self) -> dict[str, Any]:
        """One book cycle: every position's cycle in its bulkhead; returns (and journals) the book record."""
        rec: dict[str, Any] = {}
        for bp in self.positions:
            ctl = bp.ctl
            row: dict[str, Any] = {"ran": False}
            try:
                if not bp.started:
                    self._start_one(bp)
                if bp.started:
                    out = ctl.safe_cycle()
                    row["ran"] = out is not None
                    if out is not None:
                        bp.last_cycle_ms, bp.last_cycle_wall = int(out["ts_ms"]), time.time()
                        row.update(alpha=out["alpha"], unhedged_usd=out["unhedged_usd"], action=out["action"])
            except DataCoverageError:
                raise
            except Exception as e:
                self._contain(bp, "cycle", e)
                row["error"] = bp.last_error
            row.update(halted=ctl.halted, halt=ctl.halt_kind)
            try:  # the position's OWN reasons to hold protective orders back (journal vs venue, undecided intents)
                row["blocked_own"] = bool(ctl._mismatch) or bool(ctl.journal.open_intents())
            except BasisctlError:
                row["blocked_own"] = True
            rec[bp.spec.id] = row
        self.cycles += 1
        self.last_cycle_wall = time.time()
        with contextlib.suppress(BasisctlError):  # each position's cycle halts on storage failure itself
            self.journal.append(BOOK_CYCLE_KIND, f"book_cycle:{uuid.uuid4().hex}", {"positions": rec},
                                int(time.time() * 1000))
        return rec

    def advance(self, seconds: float) -> None:
        """Paper replay on the manual clock: every position's simulated venue moves ``seconds`` of venue time."""
        for bp in self.positions:
            if bp.venue.config.clock == "manual":
                bp.venue.advance(seconds)

    def cadence(self) -> float:
        return min(bp.cfg.cadence_seconds for bp in self.positions)

    def run(self, max_cycles: int | None = None, sleep: Callable[[float], None] | None = None) -> int:
        """Start, then cycle until ``max_cycles``, SIGTERM or the end of the replay; returns book cycles run."""
        self.start()
        n = 0
        while not self.stop_requested and (max_cycles is None or n < max_cycles):
            try:
                self.cycle()
            except DataCoverageError:
                break
            n += 1
            if self.stop_requested or (max_cycles is not None and n >= max_cycles):
                break
            try:
                (sleep or self._default_sleep)(self.cadence())
            except DataCoverageError:
                break
        self.finish()
        return n

    def _default_sleep(self, seconds: float) -> None:
        if all(bp.venue.config.clock == "manual" for bp in self.positions):
            self.advance(seconds)
        else:
            time.sleep(seconds)

    def finish(self) -> None:
        """A last flatten (kill with flatten) and ingest per position, each in its bulkhead."""
        for bp in self.positions:
            ctl = bp.ctl
            try:
                if ctl.halted and bp.cfg.safety.flatten_on_kill and not ctl.flattened:
                    ctl.flatten(ctl.read_state())
                ctl.ingest()
            except (VenueUnavailable, VenueError, DataCoverageError) as e:
                ctl.alerts.raise_("VENUE_UNAVAILABLE", f"final ingest failed ({e})", ctl._now())
            except Exception as e:
                self._contain(bp, "finish", e)

    # ------------------------------------------------------------------ kill switch and surface
    def kill(self, note: str = "") -> Path:
        """The book kill switch: create the kill file (every position halts new risk at its next cycle)."""
        self.kill_file.parent.mkdir(parents=True, exist_ok=True)
        self.kill_file.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {note}\n")
        return self.kill_file

    @property
    def halted(self) -> bool:
        return any(bp.ctl.halted for bp in self.positions)

    def position_rows(self) -> list[dict[str, Any]]:
        """One entry per position (what /positions returns)."""
        out = []
        for bp in self.positions:
            ctl = bp.ctl
            st = ctl.last_state
            p = ctl.policy
            out.append({
                "id": bp.spec.id, "asset": bp.spec.asset, "venue": bp.spec.venue,
                "capital_usd": bp.cfg.sim.capital_usd,
                "alpha": st.alpha if st else None,
                "band": {"alpha_lower": p.alpha_lower, "alpha_target": p.alpha_target, "alpha_upper": p.alpha_upper},
                "hedge_gap_usd": st.unhedged_usd if st else None,
                "equity_usd": st.equity if st else None,
                "gross_notional_usd": gross_usd(st) if st else None,
                "halted": ctl.halted, "halt_reason": ctl.halt_reason, "halt_kind": ctl.halt_kind,
                "cycles": ctl.cycles, "errors": bp.errors, "last_error": bp.last_error,
                "last_cycle": {"ts_ms": bp.last_cycle_ms, "wall_s": bp.last_cycle_wall},
                "started": bp.started,
                "alert_counts": dict(ctl.alerts.counts),
            })
        return out

    def totals(self) -> dict[str, Any]:
        """Book totals [USD]; None where any position is unknown."""
        rows = self.exposures()
        known = all(r.gross_usd is not None for r in rows)
        eq = [bp.ctl.last_state.equity for bp in self.positions if bp.ctl.last_state is not None]
        return {
            "positions": len(rows),
            "halted_positions": sum(1 for bp in self.positions if bp.ctl.halted),
            "gross_notional_usd": sum(float(r.gross_usd or 0.0) for r in rows) if known else None,
            "unhedged_usd": sum(float(r.unhedged_usd or 0.0) for r in rows) if known else None,
            "equity_usd": sum(eq) if len(eq) == len(rows) else None,
            "killed": self.kill_file.exists(),
            "cycles": self.cycles,
        }


def build_book(book: BookFile, source: str = "<book>", force_config: bool = False) -> Book:
    """Every position on its own simulated venue, one journal (locked), checked against the opening limits."""
    from basisctl.live.config import parse_config

    jpath = book.resolve(book.journal)
    # the journal lock through the runner's helper (one holder per journal, re-entrant in this process)
    jlock = lock_journal(parse_config({"journal": str(jpath)}, source, book.base_dir))
    journal = Journal(jpath)
    positions = [build_position(book, p, journal, source, force_config, jlock) for p in book.positions]
    b = Book(book, journal, positions, source)
    b.check_opening()
    return b
