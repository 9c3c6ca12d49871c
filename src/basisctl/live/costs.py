"""Side-specific cost curves for the policy from the venue's current spot and perp books [bps]."""

from __future__ import annotations

from basisctl.live.venue import BookSide, Venue, VenueState
from basisctl.model.policy import CostCurve


def walk_cost_bps(levels: BookSide, mid: float, notional_usd: float) -> float:
    """Average distance of the fill from mid when taking ``notional_usd`` [USD] from a book side [bps].
    Beyond the visible book the last level's distance is extended (conservative: x2)."""
    if notional_usd <= 0 or not levels.levels:
        return 0.0
    left, cost_usd = notional_usd, 0.0
    for px, sz in levels.levels:
        take = min(left, px * sz)
        cost_usd += take * abs(px / mid - 1.0)
        left -= take
        if left <= 1e-9:
            break
    if left > 1e-9:
        cost_usd += left * 2.0 * abs(levels.levels[-1][0] / mid - 1.0)
    return cost_usd / notional_usd * 1e4


def book_cost_curves(
    venue: Venue, state: VenueState, spot_fee_bps: float, perp_fee_bps: float, max_notional_usd: float
) -> tuple[CostCurve, CostCurve]:
    """(sell-basis, buy-basis) CostCurves [bps of spot notional] from the current spot and perp books:
    fees of both legs + impact of walking each book."""
    sb, sa = venue.book("spot")
    pb, pa = venue.book("perp")
    fees = spot_fee_bps + perp_fee_bps

    def sell(q: float) -> float:
        return fees + walk_cost_bps(sb, state.spot_mid, q) + walk_cost_bps(pa, state.mark_px, q)

    def buy(q: float) -> float:
        return fees + walk_cost_bps(sa, state.spot_mid, q) + walk_cost_bps(pb, state.mark_px, q)

    return (CostCurve.from_function(sell, max_notional_usd, 32), CostCurve.from_function(buy, max_notional_usd, 32))
