"""theta_F with the size tiers a venue publishes in the data dir (Hyperliquid's margin table), read here and
handed to the pure :func:`basisctl.model.margin.theta_f_for` as an argument."""

from __future__ import annotations

from collections.abc import Sequence

from basisctl.data import locator
from basisctl.model.margin import LeverageTier, check_venue
from basisctl.model.margin import theta_f_for as _theta_f_for

#: Venues whose notional tiers live in the data dir, with the name of the locator function that reads them.
TIERS_FROM_DATA: dict[str, str] = {"hyperliquid": "hyperliquid_tiers"}


def theta_f_for(venue: str, asset: str, l_max: float | None = None, theta_f: float | None = None,
                notional_usd: float = 0.0, tiers: Sequence[LeverageTier] | None = None) -> tuple[float, float]:
    """(theta_F [fraction of notional], L_max [x]) as :func:`basisctl.model.margin.theta_f_for`, except that with
    ``notional_usd`` [USD] > 0 and neither ``theta_f``, ``l_max`` nor ``tiers`` given, a venue that publishes its
    size tiers in the data dir (Hyperliquid's margin table) has them read from there."""
    reader = TIERS_FROM_DATA.get(check_venue(venue))
    if theta_f is None and l_max is None and tiers is None and notional_usd > 0 and reader is not None:
        tiers = getattr(locator, reader)(asset.upper())
    return _theta_f_for(venue, asset, l_max=l_max, theta_f=theta_f, notional_usd=notional_usd, tiers=tiers)
