"""Repairs of a one-legged or externally changed book: perp re-hedge, spot unwind, idle USDC sweep."""

from __future__ import annotations

import math
import uuid

from basisctl.live.controller_base import ControllerBase
from basisctl.live.reconcile import hedge_repair
from basisctl.live.venue import Side, VenueState


class RepairMixin(ControllerBase):
    """Brings the book back to hedged; runs on stale prices too (base units)."""

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
