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

from typing import Any

from basisctl.live.controller_base import ControllerBase
from basisctl.live.cycle import CycleMixin
from basisctl.live.observe import ObserveMixin
from basisctl.live.orders import OrdersMixin
from basisctl.live.plans import PlansMixin
from basisctl.live.recalibration import RecalibrationMixin
from basisctl.live.reconciliation import ReconciliationMixin
from basisctl.live.repair import RepairMixin
from basisctl.live.safety import SafetyMixin
from basisctl.live.startup import StartupMixin
from basisctl.live.unexplained import UnexplainedMixin


class Controller(
    CycleMixin,
    RecalibrationMixin,
    StartupMixin,
    ReconciliationMixin,
    UnexplainedMixin,
    RepairMixin,
    PlansMixin,
    OrdersMixin,
    ObserveMixin,
    SafetyMixin,
    ControllerBase,
):
    """Runs the band policy against one venue with a durable journal. See the module docstring.

    Composed of one mixin per seam: ``cycle`` (the loop), ``startup`` (genesis, start-up), ``reconciliation``
    (ingest, position check, in-flight intents), ``repair`` (one-legged / external changes), ``plans``
    (rebalances, flatten, trade log), ``recalibration`` (the scheduled band refit, off the decision path),
    ``orders`` (write-ahead order / transfer primitives), ``observe`` (venue
    reads), ``safety`` (halts, signals, ack); the state is ``controller_base.ControllerBase``.
    """

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
            "alert_delivery": self.alerts.delivery(),
            "unhedged": {"worst_usd": self.tracker.worst_usd, "worst_seconds": self.tracker.worst_seconds},
            "journal": dict(self.journal_counts),
        }
