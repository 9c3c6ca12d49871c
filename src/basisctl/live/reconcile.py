"""Reconciliation as pure functions: journal intents + venue truth -> what happened and what to do.

No I/O here; the controller gathers the venue's answers and applies the verdicts. Each rule is a named
scenario in ``tests/live/test_reconcile.py``.

The rule that prevents duplicate orders: an intent whose identity (cloid / nonce) the venue does not know is
NOT re-sent. It is declared ABSENT only once the venue clock has passed the action's ``expires_at_ms`` (after
that the venue refuses it, so it can never execute later); until then the verdict is WAIT. New risk is then
decided afresh from the observed state, never by replaying an old intent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from basisctl.live.guards import UnhedgedTracker  # noqa: F401  (re-exported; it lives in guards)
from basisctl.live.venue import Fill, OrderState, OrderStatus, Side, Transfer, VenueState


class Verdict(StrEnum):
    FILLED = "filled"  # order fully filled
    PARTIAL = "partial"  # order partly filled, remainder canceled
    ABSENT = "absent"  # the venue never executed it and never will (expired / IOC without match)
    REJECTED = "rejected"  # the venue refused it
    CANCEL = "cancel"  # resting on the venue: cancel it, then resolve again
    WAIT = "wait"  # unknown to the venue but may still arrive: wait until it expires
    DONE = "done"  # transfer executed


@dataclass(frozen=True)
class Resolution:
    verdict: Verdict
    filled_size: float = 0.0  # [base units]
    avg_px: float = 0.0  # [USD]
    transfer_id: str = ""
    detail: str = ""

    @property
    def final(self) -> bool:
        return self.verdict not in (Verdict.CANCEL, Verdict.WAIT)


def resolve_order(intent: Mapping[str, Any], status: OrderStatus | None, venue_now_ms: int) -> Resolution:
    """Verdict on an order intent given the venue's order status by cloid (None = unknown to the venue)."""
    if status is None:
        if venue_now_ms > int(intent["expires_at_ms"]):
            return Resolution(Verdict.ABSENT, detail="unknown to the venue after expiry: never executed")
        return Resolution(Verdict.WAIT, detail="unknown to the venue and not yet expired")
    if status.state is OrderState.OPEN:
        return Resolution(Verdict.CANCEL, status.filled_size, status.avg_px, detail="resting order")
    if status.state is OrderState.REJECTED:
        return Resolution(Verdict.REJECTED, detail=status.reason)
    if status.state is OrderState.FILLED:
        return Resolution(Verdict.FILLED, status.filled_size, status.avg_px)
    if status.filled_size > 0:
        return Resolution(Verdict.PARTIAL, status.filled_size, status.avg_px, detail=status.reason)
    return Resolution(Verdict.ABSENT, detail=status.reason or "canceled without fill")


def resolve_transfer(
    intent: Mapping[str, Any],
    venue_transfers: Sequence[Transfer],
    claimed: set[str],
    venue_now_ms: int,
    slack_ms: int = 5_000,
) -> Resolution:
    """Verdict on a transfer intent. Match by nonce when the venue reports nonces, else by amount [USDC,
    within 1e-6 relative], direction and time (ledger time >= intent time - slack) among entries not already
    ``claimed`` by another intent."""
    nonce = int(intent["nonce"])
    for t in venue_transfers:
        if t.nonce is not None and t.nonce == nonce:
            return Resolution(Verdict.DONE, transfer_id=t.transfer_id)
    amt, to_perp, t0 = float(intent["amount_usd"]), bool(intent["to_perp"]), int(intent["created_ms"])
    for t in venue_transfers:
        if (
            t.nonce is None
            and t.transfer_id not in claimed
            and t.to_perp == to_perp
            and math.isclose(t.amount_usd, amt, rel_tol=1e-6)
            and t.ts_ms >= t0 - slack_ms
        ):
            return Resolution(Verdict.DONE, transfer_id=t.transfer_id, detail="matched by amount/direction/time")
    if venue_now_ms > int(intent["expires_at_ms"]):
        return Resolution(Verdict.ABSENT, detail="not in the venue ledger after expiry")
    return Resolution(Verdict.WAIT, detail="not in the ledger yet and not expired")


def new_fills(journaled_ids: Iterable[str], venue_fills: Iterable[Fill]) -> list[Fill]:
    """Venue fills the journal does not hold yet (by fill id), each once, in venue order."""
    seen = set(journaled_ids)
    out: list[Fill] = []
    for f in venue_fills:
        if f.fill_id not in seen:
            seen.add(f.fill_id)
            out.append(f)
    return out


def position_mismatches(
    derived: Mapping[str, float], state: VenueState, size_tol: float = 1e-9, usd_tol: float = 1e-6
) -> dict[str, tuple[float, float]]:
    """Fields where journal-derived balances differ from the venue's: {field: (journal, venue)}.
    Tolerances: size_tol [base units], usd_tol [USDC]."""
    venue = {
        "spot_base": state.spot_base,
        "spot_usdc": state.spot_usdc,
        "perp_size": state.perp_size,
        "perp_cash": state.perp_cash,
    }
    out: dict[str, tuple[float, float]] = {}
    for k, v in venue.items():
        tol = size_tol if k.endswith(("base", "size")) else usd_tol * max(1.0, abs(v))
        if abs(float(derived[k]) - v) > tol:
            out[k] = (float(derived[k]), v)
    return out


@dataclass(frozen=True)
class HedgeRepair:
    """The perp order that restores spot_base + perp_size = 0. size [base units]."""

    side: Side
    size: float
    gap: float  # spot_base + perp_size before the repair [base units]
    unhedged_usd: float


def hedge_repair(state: VenueState, tolerance_usd: float, sz_decimals: int) -> HedgeRepair | None:
    """The repair order when |gap| x spot_mid > tolerance_usd [USD]; sized to the venue lot (10^-sz_decimals)."""
    gap = state.hedge_gap
    usd = abs(gap) * state.spot_mid
    if usd <= tolerance_usd:
        return None
    size = round(abs(gap), sz_decimals)
    if size <= 0:
        return None
    # long delta (gap > 0): sell more perp; short delta: buy perp back
    return HedgeRepair("sell" if gap > 0 else "buy", size, gap, usd)
