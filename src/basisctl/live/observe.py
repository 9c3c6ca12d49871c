"""Venue reads: every balance KNOWN (or the cycle is skipped) and the venue clock's offset."""

from __future__ import annotations

import dataclasses
import math
import time

from basisctl.live.controller_base import ControllerBase
from basisctl.live.guards import ABSENT_IS_ZERO_TOL, BALANCE_FIELDS, VenueDataError, resolve_unknowns
from basisctl.live.venue import VenueState


class ObserveMixin(ControllerBase):
    """One complete venue read per call; measures clock skew."""

    def read_state(self) -> VenueState:
        """One venue read with every balance KNOWN and sane prices, else VenueDataError (the cycle is skipped,
        nothing is sent). A field the venue left out counts as zero only when the journal says we hold none of
        it; before genesis (no journal yet) only when K consecutive reads spanning T seconds all leave it out
        (``safety.adopt_reads`` / ``adopt_seconds``; alert GENESIS_UNKNOWN until then). Prices: spot mid vs
        perp mark and oracle, and vs the last good mid (``limits.max_price_deviation_bps`` /
        ``max_mid_move_bps``; alert PRICE_INSANE)."""
        st = self.venue.state()
        if self.journal.genesis() is None:
            st = self._genesis_read(st)
            derived = None
        else:
            derived = self.journal.derived_position().to_dict()
            st = self._absent_read(st, derived)
        st = resolve_unknowns(st, derived)
        self._check_prices(st)
        self._cap_state = st
        self._measure_skew()
        return st

    def _genesis_read(self, st: VenueState) -> VenueState:
        """Before genesis an absent balance is UNKNOWN (the audit's N1: read as 0 it was journaled as 0 and a
        7 BTC perp 'repair' followed). Absent in K consecutive reads spanning T s: adopted as zero, and the reads
        are kept for the genesis entry."""
        missing = tuple(k for k in BALANCE_FIELDS if math.isnan(getattr(st, k)))
        if not missing:
            self._genesis_absent = []
            return st
        runs = [r for r in self._genesis_absent if r["missing"] == list(missing)]
        runs.append({"missing": list(missing), "mono_s": time.monotonic(), "ts_ms": st.ts_ms})
        self._genesis_absent = runs
        k, t = self.cfg.safety.adopt_reads, self.cfg.safety.adopt_seconds
        span = max(runs[-1]["mono_s"] - runs[0]["mono_s"], (runs[-1]["ts_ms"] - runs[0]["ts_ms"]) / 1e3)
        if len(runs) >= k and span >= t:
            return dataclasses.replace(st, **{f: 0.0 for f in missing})  # type: ignore[arg-type]  # floats
        why = (f"genesis: {', '.join(missing)} absent from the venue read (read {len(runs)}/{k}, {span:.0f}s/"
               f"{t:g}s): unknown, not zero; no genesis, no order until a complete read")
        self.alerts.raise_("GENESIS_UNKNOWN", why, self._now())
        raise VenueDataError(why)

    def _absent_read(self, st: VenueState, derived: dict[str, float]) -> VenueState:
        """After genesis a balance the venue leaves out while the journal holds some (a perp position closed
        or liquidated to zero is simply absent from ``assetPositions``) stayed UNKNOWN for ever: start-up and
        every cycle were skipped and the spot leg stayed naked (found by the chaos suite: a rally liquidated the
        short while the controller was down, $1.09M unhedged). Now, as at genesis: absent in K consecutive
        complete reads spanning T s it reads as zero (alert POSITION_ABSENT), and the journal/venue
        disagreement that follows escalates like any other (``unexplained.py``: adopted after K more reads,
        then unwound); until then the read is unknown (VenueDataError)."""
        missing = tuple(k for k in BALANCE_FIELDS
                        if math.isnan(getattr(st, k)) and abs(float(derived[k])) > ABSENT_IS_ZERO_TOL[k])
        if not missing:
            self._absent_runs = []
            return st
        runs = [r for r in getattr(self, "_absent_runs", []) if r["missing"] == list(missing)]
        runs.append({"missing": list(missing), "mono_s": time.monotonic(), "ts_ms": st.ts_ms})
        self._absent_runs = runs
        k, t = self.cfg.safety.adopt_reads, self.cfg.safety.adopt_seconds
        span = max(runs[-1]["mono_s"] - runs[0]["mono_s"], (runs[-1]["ts_ms"] - runs[0]["ts_ms"]) / 1e3)
        done = len(runs) >= k and span >= t
        why = (f"{', '.join(missing)} absent from the venue read while the journal holds "
               f"{', '.join(f'{derived[m]:g}' for m in missing)} (read {len(runs)}/{k}, {span:.0f}s/{t:g}s): "
               + ("read as zero; the disagreement escalates" if done else "unknown, nothing is sent"))
        self.alerts.raise_("POSITION_ABSENT", why, st.ts_ms)
        if done:
            return dataclasses.replace(st, **{f: 0.0 for f in missing})  # type: ignore[arg-type]  # floats
        raise VenueDataError(why)

    def _check_prices(self, st: VenueState) -> None:
        """PRICE_INSANE (and VenueDataError) for a spot mid far from the perp mark / oracle or one that jumped
        from the last good mid while the mark did not: an absurd, moved or glitched book is unknown data."""
        lim = self.cfg.limits
        bad = ""
        ahead_s = self._price_ahead_s(st)
        if ahead_s > lim.max_clock_skew_seconds + 1.0:  # a price from the future defeats the stale-data guard
            bad = (f"price time is {ahead_s:,.1f}s ahead of the venue clock (bound max_clock_skew_seconds "
                   f"{lim.max_clock_skew_seconds:g}s + 1s)")
        for name, ref in (() if bad else (("mark", st.mark_px), ("oracle", st.oracle_px))):
            if math.isfinite(ref) and ref > 0:
                dev = abs(st.spot_mid / ref - 1.0) * 1e4
                if dev > lim.max_price_deviation_bps:
                    bad = (f"spot mid {st.spot_mid:,.2f} is {dev:,.0f} bps from the perp {name} {ref:,.2f} "
                           f"(bound {lim.max_price_deviation_bps:g} bps)")
                    break
        last = self._last_good_px
        if not bad and last is not None:
            move = abs(st.spot_mid / last[0] - 1.0) * 1e4
            mark_move = abs(st.mark_px / last[1] - 1.0) * 1e4
            if move > lim.max_mid_move_bps and mark_move < 0.5 * move:
                bad = (f"spot mid moved {move:,.0f} bps from the last good {last[0]:,.2f} while the mark moved "
                       f"{mark_move:,.0f} bps (bound {lim.max_mid_move_bps:g} bps)")
        if bad:
            self.alerts.raise_("PRICE_INSANE", bad + ": read unknown, nothing is sent", st.ts_ms)
            raise VenueDataError(f"price sanity: {bad}")
        self._last_good_px = (st.spot_mid, st.mark_px)

    def _price_ahead_s(self, st: VenueState) -> float:
        """How far the read's price time is ahead of venue time [s], on venues with a real clock (a measured
        offset: the live adapter; its ``now_ms`` is local time + offset, no request). 0 elsewhere: a simulated
        or local-server clock is the venue's own."""
        off = getattr(self.venue, "clock_offset_ms", None)
        if off is None or (off() if callable(off) else off) is None:
            return 0.0
        return (st.ts_ms - self._now()) / 1000.0

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
