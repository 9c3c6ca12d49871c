"""A local HTTP server on 127.0.0.1 speaking Hyperliquid's documented /info and /exchange shapes, backed by
the simulated venue (its state in SQLite), with fault injection. It lets the real adapter run in tests and
in the chaos suite without the internet.

/info types: meta, spotMeta, metaAndAssetCtxs, clearinghouseState, spotClearinghouseState, openOrders,
orderStatus (by cloid), userFills, userFillsByTime, l2Book, allMids, fundingHistory, userFunding,
userNonFundingLedgerUpdates (accountClassTransfer deltas carry an extra 'nonce' field), and the local-only
'basisctlTime' (the simulated clock). /exchange actions: order (IOC limit with cloid), cancelByCloid,
usdClassTransfer, scheduleCancel, updateLeverage (isCross true/false) and updateIsolatedMargin (ntli in micro-USD).
Isolated margin: the perp account is split into the position's isolated cash (``leverage.rawUsd``; its fills and
funding accrue there) and the cross remainder; updateIsolatedMargin moves USDC between them (removal only down to
the initial margin notional / leverage), a class transfer moves the cross remainder, a flat position releases its
margin to cross. Unlike the venue, switching the mode with an open position is allowed (the isolated cash is then
set to the initial margin); opening a position does not move initial margin out of cross. Signatures are
verified (recovered signer must be the account) when the official SDK is installed. GET /debug/stats returns the
venue's audit counters.

Faults (``FaultPlan``), drawn per request or scripted in order: '5xx' (502, not processed), '429' (not
processed), 'timeout' (the response is delayed past the client's timeout; the request IS processed),
'disconnect' (processed, then the connection is dropped without an answer), 'reject' (an order is refused).
Partial fills and random rejects come from the simulated venue's own settings.
Read faults (``/info`` only): 'read_4xx' (422, a refused read), 'missing_field' (the spot token's balance or
the perp position is left out of spotClearinghouseState / clearinghouseState, as in a glitched read), and
``down_first`` (the first N requests get 503: the venue down at start-up). The ``Date`` header of every
response carries the venue's clock (the simulated one), which the adapter uses to measure clock skew.
External fills (liquidation / ADL / manual, no cloid) are served with Hyperliquid's ``liquidation`` object or
``dir = "Auto-Deleveraging"``.
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from basisctl.venues.protocol import Market, OrderRequest, TransferRequest, VenueError

if TYPE_CHECKING:  # typing only: the server runs over the simulated venue it is handed
    from basisctl.live.sim_venue import SimVenue

#: FaultPlan.mangle value that deletes the field
DROP: Any = object()

SPOT_PAIR_INDEX = 142
SPOT_TOKEN_INDEX = 197
DAY_MS = 86_400_000


@dataclass
class FaultPlan:
    """Fault probabilities per request (exchange and info alike) and an optional scripted queue."""

    error_5xx: float = 0.0
    rate_limited: float = 0.0
    timeout: float = 0.0
    disconnect: float = 0.0
    reject: float = 0.0
    timeout_s: float = 2.0
    seed: int = 0
    exchange_only: bool = False
    #: scripted faults for the next /exchange requests, in order: 'ok', '5xx', '429', 'timeout', 'disconnect',
    #: 'reject', 'garbage' (processed, answered 200 with a non-JSON body), 'mangled_status' (processed, the order
    #: status garbled: totalSz "abc"), 'overfill' (processed, the answer reports 10x the filled size)
    script: deque[str] = field(default_factory=deque)
    stale_ms: int = 0  # report book times this much in the past (stale-data guard tests)
    read_4xx: float = 0.0  # probability that an /info read is refused with 422
    missing_field: float = 0.0  # probability that a balance/position read leaves our entry out
    down_first: int = 0  # the first N requests get 503 (venue down at start-up)
    #: mangled fields: '<info type>:<path>' -> value set there ('.'-separated keys / list indices; DROP deletes
    #: the field), e.g. {'l2Book:levels.0.0.px': 'abc', 'clearinghouseState:assetPositions.0.position.szi': '-11'}
    mangle: dict[str, Any] = field(default_factory=dict)
    mangle_reads: int = -1  # how many matching responses to mangle (-1: every one)
    mangle_after_exchange: int = 0  # mangle only once this many /exchange requests were served
    hide_fills: bool = False  # userFills / userFillsByTime answer [] (fills the venue has not published yet)
    duplicate_fills: bool = False  # every fill row is sent twice (ingestion must be idempotent by id)
    #: planted venue-truth disagreements (live/venue_truth.py tests): the served liquidationPx is the true one
    #: x (1 + liq_px_drift); each served userFunding usdc is the paid one x (1 + funding_skew)
    liq_px_drift: float = 0.0
    funding_skew: float = 0.0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._read_rng = random.Random(self.seed + 7919)
        self._lock = threading.Lock()
        self._served = 0

    def apply_mangle(self, info_type: str, out: Any, exchanges: int) -> tuple[Any, int]:
        """The response with this plan's mangled fields set (a deep copy); returns (response, fields mangled)."""
        if not self.mangle or exchanges < self.mangle_after_exchange or self.mangle_reads == 0:
            return out, 0
        todo = [(k.split(":", 1)[1], v) for k, v in self.mangle.items() if k.split(":", 1)[0] == info_type]
        if not todo:
            return out, 0
        out = copy.deepcopy(out)
        n = 0
        for path, value in todo:
            keys: list[Any] = [int(k) if k.lstrip("-").isdigit() else k for k in path.split(".")]
            node = out
            try:
                for k in keys[:-1]:
                    node = node[k]
                if value is DROP:
                    del node[keys[-1]]
                else:
                    node[keys[-1]] = value
                n += 1
            except (KeyError, IndexError, TypeError):
                continue  # the path is not in this response (e.g. an empty fill list)
        if n:
            with self._lock:
                if self.mangle_reads > 0:
                    self.mangle_reads -= 1
        return out, n

    def draw_read(self, info_type: str) -> str | None:
        """Read faults for one /info request: 'down', 'read_4xx', 'missing_field' or None."""
        with self._lock:
            self._served += 1
            if self._served <= self.down_first:
                return "down"
            u = self._read_rng.random()
            if u < self.read_4xx and info_type not in ("meta", "spotMeta", "basisctlTime"):
                return "read_4xx"
            if info_type in ("spotClearinghouseState", "clearinghouseState") and self._read_rng.random() < (
                self.missing_field
            ):
                return "missing_field"
        return None

    def draw(self, is_exchange: bool) -> str | None:
        with self._lock:
            if self.script and is_exchange:
                f = self.script.popleft()
                return None if f == "ok" else f
            if self.exchange_only and not is_exchange:
                return None
            u = self._rng.random()
        for name, p in (
            ("5xx", self.error_5xx),
            ("429", self.rate_limited),
            ("timeout", self.timeout),
            ("disconnect", self.disconnect),
            ("reject", self.reject),
        ):
            if u < p:
                return name
            u -= p
        return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # clients that time out / are killed reset connections: expected here


