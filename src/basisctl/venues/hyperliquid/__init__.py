"""Hyperliquid perps: hourly funding, margin tiers from the margin table in the data dir (``meta/hyperliquid``).

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("hyperliquid", "Hyperliquid", (1.0, 8.0), "theta_F = 1/(2 L_max), L_max from the margin table tier",
                 0.5, "basisctl.venues.hyperliquid.fetch:HyperliquidInfo",
                 "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals",
                 "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers", 4.5,
                 downloads=("funding", "candles", "meta"))
