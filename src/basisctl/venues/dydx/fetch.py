"""dYdX v4 indexer: historical funding per perpetual market.

``GET /v4/historicalFunding/{ticker}?limit=&effectiveBeforeOrAt=<ISO-8601>`` ->
``{"historicalFunding": [{ticker, rate, price, effectiveAt, effectiveAtHeight}]}``, newest first, at most 100
rows; ``rate`` is the 1-hour funding rate (dYdX v4 settles funding every hour), ``effectiveAt`` an ISO-8601 UTC
time. Pages walk backwards with ``effectiveBeforeOrAt`` (inclusive) = oldest row - 1 ms. Unknown tickers answer
HTTP 404/400 ``{"errors": [{"msg"}]}``; 429 is retried by the HTTP client.
Docs: https://docs.dydx.exchange/api_integration-indexer/indexer_api#gethistoricalfunding
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from basisctl.data.fetch._bars import Bar, NewestFirstBars
from basisctl.data.fetch._funding import NewestFirstFunding, Row, funding_rows
from basisctl.data.fetch._parse import RowErrors, request_label
from basisctl.data.fetch.http import FetchError

DYDX_INDEXER_URL = "https://indexer.dydx.trade"
#: Client-side pace [s between requests]; the public indexer rate-limits per IP (HTTP 429).
DYDX_MIN_INTERVAL_S = 0.2
DYDX_FUNDING_HOURS = 1.0


def dydx_ticker(asset: str) -> str:
    a = asset.upper()
    return a if "-" in a else f"{a}-USD"


def iso_ms(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class DydxFunding(NewestFirstFunding, NewestFirstBars):
    """Funding history and candles (``GET /v4/candles/perpetualMarkets/{ticker}?resolution=1HOUR&limit&toISO``:
    ``{candles: [{startedAt, ticker, resolution, open, high, low, close, baseTokenVolume, usdVolume, trades,
    startingOpenInterest}]}``, newest first, <= 100 per call; ``toISO`` inclusive)."""

    default_base_url = DYDX_INDEXER_URL
    bar_page_limit = 100
    bar_codes: ClassVar[dict[str, str]] = {"1h": "1HOUR", "4h": "4HOURS", "1d": "1DAY"}
    default_min_interval_s = DYDX_MIN_INTERVAL_S
    page_limit = 100
    cap_hours = DYDX_FUNDING_HOURS
    source = "dydx_indexer"
    venue = "dydx"

    def symbol(self, asset: str) -> str:
        return dydx_ticker(asset)

    def _list(self, path: str, params: dict[str, Any], key: str) -> tuple[list[Any], str]:
        """GET an indexer endpoint: the ``key`` array of its JSON object, and the request label for errors."""
        src = request_label(self.http.base_url, path, params)
        body = self.http.get_json(path, params)
        lst = body.get(key) if isinstance(body, dict) else None
        if not isinstance(lst, list):
            raise FetchError(f"{src}: expected {{{key}: [...]}}, got {str(body)[:200]}")
        return lst, src

    def _page(self, symbol: str, before_ms: int) -> tuple[list[Row], str]:
        params = {"limit": self.page_limit, "effectiveBeforeOrAt": iso_ms(before_ms - 1)}
        lst, src = self._list(f"/v4/historicalFunding/{symbol}", params, "historicalFunding")
        return funding_rows(src, lst, "an object {ticker, rate, price, effectiveAt}", ("ticker", symbol), "effectiveAt",
                            ("rate",), DYDX_FUNDING_HOURS, iso=True), src

    def _bar_page(self, symbol: str, code: str, before_ms: int, start_ms: int) -> tuple[list[Bar], str]:
        params = {"resolution": code, "limit": self.bar_page_limit, "fromISO": iso_ms(start_ms),
                  "toISO": iso_ms(before_ms - 1)}
        lst, src = self._list(f"/v4/candles/perpetualMarkets/{symbol}", params, "candles")
        errs = RowErrors(src)
        bars: list[Bar] = []
        for i, k in errs.objects(lst, "an object {startedAt, open, high, low, close, baseTokenVolume}",
                                 ("resolution", code)):
            t = errs.iso_ms(i, k, "startedAt")
            o, h, lo, c = errs.ohlc(i, k, ("open", "high", "low", "close"))
            v = errs.number(i, k, "baseTokenVolume")
            if t is not None:
                bars.append((t, o, h, lo, c, v))
        errs.raise_if_any()
        return bars, src