#: spotMeta token fields of the real API (recorded spotMetaAndAssetCtxs, ../shared/fixtures/hyperliquid)
_TOKEN_EXTRA: dict[str, Any] = {"tokenId": "0x" + "0" * 32, "isCanonical": False, "evmContract": None,
                                "fullName": None, "deployerTradingFeeShare": "0.0"}


def _s(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".") or "0"


def _rate(x: float) -> str:
    """A funding rate with 12 decimals (8 would round a 1e-5 rate by up to 4e-4 of itself)."""
    v = f"{x:.12f}".rstrip("0").rstrip(".")
    return "0" if v in ("", "-", "-0") else v


class HLServer:
    """Threaded HTTP server on 127.0.0.1 (port 0 = any free port). ``start()`` / ``stop()``."""

    def __init__(
        self,
        venue: SimVenue,
        account: str,
        faults: FaultPlan | None = None,
        port: int = 0,
        verify_signatures: bool = True,
    ):
        self.venue = venue
        self.account = account.lower()
        self.faults = faults or FaultPlan()
        self.verify = verify_signatures
        self.requests: list[dict[str, Any]] = []
        self.faults_injected: dict[str, int] = {}
        self.dead_man_at_ms: int | None = None
        self.margin_mode = "cross"  # 'cross' | 'isolated' (updateLeverage)
        self.leverage = int(venue.config.max_leverage)  # the leverage setting [x]
        self.cross_usd = 0.0  # isolated mode: the perp USDC outside the position's isolated margin [USDC]
        self._margin_lock = threading.RLock()  # the margin split is read and moved from request threads
        self._httpd = _QuietServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HLServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------ handlers
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers + body leave in one write (no Nagle / delayed-ACK stall)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return None

            def date_time_string(self, timestamp: float | None = None) -> str:
                """The Date header on the venue's clock (the simulated one)."""
                return email.utils.formatdate(server.venue.now_ms() / 1000.0, usegmt=True)

            def _send(self, code: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path == "/debug/stats":
                    self._send(200, {**server.venue.stats(), "faults": server.faults_injected})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": "invalid JSON"})
                    return
                is_ex = self.path == "/exchange"
                rfault = None if is_ex else server.faults.draw_read(str(body.get("type")))
                if rfault:
                    server.faults_injected[rfault] = server.faults_injected.get(rfault, 0) + 1
                if rfault == "down":
                    self._send(503, {"error": "injected: venue down"})
                    return
                if rfault == "read_4xx":
                    self._send(422, {"error": "injected: read refused"})
                    return
                fault = server.faults.draw(is_ex)
                if fault:
                    server.faults_injected[fault] = server.faults_injected.get(fault, 0) + 1
                if fault == "5xx":
                    self._send(502, {"error": "injected 502"})
                    return
                if fault == "429":
                    self._send(429, {"error": "injected rate limit"})
                    return
                try:
                    if self.path == "/info":
                        code, out = 200, server.info(body)
                        if rfault == "missing_field":
                            out = server.drop_own_entry(body["type"], out)
                        if server.faults.hide_fills and body["type"] in ("userFills", "userFillsByTime"):
                            out = []
                        if server.faults.duplicate_fills and body["type"] in ("userFills", "userFillsByTime"):
                            out = [f for f in out for _ in range(2)]
                        out, mangled = server.faults.apply_mangle(str(body["type"]), out, len(server.requests))
                        if mangled:
                            server.faults_injected["mangle"] = server.faults_injected.get("mangle", 0) + 1
                    elif is_ex:
                        code, out = 200, server.exchange(body, reject=fault == "reject")
                    else:
                        code, out = 404, {"error": "not found"}
                except (KeyError, ValueError, TypeError) as e:
                    code, out = 422, {"error": f"bad request: {e}"}
                if fault == "garbage":  # processed, then a 200 that is not JSON (a proxy's error page)
                    raw = b"<html><body>502 Bad Gateway</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                if fault == "mangled_status" and is_ex and isinstance(out, dict):  # processed; statuses garbled
                    with contextlib.suppress(KeyError, IndexError, TypeError):
                        out["response"]["data"]["statuses"][0] = {"filled": {"totalSz": "abc", "avgPx": None}}
                if fault == "overfill" and is_ex and isinstance(out, dict):  # processed; reports 10x the fill
                    with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                        f = out["response"]["data"]["statuses"][0]["filled"]
                        f["totalSz"] = str(10.0 * float(f["totalSz"]))
                if fault == "timeout":
                    time.sleep(server.faults.timeout_s)
                if fault == "disconnect":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(code, out)

        return Handler

    # ------------------------------------------------------------------ /info
    def _coin(self, market: str) -> str:
        return self.venue.config.asset if market == "perp" else f"@{SPOT_PAIR_INDEX}"

    def drop_own_entry(self, info_type: str, out: Any) -> Any:
        """A glitched read: our spot token's balance / our perp position is left out of the answer."""
        out = dict(out)
        if info_type == "spotClearinghouseState":
            out["balances"] = [b for b in out["balances"] if b["coin"] == "USDC"]
        elif info_type == "clearinghouseState":
            out["assetPositions"] = []
        return out

    def _fill_json(self, f: Any) -> dict[str, Any]:
        if not f.cloid:  # an external fill: liquidation / ADL / manual trade, no client order id
            d: dict[str, Any] = {
                "coin": self._coin(f.market), "px": _s(f.px), "sz": _s(f.size), "side": "B" if f.side == "buy" else "A",
                "time": f.ts_ms, "fee": "0", "feeToken": "USDC", "tid": int(f.fill_id), "oid": 0, "crossed": True,
                "hash": "0x" + "0" * 64, "closedPnl": "0", "startPosition": "0",
                "dir": "Auto-Deleveraging" if f.external == "adl" else "Close Short",
            }
            if f.external == "liquidation":
                d["liquidation"] = {"liquidatedUser": self.account, "markPx": _s(f.px), "method": "market"}
            return d
        return {
            "coin": self._coin(f.market),
            "px": _s(f.px),
            "sz": _s(f.size),
            "side": "B" if f.side == "buy" else "A",
            "time": f.ts_ms,
            "fee": _s(f.fee_usd),
            "feeToken": "USDC",
            "tid": int(f.fill_id),
            "oid": cast("dict[str, Any]", self.venue.order_detail(f.cloid))["oid"],
            "cloid": f.cloid,
            "crossed": True,
            "hash": "0x" + "0" * 64,
            "closedPnl": "0",
            "dir": "",
            "startPosition": "0",
        }

    def info(self, body: dict[str, Any]) -> Any:
        t = body["type"]
        v = self.venue
        asset = v.config.asset
        if t == "basisctlTime":
            return {"time": v.now_ms()}
        if t == "meta":
            return {
                "universe": [
                    {"name": asset, "szDecimals": v.config.sz_decimals, "maxLeverage": int(v.config.max_leverage)}
                ]
            }
        if t == "spotMeta":
            return {
                "tokens": [
                    {"name": "USDC", "index": 0, "szDecimals": 8, "weiDecimals": 8, **_TOKEN_EXTRA},
                    {
                        "name": f"U{asset}",
                        "index": SPOT_TOKEN_INDEX,
                        "szDecimals": v.config.sz_decimals,
                        "weiDecimals": 10,
                        **_TOKEN_EXTRA,
                    },
                ],
                "universe": [
                    {"name": f"@{SPOT_PAIR_INDEX}", "tokens": [SPOT_TOKEN_INDEX, 0], "index": SPOT_PAIR_INDEX,
                     "isCanonical": False}
                ],
            }
        user_types = (
            "activeAssetData",
            "clearinghouseState",
            "spotClearinghouseState",
            "openOrders",
            "orderStatus",
            "userFills",
            "userFillsByTime",
            "userFunding",
            "userNonFundingLedgerUpdates",
        )
        if t in user_types and str(body.get("user", "")).lower() != self.account:
            if t == "orderStatus":
                return {"status": "unknownOid"}
            return self._empty_state(t) if t in ("clearinghouseState", "spotClearinghouseState") else []
        st = v.state() if t in ("metaAndAssetCtxs", "clearinghouseState", "spotClearinghouseState", "allMids") else None
        if t == "metaAndAssetCtxs":
            assert st is not None  # fetched above for exactly these types
            return [
                self.info({"type": "meta"}),
                [
                    {
                        "funding": _s(st.funding_rate),
                        "openInterest": "1000",
                        "prevDayPx": _s(st.mark_px),
                        "dayNtlVlm": "0",
                        "premium": "0",
                        "oraclePx": _s(st.oracle_px),
                        "markPx": _s(st.mark_px),
                        "midPx": _s(st.mark_px),
                        "impactPxs": [_s(st.mark_px), _s(st.mark_px)],
                    }
                ],
            ]
        if t == "clearinghouseState":
            assert st is not None
            ntl = abs(st.perp_size) * st.mark_px
            with self._margin_lock:
                lev_obj, margin_used, liq = self._margin_view(st)
            pos = (
                []
                if st.perp_size == 0
                else [
                    {
                        "type": "oneWay",
                        "position": {
                            "coin": asset,
                            "szi": _s(st.perp_size),
                            "positionValue": _s(ntl),
                            "entryPx": _s(st.mark_px),
                            "unrealizedPnl": "0",
                            "leverage": lev_obj,
                            "marginUsed": _s(margin_used),
                            "maxLeverage": int(v.config.max_leverage),
                            "returnOnEquity": "0",
                            "maxTradeSzs": ["0", "0"],
                            "liquidationPx": None if liq is None else _s(liq * (1.0 + self.faults.liq_px_drift)),
                        },
                    }
                ]
            )
            av = st.perp_account_value
            summ = {
                "accountValue": _s(av),
                "totalNtlPos": _s(ntl),
                "totalRawUsd": _s(st.perp_cash),
                "totalMarginUsed": _s(ntl / v.config.max_leverage),
            }
            return {
                "assetPositions": pos,
                "marginSummary": summ,
                "crossMarginSummary": summ,
                "crossMaintenanceMarginUsed": _s(ntl / (2 * v.config.max_leverage)),
                "withdrawable": _s(max(av - ntl / v.config.max_leverage, 0.0)),
                "time": st.ts_ms,
            }
        if t == "spotClearinghouseState":
            assert st is not None
            return {
                "balances": [
                    {"coin": "USDC", "token": 0, "hold": "0", "total": _s(st.spot_usdc), "entryNtl": "0"},
                    {
                        "coin": f"U{asset}",
                        "token": SPOT_TOKEN_INDEX,
                        "hold": "0",
                        "total": _s(st.spot_base),
                        "entryNtl": "0",
                    },
                ]
            }
        if t == "activeAssetData":
            st = v.state()
            with self._margin_lock:
                lev_obj, _, _ = self._margin_view(st)
            return {"user": self.account, "coin": body.get("coin", asset), "leverage": lev_obj,
                    "maxTradeSzs": ["0", "0"], "availableToTrade": ["0", "0"], "markPx": _s(st.mark_px)}
        if t == "openOrders":
            return []  # IOC orders never rest
        if t == "orderStatus":
            d = cast("dict[str, Any] | None", v.order_detail(str(body["oid"])))
            if d is None:
                return {"status": "unknownOid"}
            status = {"filled": "filled", "canceled": "canceled", "rejected": "rejected", "open": "open"}[d["state"]]
            left = d["size"] - d["filled"] if status != "filled" else 0.0
            return {
                "status": "order",
                "order": {
                    "order": {
                        "coin": self._coin(d["market"]),
                        "side": "B" if d["side"] == "buy" else "A",
                        "limitPx": _s(d["limit_px"]),
                        "sz": _s(left),
                        "origSz": _s(d["size"]),
                        "oid": d["oid"],
                        "timestamp": d["ts_ms"],
                        "cloid": d["cloid"],
                    },
                    "status": status,
                    "statusTimestamp": d["ts_ms"],
                },
            }
        if t == "userFills":
            return [self._fill_json(f) for f in reversed(v.fills(0))][:2000]
        if t == "userFillsByTime":
            return [self._fill_json(f) for f in v.fills(int(body.get("startTime", 0)))][:2000]
        if t == "l2Book":
            market: Market = "perp" if body["coin"] == asset else "spot"
            bids, asks = v.book(market, 20)
            ts = v.now_ms() - self.faults.stale_ms
            return {
                "coin": body["coin"],
                "time": ts,
                "levels": [
                    [{"px": _s(p), "sz": _s(s), "n": 1} for p, s in bids.levels],
                    [{"px": _s(p), "sz": _s(s), "n": 1} for p, s in asks.levels],
                ],
            }
        if t == "allMids":
            assert st is not None
            return {asset: _s(st.mark_px), f"@{SPOT_PAIR_INDEX}": _s(st.spot_mid)}
        if t == "candleSnapshot":  # the recorded bars that closed by venue time, at most 5000 (as the venue)
            req = body["req"]
            if req.get("interval") != "1h" or req.get("coin") != asset:
                return []
            c = v.candles(int(req.get("startTime", 0)), int(req.get("endTime", v.now_ms())) + 1).tail(5000)
            ms = c["ts"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
            return [
                {"t": int(t), "T": int(t) + 3_599_999, "s": asset, "i": "1h", "o": _s(o), "c": _s(cl), "h": _s(h),
                 "l": _s(lo), "v": "0", "n": 0}
                for t, o, h, lo, cl in zip(ms, c["open"], c["high"], c["low"], c["close"], strict=True)
            ]
        if t == "fundingHistory":
            start = int(body.get("startTime", 0))
            end = int(body.get("endTime", v.now_ms()))
            return [
                {"coin": asset, "fundingRate": _s(r), "premium": "0", "time": ts}
                for ts, r in v.replay.settlements(start - 1, end)
            ][:500]
        if t == "userFunding":
            return [
                {
                    "time": p.ts_ms,
                    "hash": "0x" + "0" * 64,
                    "delta": {
                        "type": "funding",
                        "coin": asset,
                        "usdc": _s(p.amount_usd * (1.0 + self.faults.funding_skew)),
                        "szi": _s(p.size),
                        "fundingRate": _rate(p.rate),
                        "nSamples": None,
                    },
                }
                for p in v.funding_payments(int(body.get("startTime", 0)))
            ][:500]
        if t == "userNonFundingLedgerUpdates":
            return [
                {
                    "time": x.ts_ms,
                    "hash": x.transfer_id,
                    "delta": {
                        "type": "accountClassTransfer",
                        "usdc": _s(x.amount_usd),
                        "toPerp": x.to_perp,
                        "nonce": x.nonce,
                    },
                }
                for x in v.transfers(int(body.get("startTime", 0)))
            ]
        raise ValueError(f"unsupported info type {t!r}")

    def _iso_raw(self, st: Any) -> float:
        """Isolated mode: the position's isolated cash [USDC] (perp cash minus the cross remainder); a flat
        position has none (its margin went back to cross)."""
        if st.perp_size == 0:
            self.cross_usd = st.perp_cash
            return 0.0
        return float(st.perp_cash - self.cross_usd)

    def _margin_view(self, st: Any) -> tuple[dict[str, Any], float, float | None]:
        """(leverage object, marginUsed [USDC], liquidationPx [USD] or None) of our position. Liquidation where
        the backing cash c (cross: the account's perp cash; isolated: rawUsd) + s P = |s| P theta, theta =
        1/(2 maxLeverage): P = -c / (s - |s| theta)."""
        s, mark = st.perp_size, st.mark_px
        theta = 1.0 / (2.0 * self.venue.config.max_leverage)
        if self.margin_mode == "isolated":
            raw = self._iso_raw(st)
            lev: dict[str, Any] = {"type": "isolated", "value": self.leverage, "rawUsd": _s(raw)}
            used, cash = raw + s * mark, raw
        else:
            lev = {"type": "cross", "value": self.leverage}
            used, cash = abs(s) * mark / self.leverage, st.perp_cash
        liq = None
        if s != 0:
            px = -cash / (s - abs(s) * theta)
            liq = px if px > 0 else None
        return lev, used, liq

    def _update_leverage(self, a: dict[str, Any]) -> dict[str, Any]:
        lev = int(a["leverage"])
        if int(a["asset"]) != 0:
            return {"status": "err", "response": f"unknown asset {a['asset']}"}
        if not 1 <= lev <= self.venue.config.max_leverage:
            return {"status": "err", "response": f"Invalid leverage value {lev}"}
        st = self.venue.state()
        iso = not bool(a["isCross"])
        if iso and self.margin_mode != "isolated":
            im = abs(st.perp_size) * st.mark_px / lev  # the position's initial margin moves into isolation
            raw = im - st.perp_size * st.mark_px if st.perp_size != 0 else 0.0
            if st.perp_size != 0 and raw > st.perp_cash + 1e-9:
                return {"status": "err", "response": "Insufficient margin to switch to isolated"}
            self.cross_usd = st.perp_cash - raw
        self.margin_mode = "isolated" if iso else "cross"
        self.leverage = lev
        return {"status": "ok", "response": {"type": "default"}}

    def _update_isolated_margin(self, a: dict[str, Any]) -> dict[str, Any]:
        amount = int(a["ntli"]) / 1e6
        if int(a["asset"]) != 0:
            return {"status": "err", "response": f"unknown asset {a['asset']}"}
        st = self.venue.state()
        if self.margin_mode != "isolated" or st.perp_size == 0:
            return {"status": "err", "response": "Cannot update margin: no isolated position"}
        raw = self._iso_raw(st)
        if amount > 0 and amount > self.cross_usd + 1e-9:
            return {"status": "err", "response": "Insufficient balance to add margin"}
        if amount < 0:
            equity_after = raw + amount + st.perp_size * st.mark_px
            if equity_after < abs(st.perp_size) * st.mark_px / self.leverage - 1e-9:
                return {"status": "err", "response": "Cannot remove margin below the initial margin"}
        self.cross_usd -= amount
        return {"status": "ok", "response": {"type": "default"}}

    def _empty_state(self, t: str) -> dict[str, Any]:
        if t == "spotClearinghouseState":
            return {"balances": []}
        z = {"accountValue": "0", "totalNtlPos": "0", "totalRawUsd": "0", "totalMarginUsed": "0"}
        return {"assetPositions": [], "marginSummary": z, "crossMarginSummary": z, "withdrawable": "0"}

    # ------------------------------------------------------------------ /exchange
    def _check_sig(self, body: dict[str, Any]) -> str | None:
        if not self.verify:
            return None
        try:
            from hyperliquid.utils import signing
        except ImportError:  # pragma: no cover - verification needs the 'live' extra
            return None
        action = dict(body["action"])
        try:
            if action["type"] == "usdClassTransfer":
                signer = signing.recover_user_from_user_signed_action(
                    action,
                    body["signature"],
                    signing.USD_CLASS_TRANSFER_SIGN_TYPES,
                    "HyperliquidTransaction:UsdClassTransfer",
                    False,
                )
            else:
                signer = signing.recover_agent_or_user_from_l1_action(
                    action,
                    body["signature"],
                    body.get("vaultAddress"),
                    int(body["nonce"]),
                    body.get("expiresAfter"),
                    False,
                )
        except Exception as e:  # malformed signature
            return f"invalid signature: {e}"
        if str(signer).lower() != self.account:
            return f"User or API Wallet {signer} does not exist."
        return None

    def exchange(self, body: dict[str, Any], reject: bool = False) -> dict[str, Any]:
        a = body["action"]
        bad = self._check_sig(body)
        self.requests.append({"type": a["type"], "nonce": body.get("nonce")})
        if bad:
            return {"status": "err", "response": bad}
        v = self.venue
        expires = body.get("expiresAfter") or (v.now_ms() + DAY_MS)
        if a["type"] == "order":
            statuses: list[dict[str, Any]] = []
            for o in a["orders"]:
                if reject:
                    statuses.append({"error": "Injected reject: order rejected by the venue."})
                    continue
                market: Market = "spot" if int(o["a"]) >= 10_000 else "perp"
                req = OrderRequest(
                    o["c"],
                    market,
                    "buy" if o["b"] else "sell",
                    float(o["s"]),
                    float(o["p"]),
                    int(expires),
                    bool(o.get("r", False)),
                )
                try:
                    st = v.place_order(req)
                except VenueError as e:
                    statuses.append({"error": str(e)})
                    continue
                oid = cast("dict[str, Any]", v.order_detail(o["c"]))["oid"]
                if st.filled_size <= 0:
                    statuses.append({"error": "Order could not immediately match against any resting orders."})
                else:
                    statuses.append({"filled": {"totalSz": _s(st.filled_size), "avgPx": _s(st.avg_px), "oid": oid}})
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if a["type"] == "cancelByCloid":
            return {
                "status": "ok",
                "response": {
                    "type": "cancel",
                    "data": {
                        "statuses": [
                            {"error": "Order was never placed, already canceled, or filled."} for _ in a["cancels"]
                        ]
                    },
                },
            }
        if a["type"] in ("updateLeverage", "updateIsolatedMargin", "usdClassTransfer"):
            with self._margin_lock:
                return self._margin_action(a, reject, int(expires))
        if a["type"] == "scheduleCancel":
            self.dead_man_at_ms = a.get("time")
            v.schedule_cancel(a.get("time"))
            return {"status": "ok", "response": {"type": "default"}}
        return {"status": "err", "response": f"unsupported action {a['type']!r}"}

    def _margin_action(self, a: dict[str, Any], reject: bool, expires: int) -> dict[str, Any]:
        """updateLeverage / updateIsolatedMargin / usdClassTransfer (under the margin lock); ``expires`` [ms] the
        action's expiresAfter."""
        v = self.venue
        if a["type"] == "updateLeverage":
            return self._update_leverage(a)
        if a["type"] == "updateIsolatedMargin":
            return self._update_isolated_margin(a)
        if a["type"] == "usdClassTransfer":
            if reject:
                return {"status": "err", "response": "Injected reject"}
            iso = self.margin_mode == "isolated"
            if iso:
                self._iso_raw(v.state())  # a flat position's margin is back in cross first
            if iso and not a["toPerp"] and float(a["amount"]) > self.cross_usd + 1e-9:
                return {"status": "err", "response": "Insufficient cross balance (isolated margin is not "
                        "withdrawable: updateIsolatedMargin first)"}
            try:
                v.transfer(TransferRequest(int(a["nonce"]), float(a["amount"]), bool(a["toPerp"]), int(expires)))
            except VenueError as e:
                return {"status": "err", "response": str(e)}
            if iso:
                self.cross_usd += float(a["amount"]) * (1.0 if a["toPerp"] else -1.0)
            return {"status": "ok", "response": {"type": "default"}}
        raise ValueError(f"not a margin action: {a['type']!r}")
