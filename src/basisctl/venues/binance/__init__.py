"""Binance USD-M futures: 8-hour (some symbols 4-hour) funding, klines and mark-price klines.

This folder holds the venue's registry row (``SPEC``, collected by :mod:`basisctl.venues.registry`) and its
funding/candle downloader (:mod:`.fetch`).
"""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("binance", "Binance USD-M", (8.0, 4.0), "theta_F = 1/L_max (conservative, account-independent)",
                 1.0, "basisctl.venues.binance.fetch:BinanceUsdm",
                 "https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/"
                 "Get-Funding-Rate-History",
                 "https://www.binance.com/en/futures/trading-rules/perpetual/leverage-margin", 5.0,
                 downloads=("funding", "candles", "mark"))
