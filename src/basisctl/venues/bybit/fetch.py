"""Bybit v5 public funding history (linear USDT perpetuals).

``GET /v5/market/funding/history?category=linear&symbol=BTCUSDT&endTime=&limit=`` ->
``{"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [{symbol, fundingRate,
fundingRateTimestamp}]}, "time"}``; strings for the rate and the ms timestamp, newest first, at most 200 rows.
Passing only ``startTime`` is an error, so pages walk backwards with ``endTime`` (inclusive).
Errors come as HTTP 200 with ``retCode != 0``; ``retCode`` 10006 ("Too many visits") is Bybit's rate limit and is
retried with the client's backoff, HTTP 403 (IP ban) fails at once. The rows carry no interval, and symbols differ
(8h, 4h, 2h, 1h) and change, so interval_hours is the observed spacing capped at 8 h.
Docs: https://bybit-exchange.github.io/docs/v5/market/history-fund-rate
"""

from __future__ import annotations

from typing import Any, ClassVar

from basisctl.data.fetch._bars import Bar, NewestFirstBars
from basisctl.data.fetch._funding import NewestFirstFunding, Row, funding_rows
from basisctl.data.fetch._parse import RowErrors, request_label
from basisctl.data.fetch.http import FetchError

BYBIT_URL = "https://api.bybit.com"
#: Client-side pace [s between requests]: the public market endpoints allow 600 requests / 5 s / IP; keep far below.
BYBIT_MIN_INTERVAL_S = 0.1
BYBIT_RATE_LIMIT_CODE = 10006


def bybit_symbol(asset: str) -> str:
    a = asset.upper()
    return a if a.endswith(("USDT", "USDC", "PERP")) else f"{a}USDT"


class BybitFunding(NewestFirstFunding, NewestFirstBars):
    """Funding history and klines (``GET /v5/market/kline``: ``result.list`` of string arrays
    ``[startTime, open, high, low, close, volume, turnover]``, newest first, <= 1000 per call,
    https://bybit-exchange.github.io/docs/v5/market/kline)."""

    default_base_url = BYBIT_URL
    bar_page_limit = 1000
    bar_codes: ClassVar[dict[str, str]] = {"1h": "60", "4h": "240", "1d": "D"}
    default_min_interval_s = BYBIT_MIN_INTERVAL_S
    strict_newest_first = True
    page_limit = 200
    cap_hours = 8.0
    source = "bybit_api"
    venue = "bybit"

    def symbol(self, asset: str) -> str:
        return bybit_symbol(asset)

    def _get(self, params: dict[str, Any], src: str, path: str = "/v5/market/funding/history") -> Any:
        for attempt in range(self.http.retry.max_retries + 1):
            body = self.http.get_json(path, params)
            if not isinstance(body, dict) or "retCode" not in body:
                raise FetchError(f"{src}: expected {{retCode, retMsg, result}}, got {str(body)[:200]}")
            if body["retCode"] == BYBIT_RATE_LIMIT_CODE and attempt < self.http.retry.max_retries:
                self.http._wait(self.http._backoff(attempt, None))
                continue
            if body["retCode"] != 0:
                raise FetchError(f"{src}: Bybit error {body['retCode']}: {body.get('retMsg')}")
            return body
        raise FetchError(f"{src}: rate limited (retCode {BYBIT_RATE_LIMIT_CODE}) after retries")  # pragma: no cover

    def _list(self, params: dict[str, Any], path: str = "/v5/market/funding/history") -> tuple[list[Any], str]:
        """The ``result.list`` array of a v5 response, and the request label for errors."""
        src = request_label(self.http.base_url, path, params)
        body = self._get(params, src, path)
        lst = body.get("result", {}).get("list") if isinstance(body.get("result"), dict) else None
        if not isinstance(lst, list):
            raise FetchError(f"{src}: expected result.list to be an array, got {str(body)[:200]}")
        return lst, src

    def _page(self, symbol: str, before_ms: int) -> tuple[list[Row], str]:
        params = {"category": "linear", "symbol": symbol, "endTime": before_ms - 1, "limit": self.page_limit}
        lst, src = self._list(params)
        return funding_rows(src, lst, "an object {symbol, fundingRate, fundingRateTimestamp}", ("symbol", symbol),
                            "fundingRateTimestamp", ("fundingRate",)), src

    def _bar_page(self, symbol: str, code: str, before_ms: int, start_ms: int) -> tuple[list[Bar], str]:
        params = {"category": "linear", "symbol": symbol, "interval": code, "start": start_ms, "end": before_ms - 1,
                  "limit": self.bar_page_limit}
        lst, src = self._list(params, "/v5/market/kline")
        errs = RowErrors(src)
        bars: list[Bar] = []
        for i, k in errs.arrays(lst, 6, "an array [startTime, open, high, low, close, volume, turnover]"):
            t = errs.epoch_ms(i, k, 0)
            o, h, lo, c = errs.ohlc(i, k, (1, 2, 3, 4))
            v = errs.number(i, k, 5)
            if t is not None:
                bars.append((t, o, h, lo, c, v))
        errs.raise_if_any()
        return bars, src
