"""The controller's state (``__init__``), shared by the mixins that make up
:class:`~basisctl.live.controller.Controller`.

Each mixin (``safety``, ``observe``, ``startup``, ``reconciliation``, ``repair``, ``orders``, ``plans``, ``cycle``)
subclasses :class:`ControllerBase`; the methods one mixin calls on another are declared here for the type checker
only.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from basisctl.live.alerts import Alerts
from basisctl.live.backoff import Backoff
from basisctl.live.config import ControllerConfig
from basisctl.live.guards import Caps, UnhedgedTracker
from basisctl.live.journal import Journal
from basisctl.live.venue import Market, Side, Venue, VenueState
from basisctl.model.policy import BandPolicy, CostCurve, Decision

if TYPE_CHECKING:
    from basisctl.live.orders import LegResult


class ControllerBase:
    """State of one controller: config, venue, journal, policy, halts, caps, trackers and the operating surface."""

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
        self.held_locks: list[Any] | None = None  # the FileLocks themselves (runner sets; /health reports them)
        self.backups: Any = None  # live.backup.BackupScheduler of `basisctl run` ([backup]); /health shows it
        self.halted = False
        self.halt_reason = ""
        self.halt_kind = ""
        self.halt_kinds: set[str] = set()  # every halt reason raised in this process
        self._halt_alerted: dict[str, float] = {}  # halt kind -> monotonic time of its last alert [s]
        self.ack_required = ""  # a persisted halt (journal 'control' entry) waiting for `basisctl ack`
        self.backoff = Backoff(0.5, 30.0)
        self.read_failures = 0  # consecutive cycles aborted by a failed or incomplete read
        self.clock_skew_ms: float | None = None
        self._skew_alerted = False
        self._cap_state: VenueState | None = None  # the state the caps of the next order are checked against
        self._mismatch = False
        self.cloid_prefix = journal.cloid_prefix() if hasattr(journal, "cloid_prefix") else ""
        self.foreign_detected = 0  # fills with a client order id this journal never sent (a second controller)
        self.wrong_direction_refused = 0
        self._mm_since: tuple[float, int] | None = None  # (monotonic s, venue ms) a disagreement episode began
        self._mm_reads: list[dict[str, Any]] = []  # consecutive complete reads of that episode that agree
        self._mm_loaded = False  # the open episode (journal kind 'mm') restored after a restart
        self.unstable_read = False  # this cycle's position check was skipped (events kept arriving)
        self._mm_last: dict[str, tuple[float, float]] = {}  # the open episode's last disagreement
        self.last_agree_ms: int | None = None  # venue time of the last read that agreed with the journal
        self._equity_hist: deque[tuple[int, float]] = deque(maxlen=100_000)  # (venue ms, equity USD)
        self.silent_changes = 0  # disagreement episodes (journal vs venue)
        self.silent_changes_resolved = 0  # ... ended by agreement (late fill) or by an adoption
        self._absent_runs: list[dict[str, Any]] = []  # consecutive post-genesis reads that left a held balance out
        self._genesis_absent: list[dict[str, Any]] = []  # consecutive pre-genesis reads that left balances out
        self._last_good_px: tuple[float, float] | None = None  # (spot mid, mark) of the last price-sane read
        self._stale = False
        self.stop_requested = False
        self.flattened = False
        self.regime: Any = None  # band.rule = "regime": the live/regime_policy.RegimeGate (runner sets it)
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

    def _now(self) -> int:
        try:
            return int(self.venue.now_ms())
        except Exception:  # the clock must never take the alert path down
            return int(time.time() * 1000)

    if TYPE_CHECKING:  # provided by the mixins (see the module docstring)

        def _halt(self, kind: str, why: str, persist: bool = False) -> None: ...
        def _interruptible_sleep(self, seconds: float) -> None: ...
        def _restore_halt(self) -> None: ...
        def _check_ack(self) -> None: ...
        def track_mismatch(self, st: VenueState, mism: dict[str, tuple[float, float]]
                           ) -> dict[str, tuple[float, float]]: ...
        def explained_by_late_fill(self, f: Any) -> bool: ...
        def fill_floor_ms(self) -> int | None: ...
        def break_episode(self) -> None: ...
        def read_state(self) -> VenueState: ...
        def _ensure_genesis(self, st: VenueState) -> None: ...
        def start(self) -> None: ...
        def check_positions(self) -> tuple[VenueState, dict[str, tuple[float, float]]]: ...
        def ingest(self) -> int: ...
        def pending_external(self) -> list[str]: ...
        def reconcile_intents(self, wait_budget_s: float = 30.0) -> int: ...
        def handle_external(self, st: VenueState) -> VenueState: ...
        def unwind_spot(self, st: VenueState, plan: str) -> VenueState: ...
        def repair_hedge(self, st: VenueState, slippage_bps: float | None = None) -> VenueState: ...
        def sweep_spot_usdc(self, st: VenueState, plan: str = "sweep") -> VenueState: ...
        def send_order(self, plan: str, leg: str, market: Market, side: Side, size: float, limit_px: float,
                       reduce_only: bool = False, plan_qty: float | None = None) -> LegResult: ...
        def send_transfer(self, plan: str, amount_usd: float, to_perp: bool) -> bool: ...
        def _limit(self, mid: float, side: Side, slippage_bps: float) -> float: ...
        def record_trades(self) -> int: ...
        def execute(self, d: Decision, st: VenueState, curves: tuple[CostCurve, CostCurve]) -> None: ...
        def flatten(self, st: VenueState) -> None: ...
        def close_legs(self, st: VenueState, why: str) -> VenueState: ...
        def refresh_dead_man(self) -> None: ...
        def cycle_record(self, st: VenueState, d: Decision | None, wall: float) -> dict[str, Any]: ...
        def restore_band(self) -> None: ...
        def recalibration_tick(self) -> None: ...
