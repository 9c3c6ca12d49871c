"""Bybit linear (USDT) perps: funding history; BTCUSDT risk-limit tiers in :mod:`basisctl.model.margin`.

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("bybit", "Bybit linear", (8.0, 4.0, 2.0, 1.0), "theta_F = MMR of the risk-limit tier "
                 "(BTCUSDT tier 1: 0.5% at 100x)", 0.5, "basisctl.venues.bybit.fetch:BybitFunding",
                 "https://bybit-exchange.github.io/docs/v5/market/history-fund-rate",
                 "https://www.bybit.com/en/announcement-info/margin-parameters", 5.5)
