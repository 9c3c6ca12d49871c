"""Downloaders for venue market data (Binance USD-M, Hyperliquid info API) over an injectable HTTP seam."""

from basisctl.data.fetch.binance import BINANCE_USDM_URL, BinanceUsdm, binance_symbol
from basisctl.data.fetch.http import FetchError, HttpClient, RetryPolicy
from basisctl.data.fetch.hyperliquid import HYPERLIQUID_URL, HyperliquidInfo, HyperliquidMeta

#: Which venues each ``basisctl data fetch --kind`` can download (the locator's "how to get it" hint).
DOWNLOADERS: dict[str, tuple[str, ...]] = {
    "funding": ("binance", "hyperliquid"),
    "candles": ("binance", "hyperliquid"),
    "mark": ("binance",),
    "meta": ("hyperliquid",),
}

__all__ = [
    "BINANCE_USDM_URL",
    "DOWNLOADERS",
    "HYPERLIQUID_URL",
    "BinanceUsdm",
    "FetchError",
    "HttpClient",
    "HyperliquidInfo",
    "HyperliquidMeta",
    "RetryPolicy",
    "binance_symbol",
]
