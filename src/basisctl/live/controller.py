"""The live/paper controller: observe -> alpha_t and band -> policy.decide -> execute, journaled write-ahead.

One cycle
---------
0. An operator's `basisctl ack` lifts a persisted halt (EXTERNAL_POSITION_CHANGE, ONE_LEGGED_TIMEOUT).
1. Kill switch (file / SIGUSR1 / SIGTERM) -> no new risk; optional flatten.
2. Observe the venue (prices, balances, position). A missing or malformed field is UNKNOWN: the cycle is
   skipped and nothing is sent (``read_state``; ``safe_cycle`` turns read failures into alerts). Stale prices
   -> no new risk this cycle (alert); hedge repair still runs, in base units.
3. Resolve in-flight intents left by a crash (``reconcile.resolve_order`` / ``resolve_transfer``); while any is
   undecided (WAIT) nothing new is sent.
4. Ingest fills, funding payments and transfers into the journal (idempotent by venue id); compare the
   journal-derived balances with the venue's (POSITION_MISMATCH halts new risk).
5. External position changes (fills no journaled order explains: liquidation, ADL, manual) -> spot back to the
   hedged size or re-hedge, halt until ack. One-legged repair: |spot + perp| x px above the tolerance -> perp
   order(s) sized from this cycle's read, capped, refused while journal and venue disagree; unhedged beyond the
   configured cycles, time or notional -> ONE_LEGGED_ESCALATION (halt new risk, keep repairing); past
   single_leg_timeout_s -> one_legged_action (unwind spot / halt).
6. Sweep idle USDC on the spot account into perp margin (completes a rebalance interrupted after its trades).
7. alpha_t = perp account value / (perp account value + spot inventory incl. idle spot USDC) and
   ``basisctl.model.policy.decide`` (THE shared policy) with side-specific cost curves.
8. Execute: RAISE_COLLATERAL / EMERGENCY (sell-basis): sell spot -> buy back perp (the filled size) -> move the
   spot USDC into margin. LOWER_COLLATERAL (buy-basis): withdraw margin -> buy spot -> sell perp (filled size)
   -> sweep leftovers back. Spot leg first, then the hedge (paper Sec. 10).

Every order/transfer intent (cloid / nonce / expiry) is committed to the journal BEFORE it is sent.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.live.backoff import Backoff
from basisctl.live.config import ControllerConfig
from basisctl.live.guards import Caps, UnhedgedTracker, VenueDataError, cap_violation, resolve_unknowns
from basisctl.live.journal import Journal
from basisctl.live.reconcile import (
    Verdict,
    hedge_repair,
    position_mismatches,
    resolve_order,
    resolve_transfer,
)
from basisctl.live.trade_log import TRADE_LOG_COLUMNS, sync_trade_log  # noqa: F401  (re-exported)
from basisctl.live.venue import (
    BookSide,
    Market,
    OrderRequest,
    Side,
    TransferRequest,
    Venue,
    VenueError,
    VenueState,
    VenueUnavailable,
    new_cloid,
)
from basisctl.model.policy import Action, BandPolicy, CostCurve, Decision, decide

CRASHPOINT_ENV = "BASISCTL_CRASHPOINT"
INGEST_OVERLAP_MS = 3_600_000  # re-read this much before the newest journaled event of a kind [ms]
#: halts that persist in the journal and are lifted only by `basisctl ack`
ACK_HALTS = ("EXTERNAL_POSITION_CHANGE", "ONE_LEGGED_TIMEOUT")


def maybe_crash(name: str) -> None:
    """Chaos hook: SIGKILL this process at the named point when ``BASISCTL_CRASHPOINT`` = 'name' or 'name@k'
    (the k-th time the point is reached in this process). No effect otherwise."""
    spec = os.environ.get(CRASHPOINT_ENV)
    if not spec:
        return
    want, _, nth = spec.partition("@")
    if want != name:
        return
    _CRASH_HITS[name] = _CRASH_HITS.get(name, 0) + 1
    if _CRASH_HITS[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_HITS: dict[str, int] = {}


# ---------------------------------------------------------------------------------------------- cost curves
def walk_cost_bps(levels: BookSide, mid: float, notional_usd: float) -> float:
    """Average distance of the fill from mid when taking ``notional_usd`` [USD] from a book side [bps].
    Beyond the visible book the last level's distance is extended (conservative: x2)."""
    if notional_usd <= 0 or not levels.levels:
        return 0.0
    left, cost_usd = notional_usd, 0.0
    for px, sz in levels.levels:
        take = min(left, px * sz)
        cost_usd += take * abs(px / mid - 1.0)
        left -= take
        if left <= 1e-9:
            break
    if left > 1e-9:
        cost_usd += left * 2.0 * abs(levels.levels[-1][0] / mid - 1.0)
    return cost_usd / notional_usd * 1e4


def book_cost_curves(
    venue: Venue, state: VenueState, spot_fee_bps: float, perp_fee_bps: float, max_notional_usd: float
) -> tuple[CostCurve, CostCurve]:
    """(sell-basis, buy-basis) CostCurves [bps of spot notional] from the current spot and perp books:
    fees of both legs + impact of walking each book."""
    sb, sa = venue.book("spot")
    pb, pa = venue.book("perp")
    fees = spot_fee_bps + perp_fee_bps

    def sell(q: float) -> float:
        return fees + walk_cost_bps(sb, state.spot_mid, q) + walk_cost_bps(pa, state.mark_px, q)

    def buy(q: float) -> float:
        return fees + walk_cost_bps(sa, state.spot_mid, q) + walk_cost_bps(pb, state.mark_px, q)

    return (CostCurve.from_function(sell, max_notional_usd, 32), CostCurve.from_function(buy, max_notional_usd, 32))


