"""OKX v5 public funding-rate history (USDT-margined perpetual swaps).

``GET /api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP&after=&limit=`` ->
``{"code": "0", "msg": "", "data": [{instType, instId, fundingRate, realizedRate, fundingTime, method,
formulaType}]}``, newest first; ``after`` returns rows with ``fundingTime`` strictly earlier than the given ms,
so pages walk backwards from the last (oldest) ``fundingTime``. ``realizedRate`` (the rate actually settled) is
used when present, else ``fundingRate``. Rate limit 10 requests / 2 s (IP + instrument): HTTP 429 with code
"50011" is retried by the HTTP client; any other ``code != "0"`` (e.g. 51001 unknown instrument) fails at once.
OKX settles most swaps every 8 h but moves symbols to 4 h/2 h/1 h; interval_hours is the observed spacing capped at
8 h. Docs: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-funding-rate-history
"""

from __future__ import annotations

from typing import Any, ClassVar

from basisctl.data.fetch._bars import Bar, NewestFirstBars
from basisctl.data.fetch._funding import NewestFirstFunding, Row, funding_rows
from basisctl.data.fetch._parse import RowErrors, request_label
from basisctl.data.fetch.http import FetchError

OKX_URL = "https://www.okx.com"
#: Client-side pace [s between requests]: 10 requests per 2 s.
OKX_MIN_INTERVAL_S = 0.25


def okx_inst_id(asset: str) -> str:
    a = asset.upper()
    return a if a.endswith("-SWAP") else f"{a}-USDT-SWAP"


class OkxFunding(NewestFirstFunding, NewestFirstBars):
    """Funding history and candles (``GET /api/v5/market/history-candles?instId&bar&after&limit``: ``data`` of
    string arrays ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, newest first, <= 100 per call,
    ``after`` exclusive; ``vol`` is in contracts for swaps, so ``volCcy`` (base currency) is stored;
    ``confirm`` "0" marks the bar still forming)."""

    default_base_url = OKX_URL
    bar_page_limit = 100
    bar_codes: ClassVar[dict[str, str]] = {"1h": "1H", "4h": "4H", "1d": "1Dutc"}
    default_min_interval_s = OKX_MIN_INTERVAL_S
    strict_newest_first = True
    page_limit = 100
    cap_hours = 8.0
    source = "okx_api"
    venue = "okx"

    def symbol(self, asset: str) -> str:
        return okx_inst_id(asset)

    def _data(self, path: str, params: dict[str, Any]) -> tuple[list[Any], str]:
        """GET an OKX v5 endpoint: the ``data`` array of a ``{code: "0", msg, data}`` envelope, and the request
        label for errors. A non-zero code or another shape is a FetchError naming the request."""
        src = request_label(self.http.base_url, path, params)
        body = self.http.get_json(path, params)
        if not isinstance(body, dict) or "code" not in body:
            raise FetchError(f"{src}: expected {{code, msg, data}}, got {str(body)[:200]}")
        if str(body["code"]) != "0":
            raise FetchError(f"{src}: OKX error {body['code']}: {body.get('msg')}")
        data = body.get("data")
        if not isinstance(data, list):
            raise FetchError(f"{src}: expected data to be an array, got {str(body)[:200]}")
        return data, src

    def _page(self, symbol: str, before_ms: int) -> tuple[list[Row], str]:
        params = {"instId": symbol, "after": before_ms, "limit": self.page_limit}
        data, src = self._data("/api/v5/public/funding-rate-history", params)
        # the realised rate where the settlement has one, else the announced rate
        return funding_rows(src, data, "an object {instId, fundingRate, realizedRate, fundingTime}", ("instId", symbol),
                            "fundingTime", ("realizedRate", "fundingRate")), src

    def _bar_page(self, symbol: str, code: str, before_ms: int, start_ms: int) -> tuple[list[Bar], str]:
        params = {"instId": symbol, "bar": code, "after": before_ms, "limit": self.bar_page_limit}
        data, src = self._data("/api/v5/market/history-candles", params)
        errs = RowErrors(src)
        bars: list[Bar] = []
        for i, k in errs.arrays(data, 7, "an array [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]"):
            t = errs.epoch_ms(i, k, 0)
            o, h, lo, c = errs.ohlc(i, k, (1, 2, 3, 4))
            v = errs.number(i, k, 6)
            if t is not None and not (len(k) > 8 and str(k[8]) == "0"):
                bars.append((t, o, h, lo, c, v))
        errs.raise_if_any()
        return bars, src
