"""Repairs of a one-legged or externally changed book: perp re-hedge, spot unwind, idle USDC sweep."""

from __future__ import annotations

import math
import uuid

from basisctl.live.controller_base import ControllerBase
from basisctl.live.reconcile import hedge_repair, position_mismatches
from basisctl.live.venue import Side, VenueState


class RepairMixin(ControllerBase):
    """Brings the book back to hedged; runs on stale prices too (base units)."""

    def _read_in_repair(self, what: str) -> tuple[VenueState, bool]:
        """ingest -> read -> ingest (again while events settle), then the read is compared with the journal like
        any other: (state, False) and POSITION_MISMATCH + REPAIR_REFUSED when they disagree (issue 19, N3: a
        mangled read inside a repair made the controller buy the perp twice against the real gap)."""
        self.ingest()
        for _ in range(3):
            st = self.read_state()
            if self.ingest() == 0:
                break
        mism = position_mismatches(self.journal.derived_position().to_dict(), st)
        if mism:
            self._mismatch = True
            self._halt("POSITION_MISMATCH", f"journal vs venue differ inside {what}: {mism}")
            self.alerts.raise_("REPAIR_REFUSED", f"{what}: journal and venue disagree: no further order", st.ts_ms)
            return st, False
        return st, True

    def _wrong_direction(self, st: VenueState, market: str, side: Side, size: float) -> str:
        """'' when an order of ``size`` [base] reduces |spot + perp| both on this cycle's venue read and on the
        journal's derived position; else why not (an order that would grow the gap is never sent)."""
        sgn = size if side == "buy" else -size
        d = self.journal.derived_position()
        tick = 10.0**-max(self.sz_perp, self.sz_spot)
        for name, gap in (("venue", st.hedge_gap), ("journal", d.spot_base + d.perp_size)):
            if abs(gap + sgn) >= abs(gap) - 0.5 * tick:
                return (f"{market} {side} {size} would not reduce the {name} hedge gap {gap:+.6f} "
                        f"(after: {gap + sgn:+.6f})")
        return ""

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
            if why := self._wrong_direction(st, "spot", side, size):
                self.wrong_direction_refused += 1
                self.alerts.raise_("REPAIR_REFUSED", f"unwind refused: {why}", st.ts_ms)
                break
            r = self.send_order(plan, "unwind", "spot", side, size, self._limit(st.spot_mid, side, slip),
                                plan_qty=total)
            st, ok = self._read_in_repair("unwind")
            if r.filled <= 0 or not ok:
                break
        return st

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
            if why := self._wrong_direction(st, "perp", fix.side, size):
                self.wrong_direction_refused += 1
                self.alerts.raise_("REPAIR_REFUSED", f"repair refused: {why}", st.ts_ms)
                break
            if total is None:
                total = fix.size
            if attempt == 0:
                self.alerts.raise_(
                    "ONE_LEGGED",
                    f"hedge gap {fix.gap:+.6f} (${fix.unhedged_usd:,.0f}): perp {fix.side} {size}",
                    st.ts_ms,
                )
            # each slice's limit from its own fresh read (st is re-read after every slice): a constant offset,
            # never widened slice by slice (issue 19, N8: 3 %, 6 %, 9 % even after full fills)
            px = st.mark_px * (1 + slip) if fix.side == "buy" else st.mark_px * (1 - slip)
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
            st, ok = self._read_in_repair("repair")
            if not ok:
                break
        return st

    def sweep_spot_usdc(self, st: VenueState, plan: str = "sweep") -> VenueState:
        """Idle USDC on the spot account goes to perp margin (it is capital not at work)."""
        idle = st.spot_usdc > max(self.cfg.limits.min_transfer_usd, 1.0)
        if idle and self.send_transfer(plan, st.spot_usdc, to_perp=True):
            self.ingest()
            st = self.read_state()
        return st
