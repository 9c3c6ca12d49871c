"""Shared pieces of the venue downloaders: the HTTP client with retries (:mod:`.http`), row parsing
(:mod:`._parse`), funding and candle paging (:mod:`._funding`, :mod:`._bars`) and Uniswap v3 pool state over
Ethereum JSON-RPC (:mod:`.uniswap_rpc`). Each venue's own downloader lives in its folder,
``basisctl.venues.<name>.fetch`` (see :mod:`basisctl.venues.registry`)."""

from basisctl.data.fetch.http import DOWNLOAD_RETRY, ConnectFailed, FetchError, HttpClient, RetryPolicy

__all__ = ["DOWNLOAD_RETRY", "ConnectFailed", "FetchError", "HttpClient", "RetryPolicy"]
