"""OKX swaps: funding history; theta_F is the position tier's explicit MMR (no rule from L_max).

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("okx", "OKX swap", (8.0, 4.0, 2.0, 1.0), "theta_F = MMR of the position tier (explicit; no rule "
                 "from L_max)", None, "basisctl.venues.okx.fetch:OkxFunding",
                 "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-funding-rate-history",
                 "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-position-tiers", 5.0)
