"""The fixture venue's local server: known 8-hourly rates for BTC on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tests.localhttp import json_get_server

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
N = 24 * 3 * 40  # 120 days of 8-hourly settlements
RATES = np.round(1e-4 + 5e-5 * np.sin(np.arange(N) / 7.0), 8)  # decimal per 8 h, known in code
TIMES = T0_MS + np.arange(N, dtype=np.int64) * 8 * 3_600_000


@contextmanager
def fixture_server() -> Iterator[str]:
    def respond(path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if path != "/funding" or query.get("coin") != "BTC":
            return 404, {}, {"error": f"unknown {path} {query}"}
        return 200, {}, {"rows": [{"t": int(t), "r": format(r, ".8f")} for t, r in zip(TIMES, RATES, strict=True)]}

    with json_get_server(respond) as url:
        yield url
