"""Kraken Futures: funding history; theta_F from the margin schedule level.

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("kraken", "Kraken Futures", (1.0, 4.0), "theta_F = IM/2 of the margin level (level I: 1% at 50x)",
                 0.5, "basisctl.venues.kraken.fetch:KrakenFuturesFunding",
                 "https://docs.kraken.com/api-reference/historical-funding-rates/historical-funding-rates",
                 "https://support.kraken.com/hc/en-us/articles/360022632452-Margin-Schedule", 5.0)
