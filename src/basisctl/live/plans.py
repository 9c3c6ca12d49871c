"""Rebalance plans (the policy's decision executed leg by leg), flatten, and the trade log rows."""

from __future__ import annotations

import math
import uuid

import pandas as pd

from basisctl.live.controller_base import ControllerBase
from basisctl.live.orders import LegResult
from basisctl.live.trade_log import sync_trade_log
from basisctl.live.venue import Side, VenueState
from basisctl.model.policy import Action, CostCurve, Decision


class PlansMixin(ControllerBase):
    """execute / flatten and their trade rows; spot leg first, then the hedge (paper Sec. 10)."""

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
            # a withdrawal from margin only on a book that has not moved or gone stale since the decision's read
            # (read_state also re-checks price sanity): issue 19, N7
            fresh = self.read_state()
            moved = abs(fresh.spot_mid / st.spot_mid - 1.0) * 1e4
            age_s = (self._now() - fresh.ts_ms) / 1000.0
            if moved > c.max_slippage_bps or age_s > self.cfg.limits.stale_after_seconds:
                self.alerts.raise_("BOOK_MOVED", f"withdrawal of ${q:,.0f} not sent: spot mid moved {moved:.1f} bps "
                                   f"(bound {c.max_slippage_bps:g}) / prices {age_s:.0f}s old since the decision",
                                   fresh.ts_ms)
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
        self.close_legs(st, "flatten")
        self.flattened = True
        self.alerts.raise_("FLATTENED", "kill switch: both legs closed", self._now())

    def close_legs(self, st: VenueState, why: str) -> VenueState:
        """The unwind: sell all spot, then buy back the short, in slices of at most max_order_usd (funds stay on
        the venue). Returns the state after the last fill."""
        slip = self.cfg.costs.emergency_slippage_bps
        plan = f"{why}-{uuid.uuid4().hex[:8]}"
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
        return st
