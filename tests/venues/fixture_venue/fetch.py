"""Funding history of the fixture venue: ``GET /funding?coin=BTC`` -> ``{"rows": [{"t": ms, "r": "decimal"}]}``,
all rows ascending in one response, 8-hourly settlements (the shared :func:`funding_frame` does the rest)."""

from __future__ import annotations

import pandas as pd

from basisctl.data.fetch._funding import Row, TimeLike, funding_frame
from basisctl.data.fetch._parse import RowErrors, to_ms
from basisctl.data.fetch.http import FetchError, VenueClient


class FixtureFunding(VenueClient):
    default_base_url = "http://127.0.0.1:9"  # tests pass the local server's URL
    default_min_interval_s = 0.0
    source = "fixturex_api"

    def funding_history(self, asset: str, start: TimeLike, end: TimeLike,
                        previous: TimeLike | None = None) -> pd.DataFrame:
        """Settlements in ``[start, end)``: ts, rate [decimal per 8 h], interval_hours [h], source."""
        src = f"GET {self.http.base_url}/funding?coin={asset.upper()}"
        body = self.http.get_json("/funding", {"coin": asset.upper()})
        if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
            raise FetchError(f"{src}: expected {{rows: [...]}}, got {str(body)[:200]}")
        errs = RowErrors(src)
        rows: list[Row] = []
        for i, row in enumerate(body["rows"]):
            t, r = errs.number(i, row, "t"), errs.number(i, row, "r")
            if t == t:  # a missing time is already recorded in errs
                rows.append((int(t), r, None))
        errs.raise_if_any()
        prev = to_ms(previous) if previous is not None else None
        return funding_frame(rows, to_ms(start), to_ms(end), 8.0, self.source, f"fixturex funding {asset}", prev)
