"""Start-up: connect -> genesis (first run) -> reconcile in-flight intents -> ingest -> trade log."""

from __future__ import annotations

from basisctl.live.backoff import Backoff
from basisctl.live.controller_base import ControllerBase
from basisctl.live.venue import VenueError, VenueState, VenueUnavailable


class StartupMixin(ControllerBase):
    """Genesis snapshot and the start-up sequence (retried with backoff while the venue is down)."""

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
                "spot_mid": st.spot_mid,  # the marks of this snapshot (P&L attribution starts here)
                "mark_px": st.mark_px,
                "known_fills": after[0],
                "known_funding": after[1],
                "known_transfers": after[2],
                # balances the venue left out, adopted as zero after K reads spanning T s (observe._genesis_read)
                "absent_adopted": list(self._genesis_absent),
            },
            st.ts_ms,
        )

    def start(self) -> None:
        """Connect -> genesis (first run) -> reconcile in-flight intents -> ingest -> trade log catch-up.

        A venue that is down, rate-limits, times out or refuses a read is retried with jittered exponential
        backoff (alert VENUE_UNAVAILABLE each time) until it answers or SIGTERM arrives: a brief outage at
        start-up never ends the process."""
        self._restore_halt()
        self.restore_band()  # the band the journal says is in force (live/recalibration.py)
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