# ---------------------------------------------------------------------------------------------- alerts
@dataclass
class Alerts:
    """Alert sink: journal entry + one line in the alert log + the recent list shown by /state."""

    journal: Journal
    log_path: Path | None
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    counts: dict[str, int] = field(default_factory=dict)

    def raise_(self, kind: str, message: str, ts_ms: int, **extra: Any) -> None:
        rec = {"kind": kind, "message": message, "ts_ms": ts_ms, **extra}
        self.recent.appendleft(rec)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.journal.append("alert", f"alert:{uuid.uuid4().hex}", rec, ts_ms)
        if self.log_path is not None:
            with open(self.log_path, "a") as fh:
                fh.write(f"{pd.Timestamp(ts_ms, unit='ms', tz='UTC').isoformat()} {kind} {message}\n")


# ---------------------------------------------------------------------------------------------- controller
@dataclass
class LegResult:
    cloid: str
    filled: float  # [base units]
    avg_px: float  # [USD]
    verdict: str


class Controller:
    """Runs the band policy against one venue with a durable journal. See the module docstring."""

    def __init__(
        self,
        cfg: ControllerConfig,
        venue: Venue,
        journal: Journal,
        policy: BandPolicy,
        band_info: dict[str, Any] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        self.cfg = cfg
        self.venue = venue
        self.journal = journal
        self.policy = policy
        self.band_info = band_info or {}
        self._sleep = sleep or time.sleep
        self._wall_sleep: Callable[[float], None] = self._interruptible_sleep  # backoff waits are real time
        lim = cfg.limits
        self.tracker = UnhedgedTracker(
            lim.max_unhedged_seconds, lim.max_unhedged_usd, lim.max_unhedged_cycles, lim.single_leg_timeout_s
        )
        self.caps = Caps(lim.max_order_usd, lim.max_position_usd, lim.max_gross_notional_usd)
        self.alerts = Alerts(journal, cfg.resolve(cfg.safety.alert_log))
        self.kill_file = cfg.resolve(cfg.safety.kill_file)
        #: each returns None while this process's journal / account locks are intact, else why not (runner sets)
        self.lock_checks: list[Callable[[], str | None]] = []
        self.halted = False
        self.halt_reason = ""
        self.halt_kind = ""
        self.ack_required = ""  # a persisted halt (journal 'control' entry) waiting for `basisctl ack`
        self.backoff = Backoff(0.5, 30.0)
        self.read_failures = 0  # consecutive cycles aborted by a failed or incomplete read
        self.clock_skew_ms: float | None = None
        self._skew_alerted = False
        self._cap_state: VenueState | None = None  # the state the caps of the next order are checked against
        self._mismatch = False
        self._stale = False
        self.stop_requested = False
        self.flattened = False
        self.cycles = 0
        self.last_state: VenueState | None = None
        self.last_decision: Decision | None = None
        self.recent_decisions: deque[dict[str, Any]] = deque(maxlen=50)
        self.recent_trades: deque[dict[str, Any]] = deque(maxlen=50)
        self.history: deque[dict[str, Any]] = deque(maxlen=2000)
        self.errors: deque[str] = deque(maxlen=20)
        self.last_cycle_wall: float | None = None
        self.journal_counts: dict[str, int] = {"fills": 0, "decisions": 0, "intents": 0}
        self._lock = threading.Lock()
        self.trade_log = cfg.resolve(cfg.trade_log)
        self.sz_spot = cfg.venue.spot_sz_decimals
        self.sz_perp = cfg.venue.sz_decimals
        # aggregator spot route (live/route): the venue quotes + cost-checks spot swaps before any intent
        self.spot_route: Any = venue if hasattr(venue, "spot_precheck") else None

    # ------------------------------------------------------------------ signals and kill switch
    def install_signal_handlers(self) -> None:
        """SIGUSR1: halt new risk (keep monitoring/repairing). SIGTERM: halt, optional flatten, then exit."""

        def on_usr1(signum: int, frame: object) -> None:
            self._halt("KILL_SWITCH", "SIGUSR1 received: no new risk")

        def on_term(signum: int, frame: object) -> None:
            self._halt("KILL_SWITCH", "SIGTERM received: no new risk, stopping after this cycle")
            self.stop_requested = True

        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGTERM, on_term)

    def _interruptible_sleep(self, seconds: float) -> None:
        """Real-time wait that ends early once SIGTERM asked the controller to stop [s]."""
        end = time.monotonic() + seconds
        while not self.stop_requested and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def _halt(self, kind: str, why: str, persist: bool = False) -> None:
        """Halt new risk. ``persist``: journal the halt so it survives restarts until `basisctl ack`."""
        if persist:
            self.journal.append("control", f"halt:{uuid.uuid4().hex}", {"halt": kind, "why": why}, self._now())
            self.ack_required = why
        if not self.halted or (persist and self.halt_kind not in ACK_HALTS):
            self.halted = True
            self.halt_reason = why
            self.halt_kind = kind
            self.alerts.raise_(kind, why, self._now())

    def _restore_halt(self) -> None:
        """Start-up: a persisted halt with no later ack keeps the controller halted."""
        ctl = self.journal.entries("control")
        last_halt = max((e.seq for e in ctl if e.key.startswith("halt:")), default=None)
        last_ack = max((e.seq for e in ctl if e.key.startswith("ack:")), default=-1)
        if last_halt is not None and last_halt > last_ack:
            e = next(e for e in ctl if e.seq == last_halt)
            self.halted, self.halt_kind = True, str(e.payload["halt"])
            self.halt_reason = self.ack_required = f"{e.payload['why']} (awaiting `basisctl ack`)"

    def _check_ack(self) -> None:
        """Lift a persisted halt once an operator has run `basisctl ack` after it."""
        if not self.ack_required:
            return
        ctl = self.journal.entries("control")
        last_halt = max((e.seq for e in ctl if e.key.startswith("halt:")), default=-1)
        last_ack = max((e.seq for e in ctl if e.key.startswith("ack:")), default=-1)
        if last_ack > last_halt:
            self.ack_required = ""
            if self.halt_kind in ACK_HALTS:
                self.halted, self.halt_reason, self.halt_kind = False, "", ""
            self.alerts.raise_("ACKNOWLEDGED", "operator ack: new risk allowed again", self._now())

    def _now(self) -> int:
        try:
            return int(self.venue.now_ms())
        except Exception:  # the clock must never take the alert path down
            return int(time.time() * 1000)

    # ------------------------------------------------------------------ reads
    def read_state(self) -> VenueState:
        """One venue read with every balance KNOWN: a field the venue left out counts as zero only when the
        journal says we hold none of it; otherwise VenueDataError (the cycle is skipped, nothing is sent)."""
        st = self.venue.state()
        derived = self.journal.derived_position().to_dict() if self.journal.genesis() is not None else None
        if derived is None:  # genesis: an absent token is an empty balance (every later read is cross-checked)
            fix = {k: 0.0 for k in ("spot_base", "spot_usdc", "perp_size", "perp_cash") if math.isnan(getattr(st, k))}
            if fix:
                import dataclasses

                st = dataclasses.replace(st, **fix)  # type: ignore[arg-type]  # float fields only
        st = resolve_unknowns(st, derived)
        self._cap_state = st
        self._measure_skew()
        return st

    def _measure_skew(self) -> None:
        """Offset of the local clock to the venue's [ms] (venues that report one); CLOCK_SKEW past the bound."""
        off = getattr(self.venue, "clock_offset_ms", None)
        if off is None:
            return
        v = off() if callable(off) else off
        if v is None:
            return
        self.clock_skew_ms = float(v)
        bound_ms = self.cfg.limits.max_clock_skew_seconds * 1000.0
        if abs(self.clock_skew_ms) > bound_ms and not self._skew_alerted:
            self._skew_alerted = True
            self.alerts.raise_(
                "CLOCK_SKEW",
                f"local clock is {-self.clock_skew_ms / 1000:+.1f}s off the venue's (bound "
                f"{self.cfg.limits.max_clock_skew_seconds:g}s); expiry and staleness use venue time",
                self._now(),
            )
        elif abs(self.clock_skew_ms) <= bound_ms:
            self._skew_alerted = False

    # ------------------------------------------------------------------ journal helpers
    def _known_ids(self) -> tuple[list[str], list[str], list[str]]:
        return (
            [f.fill_id for f in self.venue.fills(0)],
            [f.funding_id for f in self.venue.funding_payments(0)],
            [t.transfer_id for t in self.venue.transfers(0)],
        )

    def _ensure_genesis(self, st: VenueState) -> None:
        """First start: record the venue's balances and the ids of every event already in them. The event lists
        are read before and after the balance snapshot until they agree, so no event straddles genesis."""
        if self.journal.genesis() is not None:
            return
        for _ in range(20):
            before = self._known_ids()
            st = self.read_state()
            after = self._known_ids()
            if before == after:
                break
        else:
            raise VenueUnavailable("venue events keep changing while taking the genesis snapshot; retry later")
        self.journal.append(
            "genesis",
            "genesis",
            {
                "spot_base": st.spot_base,
                "spot_usdc": st.spot_usdc,
                "perp_size": st.perp_size,
                "perp_cash": st.perp_cash,
                "equity": st.equity,
                "ts_ms": st.ts_ms,
                "known_fills": after[0],
                "known_funding": after[1],
                "known_transfers": after[2],
            },
            st.ts_ms,
        )

    def check_positions(self) -> tuple[VenueState, dict[str, tuple[float, float]]]:
        """Journal-derived vs venue balances on a stable read: ingest -> state -> ingest, repeated until the
        second ingest finds nothing new (an event settling in between would fake a mismatch)."""
        self.ingest()
        for _ in range(5):
            st = self.read_state()
            if self.ingest() == 0:
                return st, position_mismatches(self.journal.derived_position().to_dict(), st)
        # events keep arriving between the reads (hourly funding on a fast simulated clock): the read is complete
        # but cannot be compared this cycle. Repairs still obey the journal-measured exposure; the comparison
        # runs again next cycle. (Aborting the cycle here left a liquidation unhedged for 23 s in the chaos soak.)
        self.alerts.raise_("UNSTABLE_READ", "events arrived during every read: position check skipped", st.ts_ms)
        return st, {}

    def ingest(self) -> int:
        """Pull fills, funding and transfers from the venue into the journal (each once, by venue id).

        Each kind is read from a cursor: the newest journaled timestamp of that kind minus ``INGEST_OVERLAP_MS``
        (genesis time before the first), so venue pagination limits never starve it. Returns new entries."""
        g = self.journal.genesis()
        assert g is not None
        g_ts = int(g.payload["ts_ms"])

        def since(kind: str) -> int:
            last = self.journal.max_ts(kind)
            return (g_ts if last is None else last) - INGEST_OVERLAP_MS

        def ingest(kind: str, known: str, events: Iterable[Any], event_id: Callable[[Any], str],
                   payload: Callable[[Any], dict[str, Any]]) -> int:
            """Append each venue event once, keyed '<kind>:<id>' (already journaled or known at genesis: skip)."""
            skip = set(g.payload.get(known, []))
            added = 0
            for e in events:
                eid = event_id(e)
                if eid in skip or self.journal.has(f"{kind}:{eid}"):
                    continue
                added += self.journal.append(kind, f"{kind}:{eid}", payload(e), e.ts_ms)
            return added

        new_fills: list[Any] = []

        def fill_payload(f: Any) -> dict[str, Any]:
            new_fills.append(f)
            return {"fill_id": f.fill_id, "cloid": f.cloid, "market": f.market, "side": f.side, "size": f.size,
                    "px": f.px, "fee_usd": f.fee_usd, "fee_base": f.fee_base, "ts_ms": f.ts_ms,
                    "external": getattr(f, "external", "")}

        n = ingest("fill", "known_fills", self.venue.fills(since("fill")), lambda f: f.fill_id, fill_payload)
        for f in new_fills:
            if self.journal.has(f"fill:{f.fill_id}") and not (f.cloid and self.journal.has(f"intent:{f.cloid}")):
                self._external_fill(f)
        n += ingest("funding", "known_funding", self.venue.funding_payments(since("funding")),
                    lambda p: p.funding_id,
                    lambda p: {"amount_usd": p.amount_usd, "rate": p.rate, "size": p.size, "ts_ms": p.ts_ms})
        n += ingest("transfer", "known_transfers", self.venue.transfers(since("transfer")),
                    lambda t: t.transfer_id, lambda t: {
                        "transfer_id": t.transfer_id, "nonce": t.nonce, "amount_usd": t.amount_usd,
                        "to_perp": t.to_perp, "ts_ms": t.ts_ms})
        return n

    def _external_fill(self, f: Any) -> None:
        """A fill no journaled order explains: venue liquidation, auto-deleveraging or a manual trade."""
        what = getattr(f, "external", "") or "no journaled order"
        rec = {"fill_id": f.fill_id, "market": f.market, "side": f.side, "size": f.size, "px": f.px,
               "cause": what, "ts_ms": f.ts_ms}
        if self.journal.append("external", f"external:{f.fill_id}", rec, f.ts_ms):
            self._halt(
                "EXTERNAL_POSITION_CHANGE",
                f"{f.market} {f.side} {f.size} @ {f.px} not from a journaled order ({what}); "
                f"{self.cfg.safety.external_change_action} to the hedged size, no new risk until `basisctl ack`",
                persist=True,
            )

    def pending_external(self) -> list[str]:
        """Fill ids of external position changes not yet brought back to a hedged book."""
        return [e.payload["fill_id"] for e in self.journal.entries("external")
                if not self.journal.has(f"rehedged:{e.payload['fill_id']}")]

    def handle_external(self, st: VenueState) -> VenueState:
        """After an external change: 'unwind' brings spot back to the hedged size (|perp|); 'rehedge' re-opens
        the perp to the spot size. Each external event is marked re-hedged once the gap is within tolerance."""
        pending = self.pending_external()
        if not pending:
            return st
        if self.cfg.safety.external_change_action == "unwind":
            st = self.unwind_spot(st, "external")
        else:
            st = self.repair_hedge(st)
        if st.unhedged_usd <= self.cfg.limits.hedge_tolerance_usd:
            for fid in pending:
                self.journal.append("external", f"rehedged:{fid}", {"fill_id": fid, "gap": st.hedge_gap}, st.ts_ms)
        return st

    def unwind_spot(self, st: VenueState, plan: str) -> VenueState:
        """Trade SPOT back to the hedged size (spot_base = -perp_size), in slices within the caps."""
        slip = self.cfg.costs.emergency_slippage_bps
        tol_base = self.cfg.limits.hedge_tolerance_usd / st.spot_mid
        plan = f"{plan}-unwind-{uuid.uuid4().hex[:12]}"
        total = round(abs(st.hedge_gap), self.sz_spot)
        for _ in range(20):
            gap = st.hedge_gap  # > 0: too much spot
            if abs(gap) <= tol_base:
                break
            side: Side = "sell" if gap > 0 else "buy"
            size = min(abs(gap), self.caps.max_order_usd / st.spot_mid)
            if side == "sell":
                size = min(size, st.spot_base)
            else:
                size = min(size, max(st.spot_usdc, 0.0) / (st.spot_mid * (1 + slip / 1e4) * 1.01))
            size = math.floor(size * 10**self.sz_spot) / 10**self.sz_spot
            if size <= 0:
                self.alerts.raise_("UNWIND_BLOCKED", f"cannot {side} spot to unwind gap {gap:+.6f}", st.ts_ms)
                break
            r = self.send_order(plan, "unwind", "spot", side, size, self._limit(st.spot_mid, side, slip),
                                plan_qty=total)
            self.ingest()
            st = self.read_state()
            if r.filled <= 0:
                break
        return st

    # ------------------------------------------------------------------ reconciliation of in-flight intents
    def reconcile_intents(self, wait_budget_s: float = 30.0) -> int:
        """Resolve every open intent; cancels resting orders; waits (bounded) for undecided ones.
        Returns the number still undecided (0 = safe to act)."""
        deadline = time.monotonic() + wait_budget_s
        while True:
            pending = 0
            claimed = {
                str(e.payload.get("transfer_id"))
                for e in self.journal.entries("result")
                if e.payload.get("transfer_id")
            }
            for e in self.journal.open_intents():
                p = e.payload
                now = self._now()
                if p["kind"] == "order":
                    res = resolve_order(p, self.venue.order_status(p["cloid"]), now)
                    if res.verdict is Verdict.CANCEL:
                        self.venue.cancel(p["market"], p["cloid"])
                        res = resolve_order(p, self.venue.order_status(p["cloid"]), now)
                else:
                    res = resolve_transfer(p, self.venue.transfers(int(p["created_ms"]) - 60_000), claimed, now)
                if not res.final:
                    pending += 1
                    continue
                self.journal.append(
                    "result",
                    "result:" + e.key[7:],
                    {
                        "verdict": res.verdict.value,
                        "filled": res.filled_size,
                        "avg_px": res.avg_px,
                        "transfer_id": res.transfer_id,
                        "detail": res.detail,
                        "recovered": True,
                    },
                    now,
                )
                claimed.add(res.transfer_id)
            if pending == 0 or time.monotonic() > deadline:
                if pending:
                    self.alerts.raise_("RECONCILE_WAIT", f"{pending} in-flight intent(s) still undecided", self._now())
                return pending
            self._sleep(0.5)

    # ------------------------------------------------------------------ order / transfer primitives
    def _expiry(self) -> int:
        return self._now() + int(self.cfg.limits.action_expiry_seconds * 1000)

    def send_order(
        self,
        plan: str,
        leg: str,
        market: Market,
        side: Side,
        size: float,
        limit_px: float,
        reduce_only: bool = False,
        plan_qty: float | None = None,
    ) -> LegResult:
        """Journal the intent, send one IOC order, resolve its outcome (never re-sent), journal the result.
        An order that breaks a cap (checked against the latest complete read) is refused before any intent."""
        cloid = new_cloid()
        ref = self._cap_state
        why = "no complete venue read yet" if ref is None else cap_violation(self.caps, ref, market, side, size)
        if why:
            self.alerts.raise_("ORDER_CAPPED", f"{leg} {side} {size} {market} refused: {why}", self._now())
            return LegResult(cloid, 0.0, 0.0, "refused")
        now = self._now()
        intent: dict[str, Any] = {
            "kind": "order",
            "plan": plan,
            "leg": leg,
            "cloid": cloid,
            "market": market,
            "side": side,
            "size": size,
            "limit_px": limit_px,
            "reduce_only": reduce_only,
            "plan_qty": size if plan_qty is None else plan_qty,  # the economic intent's total [base]
            "created_ms": now,
            "expires_at_ms": self._expiry(),
        }
        self.journal.append_intent(f"intent:{cloid}", intent, now)
        maybe_crash(f"before_send:{leg}")
        req = OrderRequest(cloid, market, side, size, limit_px, int(intent["expires_at_ms"]), reduce_only)
        verdict, filled, avg = "rejected", 0.0, 0.0
        try:
            st = self.venue.place_order(req)
            res = resolve_order(intent, st, self._now())
            verdict, filled, avg = res.verdict.value, res.filled_size, res.avg_px
            if not res.final:  # resting (not expected for IOC): cancel and resolve by cloid
                verdict, filled, avg = self._resolve_unknown_order(intent)
        except VenueError as e:
            self.alerts.raise_("ORDER_REJECTED", f"{leg} {side} {size} {market}: {e}", self._now())
        except VenueUnavailable as e:
            self.alerts.raise_("VENUE_UNAVAILABLE", f"{leg} outcome unknown ({e}); resolving by cloid", self._now())
            verdict, filled, avg = self._resolve_unknown_order(intent)
        maybe_crash(f"after_send:{leg}")
        self.journal.append(
            "result", f"result:{cloid}", {"verdict": verdict, "filled": filled, "avg_px": avg}, self._now()
        )
        return LegResult(cloid, filled, avg, verdict)

    def _resolve_unknown_order(self, intent: dict[str, Any]) -> tuple[str, float, float]:
        for _ in range(400):
            try:
                res = resolve_order(intent, self.venue.order_status(intent["cloid"]), self._now())
                if res.verdict is Verdict.CANCEL:
                    self.venue.cancel(intent["market"], intent["cloid"])
                    continue
                if res.final:
                    return res.verdict.value, res.filled_size, res.avg_px
            except VenueUnavailable:
                pass
            self._sleep(0.25)
        raise VenueUnavailable(f"order {intent['cloid']} could not be resolved; will reconcile on restart")

    def _claimed(self) -> set[str]:
        """Venue transfer ids already attributed to an intent (never matched twice)."""
        return {str(e.payload["transfer_id"]) for e in self.journal.entries("result") if e.payload.get("transfer_id")}

    def send_transfer(self, plan: str, amount_usd: float, to_perp: bool) -> bool:
        """Journal (with a fresh monotonic nonce), send, resolve. True when the venue executed it."""
        amount_usd = math.floor(amount_usd * 1e6) / 1e6
        if amount_usd < max(self.cfg.limits.min_transfer_usd, 1e-6):
            return False
        key = f"tr-{uuid.uuid4().hex}"
        now = self._now()
        intent = self.journal.append_intent(
            f"intent:{key}",
            {
                "kind": "transfer",
                "plan": plan,
                "amount_usd": amount_usd,
                "to_perp": to_perp,
                "created_ms": now,
                "expires_at_ms": self._expiry(),
            },
            now,
            need_nonce=True,
        )
        maybe_crash("before_send:transfer")
        req = TransferRequest(int(intent["nonce"]), amount_usd, to_perp, int(intent["expires_at_ms"]))
        done, tid = False, ""
        try:
            self.venue.transfer(req)
            done = True
            res = resolve_transfer(intent, self.venue.transfers(now - 60_000), self._claimed(), self._now())
            tid = res.transfer_id
        except VenueError as e:
            self.alerts.raise_("TRANSFER_REJECTED", f"{amount_usd:.2f} USDC to_perp={to_perp}: {e}", self._now())
        except VenueUnavailable as e:
            self.alerts.raise_("VENUE_UNAVAILABLE", f"transfer outcome unknown ({e})", self._now())
            for _ in range(400):
                try:
                    res = resolve_transfer(intent, self.venue.transfers(now - 60_000), self._claimed(), self._now())
                    if res.final:
                        done, tid = res.verdict is Verdict.DONE, res.transfer_id
                        break
                except VenueUnavailable:
                    pass
                self._sleep(0.25)
            else:
                raise
        maybe_crash("after_send:transfer")
        self.journal.append(
            "result", f"result:{key}", {"verdict": "done" if done else "absent", "transfer_id": tid}, self._now()
        )
        return done

    # ------------------------------------------------------------------ repair steps
    def repair_hedge(self, st: VenueState, slippage_bps: float | None = None) -> VenueState:
        """Re-hedge a one-legged book with perp orders (bounded attempts); returns the fresh state.

        Works in base units (the gap spot_base + perp_size), so a stale price does not stop it (the limit then
        uses the emergency slippage). Refused - and alerted as REPAIR_REFUSED - while the journal and the venue
        disagree (POSITION_MISMATCH) or when the repair would exceed the exposure the journal measures; each
        repair order is capped at max_order_usd (larger gaps take several slices) and obeys the position caps.
        """
        if self._mismatch or self.halt_kind == "POSITION_MISMATCH":
            if hedge_repair(st, self.cfg.limits.hedge_tolerance_usd, self.sz_perp) is not None:
                self.alerts.raise_("REPAIR_REFUSED", "journal and venue disagree: no repair order", st.ts_ms)
            return st
        bps = slippage_bps or self.cfg.costs.max_slippage_bps
        if self._stale:
            bps = max(bps, self.cfg.costs.emergency_slippage_bps)
        slip = bps / 1e4
        plan = f"repair-{uuid.uuid4().hex[:12]}"  # one economic intent: the gap measured now, in <= 3 orders
        total: float | None = None
        for attempt in range(3):
            fix = hedge_repair(st, self.cfg.limits.hedge_tolerance_usd, self.sz_perp)
            if fix is None:
                break
            d = self.journal.derived_position()
            measured = abs(d.spot_base + d.perp_size)  # the journal's own one-legged exposure [base]
            if fix.size > measured + 10.0**-self.sz_perp:
                self.alerts.raise_(
                    "REPAIR_REFUSED",
                    f"repair {fix.size} > one-legged exposure {measured:.6f} measured from the journal",
                    st.ts_ms,
                )
                break
            size = min(fix.size, math.floor(self.caps.max_order_usd / st.mark_px * 10**self.sz_perp)
                       / 10**self.sz_perp)
            if total is None:
                total = fix.size
            if attempt == 0:
                self.alerts.raise_(
                    "ONE_LEGGED",
                    f"hedge gap {fix.gap:+.6f} (${fix.unhedged_usd:,.0f}): perp {fix.side} {size}",
                    st.ts_ms,
                )
            px = (
                st.mark_px * (1 + slip * (attempt + 1))
                if fix.side == "buy"
                else st.mark_px * (1 - slip * (attempt + 1))
            )
            self.send_order(
                plan,
                "hedge_repair",
                "perp",
                fix.side,
                size,
                px,
                reduce_only=fix.side == "buy" and st.perp_size < 0,
                plan_qty=total,
            )
            self.ingest()
            st = self.read_state()
        return st

    def sweep_spot_usdc(self, st: VenueState, plan: str = "sweep") -> VenueState:
        """Idle USDC on the spot account goes to perp margin (it is capital not at work)."""
        idle = st.spot_usdc > max(self.cfg.limits.min_transfer_usd, 1.0)
        if idle and self.send_transfer(plan, st.spot_usdc, to_perp=True):
            self.ingest()
            st = self.read_state()
        return st

    # ------------------------------------------------------------------ plans
    def _limit(self, mid: float, side: Side, slippage_bps: float) -> float:
        return mid * (1 + slippage_bps / 1e4) if side == "buy" else mid * (1 - slippage_bps / 1e4)

    def _trade_row(
        self, st: VenueState, side: str, spot: LegResult, perp: LegResult | None, target_bps: float, fees_bps: float
    ) -> None:
        if spot.filled <= 0:
            return
        notional = spot.filled * spot.avg_px
        if self.spot_route is not None:  # target = the quote the swap was checked at; spot fees are in its price
            quoted = self.spot_route.quoted_cost_bps(spot.cloid)
            if quoted is not None and math.isfinite(quoted):
                target_bps = quoted
            fees_bps = self.cfg.costs.perp_fee_bps + self.spot_route.gas_bps(notional)
        sgn = 1.0 if side == "buy-basis" else -1.0  # buy spot (pay above mid) / sell spot (receive below)
        spot_bps = sgn * (spot.avg_px / st.spot_mid - 1.0) * 1e4
        perp_bps = 0.0
        if perp is not None and perp.filled > 0:
            perp_bps = -sgn * (perp.avg_px / st.mark_px - 1.0) * 1e4 * perp.filled / spot.filled
        row = {
            "timestamp": pd.Timestamp(st.ts_ms, unit="ms", tz="UTC").isoformat(),
            "side": side,
            "notional_usd": round(notional, 2),
            "target_bps": round(target_bps, 4),
            "realized_bps": round(spot_bps + perp_bps + fees_bps, 4),
        }
        self.recent_trades.appendleft(row)
        self.journal.append("trade", f"trade:{spot.cloid}", row, st.ts_ms)
        self.sync_trade_log()

    def _journal_plan(self, plan: str, side: str, st: VenueState, target_bps: float, fees_bps: float) -> None:
        """Before a rebalance's first intent: what the trade log needs if the process dies mid-plan."""
        self.journal.append("plan", f"plan:{plan}", {
            "plan": plan, "side": side, "spot_mid": st.spot_mid, "mark_px": st.mark_px, "ts_ms": st.ts_ms,
            "target_bps": target_bps, "fees_bps": fees_bps}, st.ts_ms)

    def record_trades(self) -> int:
        """Trade rows for rebalances a crash interrupted: every journaled plan whose spot leg filled and that has
        no trade entry yet gets one (from the plan and the legs' journaled results). Then the CSV catches up.
        Returns rows added."""
        legs: dict[str, dict[str, LegResult]] = {}
        for e in self.journal.entries("intent"):
            p = e.payload
            if p.get("kind") != "order" or p.get("leg") not in ("spot", "perp"):
                continue
            r = self.journal.get(f"result:{p['cloid']}")
            if r is None:
                continue
            legs.setdefault(str(p["plan"]), {})[str(p["leg"])] = LegResult(
                str(p["cloid"]), float(r.payload.get("filled", 0.0)), float(r.payload.get("avg_px", 0.0)),
                str(r.payload.get("verdict")))
        added = 0
        for e in self.journal.entries("plan"):
            p = e.payload
            got = legs.get(str(p["plan"]), {})
            spot = got.get("spot")
            if spot is None or spot.filled <= 0 or self.journal.has(f"trade:{spot.cloid}"):
                continue
            ref = VenueState(int(p["ts_ms"]), float(p["spot_mid"]), float(p["mark_px"]), float(p["mark_px"]),
                             0.0, 0.0, 0.0, 0.0, 1.0)
            self._trade_row(ref, str(p["side"]), spot, got.get("perp"), float(p["target_bps"]), float(p["fees_bps"]))
            added += 1
        self.sync_trade_log()
        return added

    def sync_trade_log(self) -> int:
        """Append to the CSV the journaled trades it lacks (exactly once per trade; see ``trade_log``)."""
        return sync_trade_log(self.journal, self.trade_log)

    def _route_ok(self, plan: str, side: Side, base_size: float, st: VenueState) -> bool:
        """Aggregator spot route: quote + freshness + side cost check BEFORE any intent. A refusal is journaled
        (kind 'refusal', with the reason) and alerted (SPOT_ROUTE_REFUSED); nothing is sent."""
        if self.spot_route is None:
            return True
        chk = self.spot_route.spot_precheck(side, base_size, st.spot_mid)
        if chk.ok:
            return True
        rec = {
            "plan": plan,
            "route": self.spot_route.route_name,
            "side": side,
            "size": base_size,
            "reason": chk.reason,
            "quoted_bps": chk.quoted_bps,
            "limit_bps": chk.limit_bps,
        }
        self.journal.append("refusal", f"refusal:{plan}", rec, st.ts_ms)
        self.alerts.raise_("SPOT_ROUTE_REFUSED", chk.reason, st.ts_ms)
        if self.recent_decisions:
            self.recent_decisions[0]["blocked"] = "spot route: " + chk.reason
        return False

    def execute(self, d: Decision, st: VenueState, curves: tuple[CostCurve, CostCurve]) -> None:
        c = self.cfg.costs
        plan = f"plan-{uuid.uuid4().hex[:12]}"
        fees = c.spot_fee_bps + c.perp_fee_bps
        if d.action in (Action.RAISE_COLLATERAL, Action.EMERGENCY):
            q = d.q_hat_usd if d.action is Action.RAISE_COLLATERAL else d.q_target_usd
            slip = c.max_slippage_bps if d.action is Action.RAISE_COLLATERAL else c.emergency_slippage_bps
            if d.action is Action.EMERGENCY:
                self.alerts.raise_("EMERGENCY_REBALANCE", d.reason, st.ts_ms)
            q = min(q, self.cfg.limits.max_order_usd)
            size = math.floor(min(q / st.spot_mid, st.spot_base) * 10**self.sz_spot) / 10**self.sz_spot
            if size <= 0 or not self._route_ok(plan, "sell", size, st):
                return
            self._journal_plan(plan, "sell-basis", st, curves[0](size * st.spot_mid), fees)
            spot = self.send_order(plan, "spot", "spot", "sell", size, self._limit(st.spot_mid, "sell", slip))
            perp = None
            if spot.filled > 0:
                psize = round(min(spot.filled, abs(st.perp_size)), self.sz_perp)
                perp = self.send_order(
                    plan, "perp", "perp", "buy", psize, self._limit(st.mark_px, "buy", slip), reduce_only=True
                )
            self.ingest()
            st2 = self.repair_hedge(self.read_state(), slip)
            self.sweep_spot_usdc(st2, plan)
            self._trade_row(st, "sell-basis", spot, perp, curves[0](spot.filled * st.spot_mid), fees)
        elif d.action is Action.LOWER_COLLATERAL:
            q = min(d.q_hat_usd, self.cfg.limits.max_order_usd)
            withdrawable = st.perp_account_value - abs(st.perp_size) * st.mark_px / st.max_leverage
            q = min(q, max(withdrawable - 1.0, 0.0))
            if q < max(c.q_min_usd, 1.0) or not self._route_ok(plan, "buy", q / st.spot_mid, st):
                return
            self._journal_plan(plan, "buy-basis", st, curves[1](q), fees)
            if not self.send_transfer(plan, q, to_perp=False):
                return
            self.ingest()
            st1 = self.read_state()
            slip = c.max_slippage_bps
            px_cap = st1.spot_mid * (1 + slip / 1e4) * (1 + c.spot_fee_bps / 1e4 * 1.5)
            size = math.floor(st1.spot_usdc / px_cap * 10**self.sz_spot) / 10**self.sz_spot
            spot = self.send_order(plan, "spot", "spot", "buy", size, self._limit(st1.spot_mid, "buy", slip))
            perp = None
            if spot.filled > 0:
                perp = self.send_order(
                    plan,
                    "perp",
                    "perp",
                    "sell",
                    round(spot.filled, self.sz_perp),
                    self._limit(st1.mark_px, "sell", slip),
                )
            self.ingest()
            st2 = self.repair_hedge(self.read_state(), slip)
            self.sweep_spot_usdc(st2, plan)
            self._trade_row(st1, "buy-basis", spot, perp, curves[1](spot.filled * st1.spot_mid), fees)

    def flatten(self, st: VenueState) -> None:
        """Close both legs (kill switch with flatten_on_kill): sell all spot, buy back the short, each in slices
        of at most max_order_usd."""
        slip = self.cfg.costs.emergency_slippage_bps
        plan = f"flatten-{uuid.uuid4().hex[:8]}"
        for _ in range(50):
            size = math.floor(min(st.spot_base, self.caps.max_order_usd / st.spot_mid) * 10**self.sz_spot)
            size /= 10**self.sz_spot
            if size <= 0:
                break
            r = self.send_order(plan, "spot", "spot", "sell", size, self._limit(st.spot_mid, "sell", slip))
            self.ingest()
            st = self.read_state()
            if r.filled <= 0:
                break
        for _ in range(50):
            size = round(min(-st.perp_size, self.caps.max_order_usd / st.mark_px), self.sz_perp)
            if st.perp_size >= 0 or size <= 0:
                break
            r = self.send_order(
                plan, "perp", "perp", "buy", size, self._limit(st.mark_px, "buy", slip), reduce_only=True
            )
            self.ingest()
            st = self.read_state()
            if r.filled <= 0:
                break
        self.flattened = True
        self.alerts.raise_("FLATTENED", "kill switch: both legs closed", self._now())

    # ------------------------------------------------------------------ the loop
    def start(self) -> None:
        """Connect -> genesis (first run) -> reconcile in-flight intents -> ingest -> trade log catch-up.

        A venue that is down, rate-limits, times out or refuses a read is retried with jittered exponential
        backoff (alert VENUE_UNAVAILABLE each time) until it answers or SIGTERM arrives: a brief outage at
        start-up never ends the process."""
        self._restore_halt()
        backoff = Backoff(0.5, 30.0)
        while True:
            try:
                st = self.read_state()
                self._ensure_genesis(st)
                self.reconcile_intents()
                self.ingest()
                self.record_trades()
                break
            except (VenueUnavailable, VenueError) as e:
                if self.stop_requested:
                    raise
                d = backoff.next_delay()
                self.alerts.raise_("VENUE_UNAVAILABLE", f"start-up read failed ({e}); retry in {d:.1f}s", self._now())
                self._wall_sleep(d)
        if self.kill_file.exists():
            self._halt("KILL_SWITCH", f"kill file {self.kill_file} present: no new risk")

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
        else:
            self.read_failures = 0
            self.backoff.reset()
            return rec
        self.read_failures += 1
        self._wall_sleep(min(self.backoff.next_delay(), self.cfg.cadence_seconds))
        return None

    def cycle(self) -> dict[str, Any]:
        """One observe -> decide -> act cycle; returns the cycle record (also journaled)."""
        now_wall = time.time()
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
        acted = not stale and safe
        if self.halted and self.cfg.safety.flatten_on_kill and not self.flattened and acted:
            self.flatten(st)
            st = self.read_state()
        if acted and not self.flattened:
            st = self.sweep_spot_usdc(st)
        decision = None
        if st.equity > 0 and not self.flattened:
            cap = max(st.equity, 1.0)
            if self.cfg.costs.model == "book":
                curves = book_cost_curves(self.venue, st, self.cfg.costs.spot_fee_bps, self.cfg.costs.perp_fee_bps, cap)
            else:
                curves = (CostCurve.flat(self.cfg.costs.sell_basis_bps), CostCurve.flat(self.cfg.costs.buy_basis_bps))
            decision = decide(st.alpha, st.equity, self.policy, curves[0], curves[1])
            blocked = (
                ""
                if acted and not self.halted
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

    def refresh_dead_man(self) -> None:
        secs = self.cfg.venue.dead_man_seconds
        if secs > 0:
            try:
                self.venue.schedule_cancel(self._now() + int(secs * 1000))
            except (VenueError, VenueUnavailable) as e:
                self.errors.appendleft(f"scheduleCancel failed: {e}")

    def cycle_record(self, st: VenueState, d: Decision | None, wall: float) -> dict[str, Any]:
        g = self.journal.genesis()
        funding = sum(float(e.payload["amount_usd"]) for e in self.journal.entries("funding"))
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

    # ------------------------------------------------------------------ operating surface
    def public_state(self) -> dict[str, Any]:
        """Everything /state and the dashboard show (plain JSON types)."""
        with self._lock:
            st = self.last_state
            hist = list(self.history)
            trades = list(self.recent_trades)
            decisions = list(self.recent_decisions)
            alerts = list(self.alerts.recent)
        p = self.policy
        return {
            "mode": self.cfg.mode,
            "venue": self.cfg.venue.kind,
            "asset": self.cfg.venue.asset,
            "cycles": self.cycles,
            "halted": self.halted,
            "halt_reason": self.halt_reason,
            "last_cycle_wall": self.last_cycle_wall,
            "band": {
                "alpha_lower": p.alpha_lower,
                "alpha_target": p.alpha_target,
                "alpha_upper": p.alpha_upper,
                "kappa_fix": p.kappa_fix,
                "k_reb_fix": p.k_reb_fix,
                "q_min_usd": p.q_min_usd,
                "buffer_bps": p.buffer_bps,
                **self.band_info,
            },
            "state": st.to_dict() if st else None,
            "last": hist[-1] if hist else None,
            "history": hist[-500:],
            "decisions": decisions,
            "trades": trades,
            "alerts": alerts,
            "alert_counts": dict(self.alerts.counts),
            "unhedged": {"worst_usd": self.tracker.worst_usd, "worst_seconds": self.tracker.worst_seconds},
            "journal": dict(self.journal_counts),
        }
