"""Order and transfer primitives: intent journaled BEFORE the send, outcome resolved, never re-sent."""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass
from typing import Any

from basisctl.live.controller_base import ControllerBase
from basisctl.live.crashpoint import maybe_crash
from basisctl.live.guards import cap_violation
from basisctl.live.reconcile import Verdict, resolve_order, resolve_transfer
from basisctl.live.venue import Market, OrderRequest, Side, TransferRequest, VenueError, VenueUnavailable, new_cloid


@dataclass
class LegResult:
    cloid: str
    filled: float  # [base units]
    avg_px: float  # [USD]
    verdict: str


class OrdersMixin(ControllerBase):
    """send_order / send_transfer with write-ahead intents and bounded resolution."""

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
        cloid = new_cloid(self.cloid_prefix)
        ref = self._cap_state
        why = "no complete venue read yet" if ref is None else cap_violation(self.caps, ref, market, side, size)
        if not why and ref is not None and self.journal.genesis() is not None:
            # the same caps on the journal's signed position (a mangled read must not make a growing order look
            # like a shrinking one): the post-trade legs from the journal, at this read's prices
            jst = dataclasses.replace(ref, **self.journal.derived_position().to_dict())  # type: ignore[arg-type]
            if j := cap_violation(self.caps, jst, market, side, size):
                why = f"{j} (journal position)"
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
        if filled > size * (1.0 + 1e-9):  # an IOC cannot fill more than its size: the venue's answer is wrong;
            # the next leg is sized on this (a perp hedge 10x the spot fill), so count no more than was ordered -
            # the journal's fills (ingested from the venue) and the position check decide what really happened
            self.alerts.raise_("STATE_UNKNOWN", f"{leg} {side} {size} {market}: the venue reports {filled:g} filled "
                               f"(more than ordered): counted as {size:g}", self._now())
            filled = size
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

    def _limit(self, mid: float, side: Side, slippage_bps: float) -> float:
        return mid * (1 + slippage_bps / 1e4) if side == "buy" else mid * (1 - slippage_bps / 1e4)
