"""A 127.0.0.1 server speaking the documented funding-history APIs of Bybit v5, OKX v5, the dYdX v4 indexer and
Kraken Futures, over one synthetic series per venue whose cadence changes 8h -> 4h -> 1h (values known in code).

Shapes (see the client modules for the documentation links):
- Bybit ``GET /v5/market/funding/history`` -> ``{retCode, retMsg, result: {category, list: [...]}, time}``,
  newest first, ``endTime`` inclusive, ``limit`` <= 200; errors as HTTP 200 with ``retCode`` != 0 (10006 = rate).
- OKX ``GET /api/v5/public/funding-rate-history`` -> ``{code, msg, data: [...]}``, newest first, ``after``
  exclusive, ``limit`` <= 100; 429 with code 50011.
- dYdX ``GET /v4/historicalFunding/{ticker}`` -> ``{historicalFunding: [...]}``, newest first,
  ``effectiveBeforeOrAt`` inclusive (ISO), ``limit`` <= 100; unknown ticker 404.
- Kraken ``GET /derivatives/api/v3/historical-funding-rates`` -> ``{result, serverTime, rates: [...]}`` ascending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

from tests.localhttp import send_json

HOUR_MS = 3_600_000
T0_MS = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000)


def series(n8: int, n4: int, n1: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Settlement times [ms], rates [decimal per interval] and true intervals [h]: n8 rows 8 h apart, then n4 rows
    4 h apart, then n1 rows 1 h apart. Rates are rounded to 8 decimals (as venues print them)."""
    steps = np.concatenate([np.full(n8, 8), np.full(n4, 4), np.full(n1, 1)]).astype(np.int64)
    ts = T0_MS + np.cumsum(steps) * HOUR_MS
    rng = np.random.default_rng(seed)
    rate = np.round(1e-4 * steps / 8 + rng.normal(0.0, 5e-5, steps.size) * np.sqrt(steps / 8), 8)
    return ts, rate, steps.astype(float)


def bars(n: int, seed: int = 1) -> np.ndarray:
    """n hourly bars from T0 (open ms, o, h, l, c, volume), prices rounded to 2 decimals."""
    rng = np.random.default_rng(seed)
    close = np.round(40_000 * np.exp(np.cumsum(rng.normal(0, 0.004, n))), 2)
    opn = np.concatenate([[40_000.0], close[:-1]])
    hi = np.round(np.maximum(opn, close) * 1.002, 2)
    lo = np.round(np.minimum(opn, close) * 0.998, 2)
    vol = np.round(rng.uniform(1, 100, n), 3)
    t = T0_MS + np.arange(n, dtype=np.int64) * HOUR_MS
    return np.column_stack([t, opn, hi, lo, close, vol])


def dec(x: float) -> str:
    return np.format_float_positional(float(x), trim="-")


def iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Fault:
    status: int
    body: Any
    times: int
    headers: dict[str, str]


