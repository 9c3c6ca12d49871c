"""dYdX v4 (indexer): hourly funding history; theta_F from the liquidity tier.

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("dydx", "dYdX v4", (1.0,), "theta_F = maintenance_fraction x IMF of the liquidity tier "
                 "(Large-Cap 0.6 x 2% = 1.2%)", 0.6, "basisctl.venues.dydx.fetch:DydxFunding",
                 "https://docs.dydx.exchange/api_integration-indexer/indexer_api#gethistoricalfunding",
                 "https://docs.dydx.community/dydx-unlimited/modules/governance/governance-adjustable-parameters/"
                 "markets", 5.0)
