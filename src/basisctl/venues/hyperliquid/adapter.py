"""Hyperliquid adapter: a thin httpx client over the documented /info and /exchange endpoints, signing with
the official SDK's signing module (``hyperliquid.utils.signing``, extra ``live``).

Why not the SDK's ``Exchange``/``Info`` classes: they use ``requests`` with no injectable transport, retry
nothing, hide timeouts and 429s, open websockets and fetch metadata in constructors. The controller needs
exact failure semantics - a read may be retried, a write NEVER is (its outcome is resolved by cloid/nonce) -
plus a rate-limit budget and tests over 127.0.0.1. The SDK's signing functions are reused unchanged, so the
signatures are byte-for-byte what the exchange verifies.

Units follow :mod:`basisctl.live.venue`. Spot asset id = 10000 + spot pair index; perp asset id = index in
the perp universe.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from basisctl.live.config import ControllerConfig
from basisctl.live.guards import VenueDataError
from basisctl.live.venue import (
    BookSide,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
    Transfer,
    TransferRequest,
    VenueError,
    VenueState,
    VenueUnavailable,
)
from basisctl.venues.hyperliquid.keys import Signer, load_signer

MAINNET_URL = "https://api.hyperliquid.xyz"

#: request weights (Hyperliquid docs, "Rate limits and user limits"): exchange 1 per action; info 2 for
#: l2Book/allMids/clearinghouseState/orderStatus/spotClearinghouseState, 20 for the rest.
INFO_WEIGHT_LIGHT = {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "basisctlTime"}



def fill_id(f: dict[str, Any]) -> str:
    """A fill's id: the venue's ``tid``; fills recorded before Hyperliquid added it (2023) have none, so the id is
    built from the fields that together name one fill (tx hash, order id, time, price, size). A fill with none
    of them is malformed: an error, never an id that could merge two fills or split one."""
    if f.get("tid") is not None:
        return str(f["tid"])
    parts = [f.get(k) for k in ("hash", "oid", "time", "px", "sz")]
    if any(p is None for p in parts):
        raise VenueError(f"malformed fill (no tid, and not all of hash/oid/time/px/sz): {str(f)[:160]}")
    return ":".join(str(p) for p in parts)

class RateBudget:
    """Token bucket over request weight [weight per minute]; ``take`` blocks up to ``max_wait_s``."""

    def __init__(self, weight_per_min: float, max_wait_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.rate = weight_per_min / 60.0
        self.cap = weight_per_min
        self.tokens = weight_per_min
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.t = clock()
        self.lock = threading.Lock()
        self.waited_s = 0.0

    def take(self, weight: float) -> None:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.cap, self.tokens + (now - self.t) * self.rate)
            self.t = now
            if self.tokens < weight:
                wait = (weight - self.tokens) / self.rate
                if wait > self.max_wait_s:
                    raise VenueUnavailable(f"rate-limit budget exhausted (would wait {wait:.1f}s)")
                time.sleep(wait)
                self.waited_s += wait
                self.tokens = weight
                self.t = self.clock()
            self.tokens -= weight


def round_px(px: float, sz_decimals: int, spot: bool) -> float:
    """Hyperliquid price rule: at most 5 significant figures and at most (6 or 8 for spot) - szDecimals
    decimals; integers always allowed."""
    if px <= 0 or not math.isfinite(px):
        raise VenueError(f"invalid price {px}")
    if px >= 1e5 and float(int(px)) == px:
        return px
    sig = float(f"{px:.5g}")
    return round(sig, (8 if spot else 6) - sz_decimals)


def fill_cause(f: dict[str, Any]) -> str:
    """Why a fill happened without an order of ours: 'liquidation' when the fill carries Hyperliquid's
    ``liquidation`` object ({liquidatedUser, markPx, method: 'market' | 'backstop'}), 'adl' for
    dir = 'Auto-Deleveraging'; '' for an ordinary fill (docs/operations.md, "External position changes")."""
    if f.get("liquidation"):
        return "liquidation"
    if "auto-deleveraging" in str(f.get("dir", "")).lower():
        return "adl"
    return ""


def _num(x: Any) -> float:
    """A venue number (string or number); anything else (None, '', non-finite) is malformed."""
    if isinstance(x, bool) or x is None:
        raise TypeError(f"expected a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"non-finite number {x!r}")
    return v


def wire(x: float) -> str:
    """Decimal string without trailing zeros (the form Hyperliquid hashes)."""
    s = f"{x:.8f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


class HyperliquidVenue:
    """The :class:`~basisctl.live.venue.Venue` protocol on Hyperliquid (or a server speaking its API)."""

    def __init__(
        self,
        base_url: str,
        account: str,
        signer: Signer,
        perp_coin: str,
        spot_coin: str,
        timeout_s: float = 5.0,
        weight_per_min: float = 1200.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        clock: str = "local",
        nonce_source: Callable[[], int] | None = None,
        local_clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.account = account
        self._signer = signer
        self.is_mainnet = self.base_url == MAINNET_URL
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)
        self.budget = RateBudget(weight_per_min)
        self.max_retries = max_retries
        self.clock = clock
        self._nonce_lock = threading.Lock()
        self._last_nonce = 0
        self.nonce_source = nonce_source
        self.counters = {"retries": 0, "http_5xx": 0, "http_429": 0, "timeouts": 0}
        self.local_clock = local_clock  # [s since epoch]; injectable to test clock skew
        self._offset_ms: float | None = None  # venue clock - local clock, from the HTTP Date header [ms]
        self._rng = random.Random()
        self.perp_coin = perp_coin
        self._load_meta(perp_coin, spot_coin)

    @classmethod
    def from_config(
        cls, cfg: ControllerConfig, transport: httpx.BaseTransport | None = None, max_retries: int = 3
    ) -> HyperliquidVenue:
        v = cfg.venue
        signer = load_signer(v.secret_env, cfg.resolve(v.keystore) if v.keystore else None, v.keystore_password_env)
        account = cfg.account or signer.address
        local = v.base_url.startswith(("http://127.", "http://localhost"))
        return cls(
            v.base_url,
            account,
            signer,
            v.asset,
            v.spot_coin,
            v.http_timeout_secs,
            v.rate_limit_weight_per_min,
            max_retries,
            transport,
            clock="server" if local else "local",
        )

    def __repr__(self) -> str:
        return f"HyperliquidVenue({self.base_url}, account={self.account})"

    # ------------------------------------------------------------------ transport
    def _post(self, path: str, body: dict[str, Any], weight: float, retry: bool) -> Any:
        attempts = self.max_retries + 1 if retry else 1
        last: Exception | None = None
        for k in range(attempts):
            self.budget.take(weight)
            t_sent = self.local_clock()
            try:
                r = self.http.post(path, json=body)
            except httpx.TimeoutException as e:
                self.counters["timeouts"] += 1
                last = e
            except httpx.TransportError as e:
                last = e
            else:
                self._note_date(r, t_sent)
                if r.status_code == 429:
                    self.counters["http_429"] += 1
                    self.budget.tokens = 0.0  # back off: the venue says we are over budget
                    last = VenueUnavailable("HTTP 429 rate limited")
                elif r.status_code >= 500:
                    self.counters["http_5xx"] += 1
                    last = VenueUnavailable(f"HTTP {r.status_code}")
                elif r.status_code >= 400:
                    raise VenueError(f"HTTP {r.status_code}: {r.text[:200]}")
                else:
                    return r.json()
            if k + 1 < attempts:
                self.counters["retries"] += 1
                time.sleep(min(0.1 * 2**k, 2.0) * self._rng.uniform(0.5, 1.0))  # jittered exponential
        raise VenueUnavailable(f"{path} {body.get('type') or body.get('action', {}).get('type')}: {last}")

    def _note_date(self, r: httpx.Response, t_sent: float) -> None:
        """Venue clock offset from the response's ``Date`` header (1 s resolution; taken at the middle of the
        round trip, +0.5 s for the truncated fraction) [ms]."""
        d = r.headers.get("date")
        if not d:
            return
        try:
            venue_s = parsedate_to_datetime(d).timestamp() + 0.5
        except (TypeError, ValueError):
            return
        local_s = 0.5 * (t_sent + self.local_clock())
        self._offset_ms = (venue_s - local_s) * 1000.0

    def clock_offset_ms(self) -> float | None:
        """Venue clock minus local clock [ms] (None before the first response or on a simulated clock)."""
        return None if self.clock == "server" else self._offset_ms

    def info(self, body: dict[str, Any]) -> Any:
        """A read (retried on timeouts, disconnects, 5xx and 429)."""
        w = 2 if body.get("type") in INFO_WEIGHT_LIGHT else 20
        return self._post("/info", body, w, retry=True)

    def _nonce(self) -> int:
        if self.nonce_source is not None:
            return int(self.nonce_source())
        with self._nonce_lock:
            self._last_nonce = max(int(time.time() * 1000), self._last_nonce + 1)
            return self._last_nonce

    def _exchange(
        self, action: dict[str, Any], nonce: int, expires_at_ms: int | None, user_signed: bool = False
    ) -> Any:
        """A write: signed, sent once, never retried (outcome unknown -> VenueUnavailable)."""
        from hyperliquid.utils import signing

        if user_signed:
            sig = signing.sign_usd_class_transfer_action(self._signer.wallet, action, self.is_mainnet)
        else:
            sig = signing.sign_l1_action(self._signer.wallet, action, None, nonce, expires_at_ms, self.is_mainnet)
        body = {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": expires_at_ms}
        out = self._post("/exchange", body, 1, retry=False)
        if not isinstance(out, dict) or out.get("status") != "ok":
            raise VenueError(f"{action['type']} refused: {out.get('response') if isinstance(out, dict) else out}")
        return out

    # ------------------------------------------------------------------ metadata
    def _load_meta(self, perp_coin: str, spot_coin: str) -> None:
        meta = self.info({"type": "meta"})
        names = [u["name"] for u in meta["universe"]]
        if perp_coin not in names:
            raise VenueError(f"perp {perp_coin} not in the venue's universe")
        self.perp_asset = names.index(perp_coin)
        u = meta["universe"][self.perp_asset]
        self.perp_sz_decimals = int(u["szDecimals"])
        self.max_leverage = float(u["maxLeverage"])
        smeta = self.info({"type": "spotMeta"})
        tokens = {t["index"]: t for t in smeta["tokens"]}
        self.spot_coin = self.spot_token = ""
        for p in smeta["universe"]:
            base, quote = (tokens[i]["name"] for i in p["tokens"])
            if spot_coin in (p["name"], f"{base}/{quote}"):
                self.spot_coin, self.spot_token = p["name"], base
                self.spot_asset = 10_000 + int(p["index"])
                self.spot_sz_decimals = int(tokens[p["tokens"][0]]["szDecimals"])
        if not self.spot_coin:
            raise VenueError(f"spot pair {spot_coin} not in the venue's spot universe")

    # ------------------------------------------------------------------ protocol: reads
    def now_ms(self) -> int:
        """Venue time [ms]: the local clock corrected by the measured offset (order expiry and staleness are
        computed on it, so a skewed local clock neither fakes stale data nor sends pre-expired orders)."""
        if self.clock == "server":
            return int(self.info({"type": "basisctlTime"})["time"])
        return int(self.local_clock() * 1000 + (self._offset_ms or 0.0))

    def state(self) -> VenueState:
        """One observation. A missing or malformed field is UNKNOWN, never zero: a malformed response raises
        VenueDataError; a balance or position absent from a well-formed list is NaN, and the controller takes
        it as zero only when its journal says it holds none (``guards.resolve_unknowns``)."""
        ch = self.info({"type": "clearinghouseState", "user": self.account})
        sp = self.info({"type": "spotClearinghouseState", "user": self.account})
        mctx = self.info({"type": "metaAndAssetCtxs"})
        book = self.info({"type": "l2Book", "coin": self.spot_coin})
        try:
            ctx = mctx[1][self.perp_asset]
            mark, oracle = _num(ctx["markPx"]), _num(ctx["oraclePx"])
            szi, pos_value = math.nan, math.nan
            positions = ch["assetPositions"]
            if not isinstance(positions, list):
                raise TypeError("assetPositions is not a list")
            for ap in positions:
                if ap["position"]["coin"] == self.perp_coin:
                    szi = _num(ap["position"]["szi"])
                    pos_value = _num(ap["position"]["positionValue"])  # |szi| x mark, same snapshot as accountValue
            av = _num(ch["marginSummary"]["accountValue"])
            balances = sp["balances"]
            if not isinstance(balances, list):
                raise TypeError("balances is not a list")
            bal = {str(b["coin"]): _num(b["total"]) for b in balances}
            bids, asks = book["levels"]
            ts = int(book["time"])
            funding = _num(ctx.get("funding", 0.0))
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise VenueDataError(f"malformed venue state ({type(e).__name__}: {e})") from None
        if not bids or not asks:
            raise VenueUnavailable(f"empty spot book for {self.spot_coin}")
        spot_mid = 0.5 * (float(bids[0]["px"]) + float(asks[0]["px"]))
        # no position entry: perp_size unknown (NaN), flat if the journal agrees - then account value = cash
        perp_cash = av - math.copysign(pos_value, szi) if math.isfinite(szi) else av
        return VenueState(
            ts_ms=ts,
            spot_mid=spot_mid,
            mark_px=mark,
            oracle_px=oracle,
            spot_base=bal.get(self.spot_token, math.nan),
            spot_usdc=bal.get("USDC", math.nan),
            perp_size=szi,
            perp_cash=perp_cash,
            max_leverage=self.max_leverage,
            funding_rate=funding,
        )

    def book(self, market: Market, depth: int = 20) -> tuple[BookSide, BookSide]:
        coin = self.spot_coin if market == "spot" else self.perp_coin
        b = self.info({"type": "l2Book", "coin": coin})
        bids, asks = b["levels"]
        return (
            BookSide([(float(x["px"]), float(x["sz"])) for x in bids[:depth]]),
            BookSide([(float(x["px"]), float(x["sz"])) for x in asks[:depth]]),
        )

    def _market_of(self, coin: str) -> Market | None:
        return "perp" if coin == self.perp_coin else "spot" if coin == self.spot_coin else None

    def order_status(self, cloid: str) -> OrderStatus | None:
        r = self.info({"type": "orderStatus", "user": self.account, "oid": cloid})
        if r.get("status") != "order":
            return None
        o, status = r["order"]["order"], r["order"]["status"]
        orig, left = float(o.get("origSz", o["sz"])), float(o["sz"])
        filled = orig - left if status != "filled" else orig
        avg = 0.0
        if filled > 0:
            fs = [
                f
                for f in self.info({"type": "userFills", "user": self.account})
                if f.get("cloid") == cloid or f.get("oid") == o.get("oid")
            ]
            tot = sum(float(f["sz"]) for f in fs)
            avg = sum(float(f["sz"]) * float(f["px"]) for f in fs) / tot if tot else 0.0
            filled = tot or filled
        state = {"open": OrderState.OPEN, "filled": OrderState.FILLED}.get(
            status, OrderState.REJECTED if "rejected" in status.lower() else OrderState.CANCELED
        )
        return OrderStatus(cloid, state, filled, avg, status)

    def _paged(self, body: dict[str, Any], page: int) -> list[dict[str, Any]]:
        """All rows of a time-paginated info request (the venue caps responses at ``page`` rows)."""
        out: list[dict[str, Any]] = []
        start = int(body["startTime"])
        for _ in range(1000):
            rows = self.info({**body, "startTime": start})
            out.extend(rows)
            if len(rows) < page:
                break
            start = max(int(r["time"]) for r in rows)  # next page from the newest time (dups dropped by id)
        return out

    def candles(self, start_ms: int, end_ms: int) -> Any:
        """The venue's own 1h perp candles (``candleSnapshot``) opening in [start_ms, end_ms) that have closed by
        venue time, parsed and validated by the market-data client (``fetch.HyperliquidInfo.candles``) over this
        adapter's reads (same retries and rate budget). Thread-safe: the controller's recalibration worker calls
        it. Returns a candle frame (ts, open, high, low, close, volume, source)."""
        from basisctl.venues.hyperliquid.fetch import HyperliquidInfo

        venue = self

        class _Reads:  # the market-data client's HTTP seam, routed through this adapter's retried reads
            base_url = venue.base_url

            def post_json(self, path: str, body: dict[str, Any]) -> Any:
                return venue.info(body)

            def close(self) -> None:
                return None

        client = HyperliquidInfo(_Reads(), now_ms=self.now_ms)  # type: ignore[arg-type]
        return client.candles(self.perp_coin, "1h", int(start_ms), int(end_ms))

    def fills(self, since_ms: int = 0) -> list[Fill]:
        out: dict[str, Fill] = {}
        body = {"type": "userFillsByTime", "user": self.account, "startTime": int(since_ms)}
        for f in self._paged(body, 2000):
            m = self._market_of(f["coin"])
            if m is None:
                continue
            fee = float(f["fee"])
            in_base = m == "spot" and f.get("feeToken", "USDC") not in ("USDC", None)
            fid = fill_id(f)
            out[fid] = Fill(
                fid,
                str(f.get("cloid") or ""),
                m,
                "buy" if f["side"] == "B" else "sell",
                float(f["sz"]),
                float(f["px"]),
                0.0 if in_base else fee,
                int(f["time"]),
                fee if in_base else 0.0,
                fill_cause(f),
            )
        return list(out.values())

    def funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        out: dict[str, FundingPayment] = {}
        for u in self._paged({"type": "userFunding", "user": self.account, "startTime": int(since_ms)}, 500):
            d = u["delta"]
            if d.get("coin") != self.perp_coin:
                continue
            fid = f"{u['time']}:{d['coin']}"
            out[fid] = FundingPayment(fid, int(u["time"]), float(d["usdc"]), float(d["fundingRate"]), float(d["szi"]))
        return list(out.values())

    def transfers(self, since_ms: int = 0) -> list[Transfer]:
        out = []
        for u in self.info({"type": "userNonFundingLedgerUpdates", "user": self.account, "startTime": int(since_ms)}):
            d = u["delta"]
            if d.get("type") != "accountClassTransfer":
                continue
            nonce = d.get("nonce")
            out.append(
                Transfer(
                    str(u["hash"]),
                    int(nonce) if nonce is not None else None,
                    float(d["usdc"]),
                    bool(d["toPerp"]),
                    int(u["time"]),
                )
            )
        return out

    # ------------------------------------------------------------------ protocol: writes
    def place_order(self, req: OrderRequest) -> OrderStatus:
        spot = req.market == "spot"
        szd = self.spot_sz_decimals if spot else self.perp_sz_decimals
        size = float(Decimal(str(req.size)).quantize(Decimal(1).scaleb(-szd), rounding="ROUND_DOWN"))
        if size <= 0:
            raise VenueError(f"order size {req.size} rounds to zero at {szd} decimals")
        px = round_px(req.limit_px, szd, spot)
        order = {
            "a": self.spot_asset if spot else self.perp_asset,
            "b": req.side == "buy",
            "p": wire(px),
            "s": wire(size),
            "r": bool(req.reduce_only),
            "t": {"limit": {"tif": "Ioc"}},
            "c": req.cloid,
        }
        action = {"type": "order", "orders": [order], "grouping": "na"}
        out = self._exchange(action, self._nonce(), req.expires_at_ms)
        st = out["response"]["data"]["statuses"][0]
        if "error" in st:
            raise VenueError(st["error"])
        if "filled" in st:
            f = st["filled"]
            tot = float(f["totalSz"])
            return OrderStatus(
                req.cloid, OrderState.FILLED if tot >= size - 1e-12 else OrderState.CANCELED, tot, float(f["avgPx"])
            )
        if "resting" in st:
            return OrderStatus(req.cloid, OrderState.OPEN, 0.0, 0.0)
        raise VenueUnavailable(f"unrecognised order status {st}")

    def cancel(self, market: Market, cloid: str) -> None:
        asset = self.spot_asset if market == "spot" else self.perp_asset
        action = {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}]}
        with contextlib.suppress(VenueError):  # already filled / canceled / never placed: the status query decides
            self._exchange(action, self._nonce(), None)

    def transfer(self, req: TransferRequest) -> None:
        action = {
            "type": "usdClassTransfer",
            "hyperliquidChain": "Mainnet" if self.is_mainnet else "Testnet",
            "signatureChainId": "0xa4b1",
            "amount": wire(req.amount_usd),
            "toPerp": bool(req.to_perp),
            "nonce": int(req.nonce),
        }
        self._exchange(action, int(req.nonce), req.expires_at_ms, user_signed=True)

    def schedule_cancel(self, at_ms: int | None) -> None:
        action: dict[str, Any] = {"type": "scheduleCancel"}
        if at_ms is not None:
            action["time"] = int(at_ms)
        self._exchange(action, self._nonce(), None)
