"""A local HTTP server on 127.0.0.1 that speaks Binance USD-M and Hyperliquid info endpoints.

It serves REAL history from the shipped datasets in the venues' documented response shapes:

- ``GET /fapi/v1/fundingRate``  -> ``[{symbol, fundingTime, fundingRate, markPrice}]`` (limit <= 1000)
- ``GET /fapi/v1/klines`` / ``/fapi/v1/markPriceKlines`` -> arrays ``[openTime, o, h, l, c, v, closeTime, ...]``
  (limit <= 1500)
- ``POST /info`` ``fundingHistory`` -> ``[{coin, fundingRate, premium, time}]`` (<= 500 rows),
  ``candleSnapshot`` -> ``[{t, T, s, i, o, c, h, l, v, n}]`` (<= ``hl_candle_page`` rows),
  ``metaAndAssetCtxs`` -> ``[{universe, marginTables, collateralToken}, [ctx, ...]]``.

Times carry a few ms of jitter like the real APIs. Faults are injected with :meth:`VenueServer.inject`
(status, headers, body for the next N matching requests) and rows are corrupted with ``corrupt``
(a function ``(path_or_type, rows) -> rows`` applied to each page before it is serialised).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

from basisctl.data import locator
from tests.localhttp import start_in_thread

BINANCE_FUNDING_MAX = 1000
BINANCE_KLINES_MAX = 1500
HL_FUNDING_MAX = 500
_INTERVAL_MS = {"1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}


def dec(x: float) -> str:
    """Decimal string the way the venues print them (shortest round-trip, no exponent)."""
    return np.format_float_positional(float(x), trim="-")


def jitter(ts_ms: np.ndarray) -> np.ndarray:
    """Deterministic 0..9 ms jitter per row (the real APIs stamp settlements a few ms late)."""
    return ts_ms + (ts_ms // 3_600_000) % 10


@dataclass
class Fault:
    status: int
    headers: dict[str, str]
    body: str
    times: int
    match: str | None


@dataclass
class VenueServer:
    host: str = "127.0.0.1"
    port: int = 0
    hl_candle_page: int = 5000
    log: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    corrupt: Callable[[str, list[Any]], list[Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: str = "",
        match: str | None = None,
    ) -> None:
        self.faults.append(Fault(status, headers or {}, body, times, match))

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.faults.clear()
            self.corrupt = None
            self.hl_candle_page = 5000

    def _take_fault(self, key: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and (f.match is None or f.match == key):
                    f.times -= 1
                    return f
        return None

    # ------------------------------------------------------------------ data
    @staticmethod
    def _asset(symbol: str) -> str:
        return symbol[:-4] if symbol.endswith("USDT") else symbol

    def binance_funding(self, q: dict[str, str]) -> tuple[int, Any]:
        symbol = q.get("symbol", "")
        asset = self._asset(symbol)
        if not locator.has_funding("binance", asset):
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        f = locator.load_funding("binance", asset)
        ts = jitter(f["ts"].astype("int64").to_numpy())
        limit = min(int(q.get("limit", 100)), BINANCE_FUNDING_MAX)
        lo, hi = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        sel = np.flatnonzero((ts >= lo) & (ts <= hi))[:limit]
        rows = [
            {"symbol": symbol, "fundingTime": int(ts[i]), "fundingRate": dec(f["rate"].iat[i]), "markPrice": ""}
            for i in sel
        ]
        return 200, rows

    def binance_klines(self, q: dict[str, str], mark: bool) -> tuple[int, Any]:
        symbol, interval = q.get("symbol", ""), q.get("interval", "")
        asset = self._asset(symbol)
        if interval not in _INTERVAL_MS or not locator.has_candles("binance_perp", asset, interval):
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        c = locator.load_candles("binance_perp", asset, interval)
        t = c["ts"].astype("int64").to_numpy()
        limit = min(int(q.get("limit", 500)), BINANCE_KLINES_MAX)
        lo, hi = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        sel = np.flatnonzero((t >= lo) & (t <= hi))[:limit]
        step = _INTERVAL_MS[interval]
        rows = []
        for i in sel:
            o, h, lo_, cl = (dec(c[k].iat[i]) for k in ("open", "high", "low", "close"))
            vol = "0" if mark else dec(c["volume"].iat[i])
            rows.append([int(t[i]), o, h, lo_, cl, vol, int(t[i]) + step - 1, "0", 0 if mark else 100, "0", "0", "0"])
        return 200, rows

    def hl_info(self, body: dict[str, Any]) -> tuple[int, Any]:
        kind = body.get("type")
        if kind == "fundingHistory":
            coin = body.get("coin", "")
            if not locator.has_funding("hyperliquid", coin):
                return 500, "null"  # the real API answers unknown coins with a 500 and a null body
            f = locator.load_funding("hyperliquid", coin)
            ts = jitter(f["ts"].astype("int64").to_numpy())
            lo, hi = int(body.get("startTime", 0)), int(body.get("endTime") or 2**62)
            sel = np.flatnonzero((ts >= lo) & (ts <= hi))[:HL_FUNDING_MAX]
            rows = []
            for i in sel:
                row = {"coin": coin, "fundingRate": dec(f["rate"].iat[i]), "time": int(ts[i])}
                if not pd.isna(f["premium"].iat[i]):  # some archived sources lack the premium
                    row["premium"] = dec(f["premium"].iat[i])
                rows.append(row)
            return 200, rows
        if kind == "candleSnapshot":
            req = body.get("req", {})
            coin, interval = req.get("coin", ""), req.get("interval", "")
            if interval not in _INTERVAL_MS or not locator.has_candles("hyperliquid_perp", coin, interval):
                return 500, "null"
            c = locator.load_candles("hyperliquid_perp", coin, interval)
            t = c["ts"].astype("int64").to_numpy()
            lo, hi = int(req.get("startTime", 0)), int(req.get("endTime") or 2**62)
            sel = np.flatnonzero((t >= lo) & (t <= hi))[: self.hl_candle_page]
            step = _INTERVAL_MS[interval]
            return 200, [
                {
                    "t": int(t[i]),
                    "T": int(t[i]) + step - 1,
                    "s": coin,
                    "i": interval,
                    "o": dec(c["open"].iat[i]),
                    "c": dec(c["close"].iat[i]),
                    "h": dec(c["high"].iat[i]),
                    "l": dec(c["low"].iat[i]),
                    "v": dec(c["volume"].iat[i]),
                    "n": 1000,
                }
                for i in sel
            ]
        if kind == "metaAndAssetCtxs":
            uni = locator.hyperliquid_universe()
            mt = locator.hyperliquid_margin_tables()
            universe = []
            for r in uni.itertuples():
                u = {
                    "szDecimals": int(r.szDecimals),
                    "name": r.name,
                    "maxLeverage": int(r.maxLeverage),
                    "marginTableId": int(r.marginTableId),
                }
                if r.isDelisted is not None and not pd.isna(r.isDelisted):
                    u["isDelisted"] = bool(r.isDelisted)
                universe.append(u)
            tables = []
            for tid, g in mt.groupby("margin_table_id"):
                desc = g["description"].iat[0]
                tiers = [
                    {"lowerBound": f"{float(x.lower_bound_usd):.1f}", "maxLeverage": int(x.max_leverage)}
                    for x in g.sort_values("tier").itertuples()
                ]
                tables.append([int(tid), {"description": "" if pd.isna(desc) else desc, "marginTiers": tiers}])
            ctxs = [
                {
                    "funding": "0.0000125",
                    "openInterest": str(1000 + i),
                    "prevDayPx": "1.0",
                    "dayNtlVlm": "0.0",
                    "premium": "0.0",
                    "oraclePx": str(10.0 + i),
                    "markPx": str(10.0 + i),
                    "midPx": str(10.0 + i),
                    "impactPxs": [str(10.0 + i), str(10.1 + i)],
                    "dayBaseVlm": "0.0",
                }
                for i in range(len(universe))
            ]
            return 200, [{"universe": universe, "marginTables": tables, "collateralToken": 0}, ctxs]
        return 422, "Failed to deserialize the JSON body into the target type"

    # ------------------------------------------------------------------ serving
    def start(self) -> VenueServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                raw = data.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _serve(self, key: str, produce: Callable[[], tuple[int, Any]], params: dict[str, Any]) -> None:
                with outer._lock:
                    outer.log.append((self.command, key, params))
                fault = outer._take_fault(key)
                if fault is not None:
                    self._send(fault.status, fault.body, fault.headers)
                    return
                status, payload = produce()
                if status == 200 and outer.corrupt is not None and isinstance(payload, list):
                    payload = outer.corrupt(key, payload)
                self._send(status, payload)

            def do_GET(self) -> None:
                u = urlparse(self.path)
                q = {k: v[-1] for k, v in parse_qs(u.query).items()}
                if u.path == "/fapi/v1/fundingRate":
                    self._serve(u.path, lambda: outer.binance_funding(q), q)
                elif u.path in ("/fapi/v1/klines", "/fapi/v1/markPriceKlines"):
                    self._serve(u.path, lambda: outer.binance_klines(q, u.path.endswith("markPriceKlines")), q)
                else:
                    self._send(404, {"code": -1, "msg": "not found"})

            def do_POST(self) -> None:
                u = urlparse(self.path)
                n = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except json.JSONDecodeError:
                    self._send(422, "bad json")
                    return
                if u.path != "/info" or not isinstance(body, dict):
                    self._send(404, "not found")
                    return
                self._serve(str(body.get("type")), lambda: outer.hl_info(body), body)

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._stop = start_in_thread(self._httpd)
        return self

    def stop(self) -> None:
        self._stop()
