"""Halts, the kill switch's signals and the operator ack (persisted halts survive restarts)."""

from __future__ import annotations

import signal
import time
import uuid

from basisctl.live.controller_base import ControllerBase

#: halts that persist in the journal and are lifted only by `basisctl ack`
ACK_HALTS = ("EXTERNAL_POSITION_CHANGE", "ONE_LEGGED_TIMEOUT", "FOREIGN_CONTROLLER", "UNEXPLAINED_CHANGE",
             "DRAWDOWN")


class SafetyMixin(ControllerBase):
    """Halting new risk: SIGUSR1/SIGTERM, persisted halts, `basisctl ack`."""

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
        """Halt new risk. ``persist``: journal the halt so it survives restarts until `basisctl ack`.

        Every halt reason alerts each time it is (re)raised - a second halt while already halted too (issue 19,
        N4: it was silent) - at most once per ``safety.halt_realert_seconds`` per kind."""
        if persist:
            self.journal.append("control", f"halt:{uuid.uuid4().hex}", {"halt": kind, "why": why}, self._now())
            self.ack_required = why
        if not self.halted or (persist and self.halt_kind not in ACK_HALTS):
            self.halted = True
            self.halt_reason = why
            self.halt_kind = kind
        self.halt_kinds.add(kind)
        now = time.monotonic()
        last = self._halt_alerted.get(kind)
        if last is None or now - last >= self.cfg.safety.halt_realert_seconds:
            self._halt_alerted[kind] = now
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