@dataclass
class FundingServer:
    ts: np.ndarray
    rate: np.ndarray
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    drift: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    bar: np.ndarray = field(default_factory=lambda: bars(2500))
    ignore_paging: bool = False
    _srv: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._srv is not None
        return f"http://127.0.0.1:{self._srv.server_address[1]}"

    def inject(self, status: int, body: Any, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.faults.append(Fault(status, body, times, headers or {}))

    def reset(self) -> None:
        self.log.clear()
        self.faults.clear()
        self.drift = None
        self.ignore_paging = False

    def calls(self, path_prefix: str) -> list[dict[str, str]]:
        return [q for p, q in self.log if p.startswith(path_prefix)]

    # ------------------------------------------------------------------ venues
    def _before(self, hi_inclusive: int, limit: int) -> np.ndarray:
        idx = np.flatnonzero(self.ts <= hi_inclusive)
        if self.ignore_paging:
            idx = np.flatnonzero(self.ts <= self.ts[-1])
        return idx[::-1][:limit]

    def bybit(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("category") != "linear" or "symbol" not in q:
            return 200, {"retCode": 10001, "retMsg": "params error: category", "result": {}, "time": 0}
        if q["symbol"] != "BTCUSDT":
            return 200, {"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}, "time": 0}
        if "startTime" in q and "endTime" not in q:
            return 200, {"retCode": 10001, "retMsg": "params error: endTime required", "result": {}, "time": 0}
        limit = min(int(q.get("limit", 200)), 200)
        sel = self._before(int(q.get("endTime", 2**62)), limit)
        lst = [{"symbol": "BTCUSDT", "fundingRate": dec(self.rate[i]), "fundingRateTimestamp": str(int(self.ts[i]))}
               for i in sel]
        return 200, {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": lst}, "retExtInfo": {},
                     "time": 1_800_000_000_000}

    def okx(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("instId") != "BTC-USDT-SWAP":
            return 200, {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        limit = min(int(q.get("limit", 100)), 100)
        sel = self._before(int(q.get("after", 2**62)) - 1, limit)
        data = [{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "formulaType": "noRate", "method": "current_period",
                 "fundingRate": dec(self.rate[i] + 1e-6), "realizedRate": dec(self.rate[i]),
                 "fundingTime": str(int(self.ts[i]))} for i in sel]
        return 200, {"code": "0", "msg": "", "data": data}

    def dydx(self, ticker: str, q: dict[str, str]) -> tuple[int, Any]:
        if ticker != "BTC-USD":
            return 404, {"errors": [{"msg": f"{ticker} not found in markets of type PERPETUAL"}]}
        limit = min(int(q.get("limit", 100)), 100)
        hi = q.get("effectiveBeforeOrAt")
        hi_ms = int(pd.Timestamp(hi).value // 1_000_000) if hi else 2**62
        sel = self._before(hi_ms, limit)
        rows = [{"ticker": "BTC-USD", "rate": dec(self.rate[i]), "price": "42000.5", "effectiveAt": iso(self.ts[i]),
                 "effectiveAtHeight": str(1000 + int(i))} for i in sel]
        return 200, {"historicalFunding": rows}

    def kraken(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("symbol") != "PF_XBTUSD":
            return 400, {"result": "error", "errors": [{"code": 11, "message": "Argument invalid: symbol"}],
                         "serverTime": "2026-01-01T00:00:00.000Z"}
        rates = [{"timestamp": iso(self.ts[i]), "fundingRate": float(self.rate[i]) * 1e-5,
                  "relativeFundingRate": float(self.rate[i])} for i in range(self.ts.size)]
        return 200, {"result": "success", "serverTime": "2026-01-01T00:00:00.000Z", "rates": rates}

    def _bars_between(self, lo: int, hi: int, limit: int) -> np.ndarray:
        t = self.bar[:, 0].astype(np.int64)
        idx = np.flatnonzero((t >= lo) & (t <= hi))
        return self.bar[idx[::-1][:limit]]

    def bybit_kline(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("symbol") != "BTCUSDT" or q.get("interval") != "60":
            return 200, {"retCode": 10001, "retMsg": "params error", "result": {}, "time": 0}
        sel = self._bars_between(int(q.get("start", 0)), int(q.get("end", 2**62)), min(int(q.get("limit", 200)), 1000))
        lst = [[str(int(b[0])), *(dec(x) for x in b[1:6]), dec(b[5] * b[4])] for b in sel]
        return 200, {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "symbol": "BTCUSDT",
                                                                 "list": lst}, "time": 0}

    def okx_candles(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("instId") != "BTC-USDT-SWAP" or q.get("bar") != "1H":
            return 200, {"code": "51000", "msg": "Parameter bar error", "data": []}
        sel = self._bars_between(0, int(q.get("after", 2**62)) - 1, min(int(q.get("limit", 100)), 100))
        last = int(self.bar[-1, 0])
        data = [[str(int(b[0])), *(dec(x) for x in b[1:5]), dec(b[5] * 100), dec(b[5]), dec(b[5] * b[4]),
                 "0" if int(b[0]) == last else "1"] for b in sel]
        return 200, {"code": "0", "msg": "", "data": data}

    def dydx_candles(self, ticker: str, q: dict[str, str]) -> tuple[int, Any]:
        if ticker != "BTC-USD":
            return 404, {"errors": [{"msg": f"{ticker} not found"}]}
        lo = int(pd.Timestamp(q["fromISO"]).value // 1_000_000) if "fromISO" in q else 0
        hi = int(pd.Timestamp(q["toISO"]).value // 1_000_000) if "toISO" in q else 2**62
        sel = self._bars_between(lo, hi, min(int(q.get("limit", 100)), 100))
        return 200, {"candles": [{"startedAt": iso(int(b[0])), "ticker": "BTC-USD", "resolution": q.get("resolution"),
                                  "low": dec(b[3]), "high": dec(b[2]), "open": dec(b[1]), "close": dec(b[4]),
                                  "baseTokenVolume": dec(b[5]), "usdVolume": dec(b[5] * b[4]), "trades": 10,
                                  "startingOpenInterest": "100"} for b in sel]}

    def route(self, path: str, q: dict[str, str]) -> tuple[int, Any]:
        exact: dict[str, Callable[[dict[str, str]], tuple[int, Any]]] = {
            "/v5/market/kline": self.bybit_kline, "/api/v5/market/history-candles": self.okx_candles,
            "/v5/market/funding/history": self.bybit, "/api/v5/public/funding-rate-history": self.okx,
            "/derivatives/api/v3/historical-funding-rates": self.kraken}
        if path in exact:
            return exact[path](q)
        for prefix, by_ticker in (("/v4/candles/perpetualMarkets/", self.dydx_candles),
                                  ("/v4/historicalFunding/", self.dydx)):
            if path.startswith(prefix):
                return by_ticker(path.rsplit("/", 1)[-1], q)
        return 404, {"error": "not found"}

    # ------------------------------------------------------------------ serving
    def start(self) -> FundingServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                u = urlparse(self.path)
                q = {k: v[-1] for k, v in parse_qs(u.query).items()}
                outer.log.append((u.path, q))
                headers: dict[str, str] = {}
                fault = next((f for f in outer.faults if f.times > 0), None)
                if fault is not None:
                    fault.times -= 1
                    status, body, headers = fault.status, fault.body, fault.headers
                else:
                    status, body = outer.route(u.path, q)
                    if outer.drift is not None and status == 200:
                        body = outer.drift(u.path, body)
                send_json(self, status, headers, body)

            def log_message(self, *args: object) -> None:
                return None

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
