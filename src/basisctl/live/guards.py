"""Pure guards of the controller: order caps, the one-legged tracker, incomplete venue reads.

Units: sizes [base units], prices and notionals [USD], times [s] unless named ``_ms``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from basisctl.venues.protocol import Market, Side, VenueDataError, VenueState

__all__ = ["ABSENT_IS_ZERO_TOL", "BALANCE_FIELDS", "Caps", "UnhedgedTracker", "VenueDataError", "cap_violation",
           "resolve_unknowns"]

BALANCE_FIELDS = ("spot_base", "spot_usdc", "perp_size", "perp_cash")
#: an absent balance counts as zero only when the journal says we hold (almost) none of it
ABSENT_IS_ZERO_TOL = {"spot_base": 1e-9, "perp_size": 1e-9, "spot_usdc": 1e-6, "perp_cash": 1e-6}


def resolve_unknowns(st: VenueState, derived: Mapping[str, float] | None) -> VenueState:
    """Fill balances the venue left out (NaN) with 0 when the journal-derived balance is 0; raise
    VenueDataError naming every field that stays unknown (and for non-finite or non-positive prices)."""
    unknown = [k for k in ("spot_mid", "mark_px") if not (math.isfinite(getattr(st, k)) and getattr(st, k) > 0)]
    fix: dict[str, float] = {}
    for k in BALANCE_FIELDS:
        if math.isfinite(getattr(st, k)):
            continue
        if derived is not None and abs(float(derived[k])) <= ABSENT_IS_ZERO_TOL[k]:
            fix[k] = 0.0
        else:
            unknown.append(k)
    if unknown:
        raise VenueDataError(f"venue read incomplete, unknown: {', '.join(unknown)}; nothing is sent this cycle")
    return replace(st, **fix) if fix else st  # type: ignore[arg-type]  # float fields only


@dataclass(frozen=True)
class Caps:
    """Order caps [USD]: one order, each leg's notional, gross notional (the last two only bind on growth)."""

    max_order_usd: float
    max_position_usd: float
    max_gross_notional_usd: float


def cap_violation(caps: Caps, st: VenueState, market: Market, side: Side, size: float) -> str:
    """'' when an order of ``size`` [base] on ``market`` passes every cap at the state's prices, else why not."""
    px = st.spot_mid if market == "spot" else st.mark_px
    notional = size * px
    if notional > caps.max_order_usd * (1 + 1e-9):
        return f"order ${notional:,.0f} > max_order_usd ${caps.max_order_usd:,.0f}"
    sgn = 1.0 if side == "buy" else -1.0
    spot, perp = st.spot_base, st.perp_size
    if market == "spot":
        spot += sgn * size
    else:
        perp += sgn * size
    before = (abs(st.spot_base) * st.spot_mid, abs(st.perp_size) * st.mark_px)
    after = (abs(spot) * st.spot_mid, abs(perp) * st.mark_px)
    leg = 0 if market == "spot" else 1
    if after[leg] > before[leg] and after[leg] > caps.max_position_usd:
        return f"{market} position ${after[leg]:,.0f} > max_position_usd ${caps.max_position_usd:,.0f}"
    if sum(after) > sum(before) and sum(after) > caps.max_gross_notional_usd:
        return f"gross notional ${sum(after):,.0f} > max_gross_notional_usd ${caps.max_gross_notional_usd:,.0f}"
    return ""


@dataclass
class UnhedgedTracker:
    """How long the book has been one-legged, in cycles and in time [s] (the larger of wall and venue time, so
    a paused paper clock and a slow wall clock both count), against the configured bounds."""

    max_seconds: float
    max_usd: float
    max_cycles: int = 3
    timeout_s: float = 60.0
    since_wall: float | None = None
    since_venue_ms: int | None = None
    cycles: int = 0
    worst_usd: float = 0.0
    worst_seconds: float = 0.0
    seconds: float = 0.0

    def update(self, unhedged_usd: float, tolerance_usd: float, wall_s: float, venue_ms: int | None = None) -> bool:
        """Record one observation (one per cycle); True when a bound is breached (escalate)."""
        if unhedged_usd <= tolerance_usd:
            self.since_wall, self.since_venue_ms, self.cycles, self.seconds = None, None, 0, 0.0
            return False
        if self.since_wall is None:
            self.since_wall, self.since_venue_ms = wall_s, venue_ms
        self.cycles += 1
        venue_s = 0.0 if venue_ms is None or self.since_venue_ms is None else (venue_ms - self.since_venue_ms) / 1e3
        self.seconds = max(wall_s - self.since_wall, venue_s)
        self.worst_usd = max(self.worst_usd, unhedged_usd)
        self.worst_seconds = max(self.worst_seconds, self.seconds)
        return self.seconds > self.max_seconds or self.cycles >= self.max_cycles or unhedged_usd > self.max_usd

    @property
    def timed_out(self) -> bool:
        """One-legged past ``timeout_s`` or twice ``max_cycles`` cycles: time for the configured last resort."""
        return self.since_wall is not None and (self.seconds > self.timeout_s or self.cycles >= 2 * self.max_cycles)
