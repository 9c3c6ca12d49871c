"""Hyperliquid adapter: a thin httpx client over the documented /info and /exchange endpoints, signing with
the official SDK's signing module (``hyperliquid.utils.signing``, extra ``live``).

Why not the SDK's ``Exchange``/``Info`` classes: they use ``requests`` with no injectable transport, retry
nothing, hide timeouts and 429s, open websockets and fetch metadata in constructors. The controller needs
exact failure semantics - a read may be retried, a write NEVER is (its outcome is resolved by cloid/nonce) -
plus a rate-limit budget and tests over 127.0.0.1. The SDK's signing functions are reused unchanged, so the
signatures are byte-for-byte what the exchange verifies.

Units follow :mod:`basisctl.venues.protocol`. Spot asset id = 10000 + spot pair index; perp asset id = index in
the perp universe.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from basisctl.venues.hyperliquid.keys import Signer, load_signer
from basisctl.venues.hyperliquid.models import (
    ActiveAssetData,
    ClearinghouseState,
    L2Book,
    LedgerUpdate,
    Meta,
    OrderStatusResponse,
    PerpAssetCtx,
    ServerTime,
    SpotClearinghouseState,
    SpotMeta,
    UserFill,
    UserFunding,
    finite_number,
    parse,
    parse_meta_and_ctxs,
)
from basisctl.venues.protocol import (
    BookSide,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
    Transfer,
    TransferRequest,
    VenueDataError,
    VenueError,
    VenueState,
    VenueUnavailable,
)

if TYPE_CHECKING:  # typing only: from_config reads the controller config it is handed
    from basisctl.live.config import ControllerConfig

MAINNET_URL = "https://api.hyperliquid.xyz"

#: request weights (Hyperliquid docs, "Rate limits and user limits"): exchange 1 per action; info 2 for
#: l2Book/allMids/clearinghouseState/orderStatus/spotClearinghouseState, 20 for the rest.
#: pages of a time-paginated read (userFillsByTime 2000 rows, userFunding 500) before it is refused as unbounded
MAX_PAGES = 50
#: an account event (fill, funding, transfer) stamped more than this ahead of the venue clock is malformed [ms]:
#: journaled, it moved the ingest cursor into the future and every later event was found only after a mismatch
FUTURE_EVENT_TOL_MS = 60_000
INFO_WEIGHT_LIGHT = {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "basisctlTime"}



def fill_id(f: UserFill | dict[str, Any]) -> str:
    """A fill's id: the venue's ``tid``; fills recorded before Hyperliquid added it (2023) have none, so the id is
    built from the fields that together name one fill (tx hash, order id, time, price, size). A fill with none
    of them is malformed: an error, never an id that could merge two fills or split one."""
    g = f.get if isinstance(f, dict) else (lambda k: getattr(f, k, None))
    if g("tid") is not None:
        return str(g("tid"))
    parts = [g(k) for k in ("hash", "oid", "time", "px", "sz")]
    if any(p is None for p in parts):
        err = VenueError if isinstance(f, dict) else VenueDataError
        raise err(f"malformed fill (no tid, and not all of hash/oid/time/px/sz): {str(f)[:160]}")
    if isinstance(f, dict):
        return ":".join(str(p) for p in parts)
    return ":".join(str(p) for p in (f.hash, f.oid, f.time, wire(f.px), wire(f.sz)))


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


def fill_cause(f: UserFill | dict[str, Any]) -> str:
    """Why a fill happened without an order of ours: 'liquidation' when the fill carries Hyperliquid's
    ``liquidation`` object ({liquidatedUser, markPx, method: 'market' | 'backstop'}), 'adl' for
    dir = 'Auto-Deleveraging'; '' for an ordinary fill (docs/operations.md, "External position changes")."""
    g = f.get if isinstance(f, dict) else (lambda k: getattr(f, k, None))
    if g("liquidation"):
        return "liquidation"
    if "auto-deleveraging" in str(g("dir") or "").lower():
        return "adl"
    return ""


@dataclass(frozen=True)
class MarginInfo:
    """The venue's margin view of our perp position (clearinghouseState), for doctor and venue truth.

    mode: 'cross' | 'isolated' (``leverage.type``), or 'none' when no position is open; leverage [x];
    margin_used [USDC] (isolated: the position's own equity rawUsd + szi x mark); raw_usd [USDC] the isolated
    cash (None for cross); liquidation_px [USD] the venue's (None when it reports none); szi [base units];
    account_value, withdrawable and cross_maintenance_margin_used [USDC] are account-wide (None if absent)."""

    mode: str
    leverage: float | None
    margin_used: float | None
    raw_usd: float | None
    liquidation_px: float | None
    szi: float
    position_value: float
    account_value: float
    withdrawable: float | None
    cross_maintenance_margin_used: float | None

    @property
    def isolated_equity(self) -> float | None:
        """rawUsd + szi x mark of an isolated position [USDC] (positionValue = |szi| x mark)."""
        if self.raw_usd is None:
            return None
        return self.raw_usd + math.copysign(self.position_value, self.szi)


def margin_info_of(ch: ClearinghouseState, coin: str) -> MarginInfo:
    """:class:`MarginInfo` of ``coin`` in a parsed clearinghouseState (VenueDataError for a position without its
    ``leverage`` object, or an isolated one without ``rawUsd``: the mode is unknown, never assumed)."""
    summ = ch.marginSummary
    for i, ap in enumerate(ch.assetPositions):
        p = ap.position
        if p.coin != coin:
            continue
        lev = p.leverage
        if lev is None:
            raise VenueDataError(f"malformed clearinghouseState.assetPositions[{i}].position.leverage: missing "
                                 "(margin mode unknown)")
        if lev.type == "isolated" and lev.rawUsd is None:
            raise VenueDataError(f"malformed clearinghouseState.assetPositions[{i}].position.leverage.rawUsd: "
                                 "missing for an isolated position")
        return MarginInfo(lev.type, lev.value, p.marginUsed, lev.rawUsd if lev.type == "isolated" else None,
                          p.liquidationPx, p.szi, p.positionValue, summ.accountValue, ch.withdrawable,
                          ch.crossMaintenanceMarginUsed)
    return MarginInfo("none", None, None, None, None, 0.0, 0.0, summ.accountValue, ch.withdrawable,
                      ch.crossMaintenanceMarginUsed)


def usd_int(amount_usd: float) -> int:
    """USD as the integer micro-dollars Hyperliquid's ``ntli`` takes (the SDK's ``float_to_usd_int``), refusing
    an amount that does not round to 6 decimals exactly or is not finite."""
    if not math.isfinite(amount_usd):
        raise VenueError(f"invalid margin amount {amount_usd}")
    return round(round(amount_usd, 6) * 1e6)


def wire(x: float) -> str:
    """Decimal string without trailing zeros (the form Hyperliquid hashes)."""
    s = f"{x:.8f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


class HyperliquidVenue:
    """The :class:`~basisctl.venues.protocol.Venue` protocol on Hyperliquid (or a server speaking its API)."""

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
        margin_mode: str = "cross",
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
        if margin_mode not in ("cross", "isolated"):
            raise VenueError(f"margin_mode {margin_mode!r}: expected 'cross' or 'isolated'")
        #: configured: 'isolated' = the position's own margin is its perp account (state, transfers); 'cross' =
        #: the account's. What the venue holds is ``margin_mode()``.
        self.margin_config = margin_mode
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
            margin_mode=getattr(v, "margin_mode", "cross"),
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
                    try:
                        return r.json()
                    except ValueError:  # a 200 that is not JSON (a proxy's page): a read is retried; a write's
                        # outcome is unknown (it may have been executed) and is resolved by cloid / nonce
                        last = VenueUnavailable(f"HTTP 200 with a non-JSON body: {r.text[:80]!r}")
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
        meta = parse(Meta, self.info({"type": "meta"}), "meta")
        names = [u.name for u in meta.universe]
        if perp_coin not in names:
            raise VenueError(f"perp {perp_coin} not in the venue's universe")
        self.perp_asset = names.index(perp_coin)
        u = meta.universe[self.perp_asset]
        self.perp_sz_decimals = u.szDecimals
        if u.maxLeverage is None or u.maxLeverage <= 0:
            raise VenueDataError(f"malformed meta.universe[{self.perp_asset}].maxLeverage: missing for {perp_coin}")
        self.max_leverage = u.maxLeverage
        smeta = parse(SpotMeta, self.info({"type": "spotMeta"}), "spotMeta")
        tokens = {t.index: t for t in smeta.tokens}
        self.spot_coin = self.spot_token = ""
        for p in smeta.universe:
            if p.tokens[0] not in tokens or p.tokens[1] not in tokens:
                continue  # a pair naming a token the list lacks cannot be ours
            base, quote = (tokens[i].name for i in p.tokens)
            if spot_coin in (p.name, f"{base}/{quote}"):
                self.spot_coin, self.spot_token = p.name, base
                self.spot_asset = 10_000 + p.index
                self.spot_sz_decimals = tokens[p.tokens[0]].szDecimals
        if not self.spot_coin:
            raise VenueError(f"spot pair {spot_coin} not in the venue's spot universe")

    # ------------------------------------------------------------------ protocol: reads
    def now_ms(self) -> int:
        """Venue time [ms]: the local clock corrected by the measured offset (order expiry and staleness are
        computed on it, so a skewed local clock neither fakes stale data nor sends pre-expired orders)."""
        if self.clock == "server":
            return parse(ServerTime, self.info({"type": "basisctlTime"}), "basisctlTime").time
        return int(self.local_clock() * 1000 + (self._offset_ms or 0.0))

    def state(self) -> VenueState:
        """One observation. Every field goes through the typed models (``models.parse``): a missing or malformed
        field raises VenueDataError naming it (the read is UNKNOWN, never zero). A balance or position absent from
        a well-formed list is NaN; the controller takes it as zero only when its journal says it holds none
        (``guards.resolve_unknowns``) - never at genesis. A crossed or empty book is unknown too."""
        ch = parse(ClearinghouseState, self.info({"type": "clearinghouseState", "user": self.account}),
                   "clearinghouseState")
        sp = parse(SpotClearinghouseState, self.info({"type": "spotClearinghouseState", "user": self.account}),
                   "spotClearinghouseState")
        _, ctxs = parse_meta_and_ctxs(self.info({"type": "metaAndAssetCtxs"}))
        if self.perp_asset >= len(ctxs):
            raise VenueDataError(f"malformed metaAndAssetCtxs[1]: no context for asset {self.perp_asset}")
        ctx = parse(PerpAssetCtx, ctxs[self.perp_asset], f"metaAndAssetCtxs[1][{self.perp_asset}]")
        book = parse(L2Book, self.info({"type": "l2Book", "coin": self.spot_coin}), "l2Book")
        szi, pos_value = math.nan, math.nan
        mine = [ap for ap in ch.assetPositions if ap.position.coin == self.perp_coin]
        if len(mine) > 1:  # which one is ours? (the last one used to win silently)
            raise VenueDataError(f"malformed clearinghouseState.assetPositions: {len(mine)} entries for "
                                 f"{self.perp_coin}")
        for ap in mine:
            szi, pos_value = ap.position.szi, ap.position.positionValue  # same snapshot as accountValue
        av = ch.marginSummary.accountValue
        if self.margin_config == "isolated" and math.isfinite(szi):
            av = self._isolated_value(ch)
        bal = {b.coin: b.total for b in sp.balances}
        for coin in (self.spot_token, "USDC"):
            if sum(1 for b in sp.balances if b.coin == coin) > 1:
                raise VenueDataError(f"malformed spotClearinghouseState.balances: several entries for {coin}")
        bids, asks = book.levels
        if not bids or not asks:
            raise VenueUnavailable(f"empty spot book for {self.spot_coin}")
        if bids[0].px >= asks[0].px:
            raise VenueDataError(f"crossed spot book for {self.spot_coin}: best bid {bids[0].px} >= best ask "
                                 f"{asks[0].px}")
        spot_mid = 0.5 * (bids[0].px + asks[0].px)
        # no position entry: perp_size unknown (NaN), flat if the journal agrees - then account value = cash
        perp_cash = av - math.copysign(pos_value, szi) if math.isfinite(szi) else av
        return VenueState(
            ts_ms=book.time,
            spot_mid=spot_mid,
            mark_px=ctx.markPx,
            oracle_px=ctx.oraclePx,
            spot_base=bal.get(self.spot_token, math.nan),
            spot_usdc=bal.get("USDC", math.nan),
            perp_size=szi,
            perp_cash=perp_cash,
            max_leverage=self.max_leverage,
            funding_rate=ctx.funding,
        )

    def _isolated_value(self, ch: ClearinghouseState) -> float:
        """The position's own equity (rawUsd + szi x mark) [USDC]: in isolated mode the perp account of this
        position is its isolated margin, not the account value (VenueError when the venue holds it cross)."""
        mi = margin_info_of(ch, self.perp_coin)
        if mi.mode != "isolated" or mi.isolated_equity is None:
            raise VenueError(f"{self.perp_coin} position is {mi.mode}-margined on the venue but margin_mode is "
                             "'isolated': set it with updateLeverage (isCross false) before trading")
        return mi.isolated_equity

    def margin_info(self) -> MarginInfo:
        """The venue's margin mode, margin and liquidation price of our perp position (one clearinghouseState
        read): what ``doctor`` checks (a book refuses cross) and what venue truth compares the model with."""
        ch = parse(ClearinghouseState, self.info({"type": "clearinghouseState", "user": self.account}),
                   "clearinghouseState")
        return margin_info_of(ch, self.perp_coin)

    def margin_mode(self) -> str:
        """The venue's margin mode of our perp ('cross' | 'isolated'): the open position's ``leverage.type``, or
        with no position the account's setting for the asset (``activeAssetData``). For ``doctor``."""
        mi = self.margin_info()
        if mi.mode != "none":
            return mi.mode
        d = parse(ActiveAssetData, self.info({"type": "activeAssetData", "user": self.account,
                                               "coin": self.perp_coin}), "activeAssetData")
        return d.leverage.type

    def set_leverage(self, leverage: int, isolated: bool) -> None:
        """``updateLeverage`` on our perp: leverage [x, integer 1..maxLeverage]; ``isolated`` sets isCross false
        (the position gets its own margin). A write: sent once, never retried."""
        if not (1 <= int(leverage) <= self.max_leverage) or int(leverage) != leverage:
            raise VenueError(f"leverage {leverage}: expected an integer in [1, {self.max_leverage:g}]")
        action = {"type": "updateLeverage", "asset": self.perp_asset, "isCross": not isolated,
                  "leverage": int(leverage)}
        self._exchange(action, self._nonce(), None)

    def update_isolated_margin(self, amount_usd: float) -> None:
        """``updateIsolatedMargin``: add (> 0) or remove (< 0) ``amount_usd`` [USDC] of our isolated position's
        margin (ntli in micro-USD; isBuy true as the official SDK sends it). A write: sent once, never retried."""
        ntli = usd_int(amount_usd)
        if ntli == 0:
            raise VenueError(f"margin change {amount_usd} rounds to zero")
        action = {"type": "updateIsolatedMargin", "asset": self.perp_asset, "isBuy": True, "ntli": ntli}
        self._exchange(action, self._nonce(), None)

    def book(self, market: Market, depth: int = 20) -> tuple[BookSide, BookSide]:
        coin = self.spot_coin if market == "spot" else self.perp_coin
        b = parse(L2Book, self.info({"type": "l2Book", "coin": coin}), "l2Book")
        bids, asks = b.levels
        return (
            BookSide([(x.px, x.sz) for x in bids[:depth]]),
            BookSide([(x.px, x.sz) for x in asks[:depth]]),
        )

    def _market_of(self, coin: str) -> Market | None:
        return "perp" if coin == self.perp_coin else "spot" if coin == self.spot_coin else None

    def order_status(self, cloid: str) -> OrderStatus | None:
        r = parse(OrderStatusResponse, self.info({"type": "orderStatus", "user": self.account, "oid": cloid}),
                  "orderStatus")
        if r.status != "order":
            return None
        if r.order is None:
            raise VenueDataError("malformed orderStatus.order: missing for status 'order'")
        o, status = r.order.order, r.order.status
        orig, left = (o.origSz if o.origSz is not None else o.sz), o.sz
        filled = orig - left if status != "filled" else orig
        avg = 0.0
        if filled > 0:
            rows = parse(list[UserFill], self.info({"type": "userFills", "user": self.account}), "userFills")
            fs = [f for f in rows if f.cloid == cloid or (o.oid is not None and f.oid == o.oid)]
            tot = sum(f.sz for f in fs)
            avg = sum(f.sz * f.px for f in fs) / tot if tot else 0.0
            filled = tot or filled
        state = {"open": OrderState.OPEN, "filled": OrderState.FILLED}.get(
            status, OrderState.REJECTED if "rejected" in status.lower() else OrderState.CANCELED
        )
        return OrderStatus(cloid, state, filled, avg, status)

    def _paged(self, body: dict[str, Any], page: int, row: Any, what: str) -> list[Any]:
        """All rows of a time-paginated info request (the venue caps responses at ``page`` rows), each parsed as
        ``row``; at most ``MAX_PAGES`` pages (VenueUnavailable beyond: a bound, never a silent truncation)."""
        out: list[Any] = []
        start = int(body["startTime"])
        for _ in range(MAX_PAGES):
            rows = parse(list[row], self.info({**body, "startTime": start}), what)
            out.extend(rows)
            if len(rows) < page:
                return out
            start = max(r.time for r in rows)  # next page from the newest time (dups dropped by id)
        raise VenueUnavailable(f"{what}: more than {MAX_PAGES} pages of {page} rows since {body['startTime']}")

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

    def _check_not_future(self, what: str, times: list[int]) -> None:
        """VenueDataError for an event time beyond venue now + FUTURE_EVENT_TOL_MS (venues with a real clock: the
        local clock + the measured offset, no request; a local test server's simulated clock is not checked)."""
        if self.clock == "server" or not times:
            return
        bound = self.now_ms() + FUTURE_EVENT_TOL_MS
        for i, t in enumerate(times):
            if t > bound:
                raise VenueDataError(f"malformed {what}[{i}].time: {t} is {(t - bound) / 1e3 + 60:,.0f}s ahead of "
                                     "the venue clock")

    def fills(self, since_ms: int = 0) -> list[Fill]:
        out: dict[str, Fill] = {}
        body = {"type": "userFillsByTime", "user": self.account, "startTime": int(since_ms)}
        rows = self._paged(body, 2000, UserFill, "userFillsByTime")
        self._check_not_future("userFillsByTime", [f.time for f in rows])
        for i, f in enumerate(rows):
            m = self._market_of(f.coin)
            if m is None:
                continue
            if f.fee is None:
                raise VenueDataError(f"malformed userFillsByTime[{i}].fee: missing (the fill's fee is unknown)")
            in_base = m == "spot" and f.feeToken not in ("USDC", None)
            fid = fill_id(f)
            out[fid] = Fill(
                fid,
                str(f.cloid or ""),
                m,
                "buy" if f.side == "B" else "sell",
                f.sz,
                f.px,
                0.0 if in_base else f.fee,
                f.time,
                f.fee if in_base else 0.0,
                fill_cause(f),
                f.liquidation.markPx if f.liquidation is not None else None,
            )
        return list(out.values())

    def funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        out: dict[str, FundingPayment] = {}
        body = {"type": "userFunding", "user": self.account, "startTime": int(since_ms)}
        rows = self._paged(body, 500, UserFunding, "userFunding")
        self._check_not_future("userFunding", [u.time for u in rows])
        for u in rows:
            d = u.delta
            if d.coin != self.perp_coin:
                continue
            fid = f"{u.time}:{d.coin}"
            out[fid] = FundingPayment(fid, u.time, d.usdc, d.fundingRate, d.szi, d.nSamples or 1)
        return list(out.values())

    def transfers(self, since_ms: int = 0) -> list[Transfer]:
        out = []
        body = {"type": "userNonFundingLedgerUpdates", "user": self.account, "startTime": int(since_ms)}
        rows = parse(list[LedgerUpdate], self.info(body), "userNonFundingLedgerUpdates")
        self._check_not_future("userNonFundingLedgerUpdates", [u.time for u in rows])
        for i, u in enumerate(rows):
            d = u.delta
            if d.type != "accountClassTransfer":
                continue
            if d.usdc is None or d.toPerp is None:
                raise VenueDataError(f"malformed userNonFundingLedgerUpdates[{i}].delta: accountClassTransfer "
                                     "without usdc/toPerp")
            if d.usdc <= 0:  # the direction is toPerp; a negative amount would book the transfer the wrong way
                raise VenueDataError(f"malformed userNonFundingLedgerUpdates[{i}].delta.usdc: expected a positive "
                                     f"amount for accountClassTransfer, got {d.usdc!r}")
            out.append(Transfer(u.hash, d.nonce, d.usdc, d.toPerp, u.time))
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
        try:
            st = out["response"]["data"]["statuses"][0]
            if "error" in st:
                raise VenueError(str(st["error"]))
            if "filled" in st:
                f = st["filled"]
                tot, avg = finite_number(f["totalSz"]), finite_number(f["avgPx"])
                return OrderStatus(
                    req.cloid, OrderState.FILLED if tot >= size - 1e-12 else OrderState.CANCELED, tot, avg
                )
        except (KeyError, IndexError, TypeError, ValueError) as e:  # sent and maybe executed: outcome unknown
            raise VenueUnavailable(f"malformed order response ({type(e).__name__}: {e}); resolving by cloid") from None
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
        if self.margin_config == "isolated" and not req.to_perp:  # release the margin first, then move it
            self.update_isolated_margin(-req.amount_usd)
        self._exchange(action, int(req.nonce), req.expires_at_ms, user_signed=True)
        if self.margin_config == "isolated" and req.to_perp:  # the new perp USDC backs this position only
            self.update_isolated_margin(req.amount_usd)

    def schedule_cancel(self, at_ms: int | None) -> None:
        action: dict[str, Any] = {"type": "scheduleCancel"}
        if at_ms is not None:
            action["time"] = int(at_ms)
        self._exchange(action, self._nonce(), None)
