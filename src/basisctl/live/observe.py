"""Venue reads: every balance KNOWN (or the cycle is skipped) and the venue clock's offset."""

from __future__ import annotations

import math

from basisctl.live.controller_base import ControllerBase
from basisctl.live.guards import resolve_unknowns
from basisctl.live.venue import VenueState


class ObserveMixin(ControllerBase):
    """One complete venue read per call; measures clock skew."""

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
