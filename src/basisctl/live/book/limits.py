"""Book limits: the gate on NEW risk across positions (pure functions).

New risk is the opening of the book and a buy-basis rebalance (LOWER_COLLATERAL: buys spot and sells perp, so the
gross notional grows by about twice the rebalance size). Protective actions - hedge repair, unwind, collateral
raise (RAISE_COLLATERAL / EMERGENCY), flatten - never pass through this gate. An exposure that is unknown (a
position with no complete read yet) is never taken as zero: the gate then refuses new risk, saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from basisctl.live.book.config import BookLimits
from basisctl.live.venue import VenueState


@dataclass(frozen=True)
class Exposure:
    """One position's exposure [USD]; None where it is unknown."""

    id: str
    venue: str
    asset: str
    gross_usd: float | None
    unhedged_usd: float | None


def gross_usd(st: VenueState) -> float:
    """|spot| + |perp| notional at the read's prices [USD]."""
    return abs(st.spot_base) * st.spot_mid + abs(st.perp_size) * st.mark_px


def _over(limits: BookLimits, rows: Sequence[Exposure], grow: dict[str, float]) -> str | None:
    """The first book limit the exposures (plus ``grow`` [USD] per position id) break, else None."""
    unknown = [r.id for r in rows if r.gross_usd is None]
    if unknown:
        return f"exposure of position(s) {', '.join(unknown)} unknown (no complete read yet)"

    def g(r: Exposure) -> float:
        return float(r.gross_usd or 0.0) + grow.get(r.id, 0.0)

    total = sum(g(r) for r in rows)
    if limits.max_gross_notional_usd is not None and total > limits.max_gross_notional_usd:
        cap = limits.max_gross_notional_usd
        return f"book gross notional ${total:,.0f} > limits.max_gross_notional_usd ${cap:,.0f}"
    for venue, cap in limits.max_venue_notional_usd.items():
        v = sum(g(r) for r in rows if r.venue == venue)
        if v > cap:
            return f"{venue} gross notional ${v:,.0f} > limits.max_venue_notional_usd.{venue} ${cap:,.0f}"
    for asset, cap in limits.max_asset_notional_usd.items():
        a = sum(g(r) for r in rows if r.asset == asset)
        if a > cap:
            return f"{asset} gross notional ${a:,.0f} > limits.max_asset_notional_usd.{asset} ${cap:,.0f}"
    return None


def new_risk_refusal(limits: BookLimits, rows: Sequence[Exposure], pid: str, growth_usd: float) -> str | None:
    """Why position ``pid`` may not grow its gross notional by ``growth_usd`` [USD] now (None: it may)."""
    if limits.max_unhedged_usd is not None:
        unk = [r.id for r in rows if r.unhedged_usd is None]
        if unk:
            return f"hedge gap of position(s) {', '.join(unk)} unknown (no complete read yet)"
        tot = sum(float(r.unhedged_usd or 0.0) for r in rows)
        if tot > limits.max_unhedged_usd:
            return f"book unhedged ${tot:,.0f} > limits.max_unhedged_usd ${limits.max_unhedged_usd:,.0f}"
    return _over(limits, rows, {pid: max(growth_usd, 0.0)})


def opening_refusal(limits: BookLimits, rows: Sequence[Exposure]) -> str | None:
    """Why the book may not open with these positions' opening exposures (None: it may)."""
    return _over(limits, rows, {})
