"""Kraken Futures: historical funding rates of a perpetual (multi-collateral ``PF_`` contracts).

``GET /derivatives/api/v3/historical-funding-rates?symbol=PF_XBTUSD`` ->
``{"result": "success", "serverTime", "rates": [{timestamp, fundingRate, relativeFundingRate}]}``, the whole
history sorted ascending by ``timestamp`` (ISO-8601 UTC) in one response (no paging). ``fundingRate`` is absolute
(USD per contract); ``relativeFundingRate`` is the decimal rate for the listed period and is what is stored.
Errors: ``{"result": "error", "errors": [{"code": 11, "message": "Argument invalid: symbol"}]}``.
Kraken settled every 4 h and now settles hourly; interval_hours is the observed spacing capped at 4 h.
Docs: https://docs.kraken.com/api-reference/historical-funding-rates/historical-funding-rates
"""

from __future__ import annotations

import pandas as pd

from basisctl.data.fetch._funding import TimeLike, funding_frame, funding_rows
from basisctl.data.fetch._parse import to_ms
from basisctl.data.fetch.http import FetchError, VenueClient

KRAKEN_FUTURES_URL = "https://futures.kraken.com"
KRAKEN_MIN_INTERVAL_S = 0.5
KRAKEN_CAP_HOURS = 4.0
_ALIASES = {"BTC": "XBT"}


def kraken_symbol(asset: str) -> str:
    a = asset.upper()
    if a.startswith(("PF_", "PI_")):
        return a
    return f"PF_{_ALIASES.get(a, a)}USD"


class KrakenFuturesFunding(VenueClient):
    default_base_url = KRAKEN_FUTURES_URL
    default_min_interval_s = KRAKEN_MIN_INTERVAL_S
    source = "kraken_futures_api"

    def funding_history(self, asset: str, start: TimeLike, end: TimeLike,
                        previous: TimeLike | None = None) -> pd.DataFrame:
        """Settlements in ``[start, end)``: ts, rate [decimal per period], interval_hours [h], source."""
        symbol = kraken_symbol(asset)
        path = "/derivatives/api/v3/historical-funding-rates"
        src = f"GET {self.http.base_url}{path}?symbol={symbol}"
        body = self.http.get_json(path, {"symbol": symbol})
        if not isinstance(body, dict):
            raise FetchError(f"{src}: expected a JSON object, got {str(body)[:200]}")
        if body.get("result") != "success":
            raise FetchError(f"{src}: Kraken error: {body.get('errors') or body.get('error') or body}")
        rates = body.get("rates")
        if not isinstance(rates, list):
            raise FetchError(f"{src}: expected rates to be an array, got {str(body)[:200]}")
        rows = funding_rows(src, rates, "an object {timestamp, fundingRate, relativeFundingRate}", None, "timestamp",
                            ("relativeFundingRate",), iso=True)
        prev = to_ms(previous) if previous is not None else None
        return funding_frame(rows, to_ms(start), to_ms(end), KRAKEN_CAP_HOURS, self.source,
                             f"kraken historical-funding-rates {symbol}", prev)
