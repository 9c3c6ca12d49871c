"""Downloaders for venue market data (Binance USD-M, Hyperliquid info API; funding history of Bybit, OKX,
dYdX v4 and Kraken Futures) over an injectable HTTP seam."""

from basisctl.data.fetch.binance import BINANCE_USDM_URL, BinanceUsdm, binance_symbol
from basisctl.data.fetch.bybit import BYBIT_URL, BybitFunding
from basisctl.data.fetch.dydx import DYDX_INDEXER_URL, DydxFunding
from basisctl.data.fetch.http import DOWNLOAD_RETRY, ConnectFailed, FetchError, HttpClient, RetryPolicy
from basisctl.data.fetch.hyperliquid import HYPERLIQUID_URL, HyperliquidInfo, HyperliquidMeta
from basisctl.data.fetch.kraken import KRAKEN_FUTURES_URL, KrakenFuturesFunding
from basisctl.data.fetch.okx import OKX_URL, OkxFunding

#: Which venues each ``basisctl data fetch --kind`` can download (the locator's "how to get it" hint).
DOWNLOADERS: dict[str, tuple[str, ...]] = {
    "funding": ("binance", "hyperliquid", "bybit", "okx", "dydx", "kraken"),
    "candles": ("binance", "hyperliquid"),
    "mark": ("binance",),
    "meta": ("hyperliquid",),
}

__all__ = [
    "BINANCE_USDM_URL",
    "BYBIT_URL",
    "DOWNLOADERS",
    "DOWNLOAD_RETRY",
    "DYDX_INDEXER_URL",
    "HYPERLIQUID_URL",
    "KRAKEN_FUTURES_URL",
    "OKX_URL",
    "BinanceUsdm",
    "BybitFunding",
    "ConnectFailed",
    "DydxFunding",
    "FetchError",
    "HttpClient",
    "HyperliquidInfo",
    "HyperliquidMeta",
    "KrakenFuturesFunding",
    "OkxFunding",
    "RetryPolicy",
    "binance_symbol",
]
