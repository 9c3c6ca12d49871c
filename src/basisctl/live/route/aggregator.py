"""The aggregator spot route: the SPOT leg of a rebalance executed as a DEX-aggregator swap (1inch / 0x), the
perp leg and margin staying on the perp venue. Selected with ``[spot_route] kind = "1inch" | "0x"``.

Custody model (the real setup): spot inventory (base token, e.g. WBTC) and idle USDC sit in an on-chain wallet;
the perp short and its margin sit on the perp venue; collateral moves over the venue's USDC bridge (deposit /
withdraw). :class:`AggregatorRouteVenue` presents that pair as ONE :class:`~basisctl.live.venue.Venue`, so the
controller, the journal and reconciliation work unchanged:

* ``state()``: perp fields from the perp venue (``perp_cash`` + net bridged USDC), ``spot_base`` /
  ``spot_usdc`` = wallet + whatever sits on the perp venue's own spot account.
* ``place_order`` on ``market="spot"``: quote -> freshness + side-specific cost check -> swap settlement.
  The order's cloid is the swap's idempotency key (a cloid is never settled twice; a duplicate is refused),
  ``expires_at_ms`` is honoured (venue clock), the IOC limit price becomes the swap's minimum return.
  A refused swap raises :class:`~basisctl.live.venue.VenueError` (certain: nothing was sent on-chain).
* ``fills()`` = perp venue fills + settled swaps (fill id ``swap:<cloid>``, ``fee_usd`` = gas);
  ``transfers()`` = venue transfers + bridge transfers (id ``bridge:<nonce>``): ingestion by id stays idempotent.

Settlement seam (:class:`Settlement`): :class:`PaperSettlement` fills at the quoted amounts, optionally worse by
a slippage drawn from a seeded model (seed + cloid, so a replay draws the same); a draw below the minimum
return reverts, as on-chain. :class:`OneInchLiveSettlement` builds the 1inch v6 ``/swap`` transaction
(``tx``: to, data, value, gas), has it signed by an injected :class:`Signer` and handed to an injected
:class:`Broadcaster`; broadcasting to a chain is NOT implemented here: without a broadcaster it raises
:class:`RouteNotImplemented`.

Units: base amounts [base units of the asset, e.g. BTC], USDC [USD], prices [USD per base], costs [bps of
notional], times [ms since epoch, UTC] (venue clock for expiry, wall clock for quote age).
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from basisctl.errors import BasisctlError
from basisctl.execution.quotes import (
    AggregatorError,
    NoLiquidityError,
    OneInchClient,
    Quote,
    RateLimitError,
    StaleQuoteError,
    ZeroExClient,
)
from basisctl.live.venue import (
    BookSide,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
    Side,
    Transfer,
    TransferRequest,
    Venue,
    VenueError,
    VenueState,
    VenueUnavailable,
)


class RouteNotImplemented(BasisctlError):
    """A part of the live aggregator route that basisctl does not implement (broadcasting transactions)."""


# ---------------------------------------------------------------------------------------------- quoting
@dataclass(frozen=True)
class RouteQuote:
    """A quote for one spot swap, in USD terms.

    side: 'buy' (USDC -> base) or 'sell' (base -> USDC); base_amount [base units], usdc_amount [USD]: what is
    paid and received at the quote; px [USD per base] = usdc / base; spot_cost_bps: shortfall against ``mid``
    [bps of notional] (aggregator fees included, gas excluded); age_ms: wall-clock age when checked.
    """

    side: Side
    base_amount: float
    usdc_amount: float
    mid: float
    quote: Quote

    @property
    def px(self) -> float:
        return self.usdc_amount / self.base_amount

    @property
    def notional_usd(self) -> float:
        return self.base_amount * self.mid

    @property
    def spot_cost_bps(self) -> float:
        sgn = 1.0 if self.side == "buy" else -1.0
        return sgn * (self.px / self.mid - 1.0) * 1e4


@dataclass(frozen=True)
class RouteCheck:
    """The pre-trade verdict. quoted_bps [bps of notional]: spot quote + perp fee + perp impact + gas;
    limit_bps = budget - buffer; ok False carries the refusal ``reason``."""

    ok: bool
    reason: str
    quoted_bps: float = float("nan")
    limit_bps: float = float("nan")
    quote: RouteQuote | None = None


class AggregatorQuoter:
    """Quotes a spot swap through :mod:`basisctl.execution.quotes` (every quote lands in its QuoteStore).

    base/usdc: (token address, decimals) on ``chain_id``; ``max_quote_age_s`` is the freshness bound [s]: the
    client marks a quote whose round trip took longer stale on arrival, and :meth:`age_ok` refuses a quote
    older than that at use time. 429 is retried by the client (Retry-After) ``max_retries`` times, then
    :class:`RateLimitError`.
    """

    def __init__(
        self,
        client: OneInchClient | ZeroExClient,
        chain_id: int,
        base: tuple[str, int],
        usdc: tuple[str, int],
        max_quote_age_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.chain_id, self.base, self.usdc = client, chain_id, base, usdc
        self.max_quote_age_s = max_quote_age_s
        self._clock = clock

    @property
    def venue(self) -> str:
        return self.client.venue

    def quote(self, side: Side, base_size: float, mid: float) -> RouteQuote:
        """Quote selling ``base_size`` base (side 'sell') or buying about ``base_size`` base with
        ``base_size x mid`` USDC (side 'buy'). Raises AggregatorError subclasses."""
        if side == "sell":
            sell, buy = self.base, self.usdc
            amount = round(base_size * 10 ** sell[1])
        else:
            sell, buy = self.usdc, self.base
            amount = math.floor(base_size * mid * 10 ** sell[1])
        if isinstance(self.client, OneInchClient):
            q = self.client.quote(self.chain_id, sell[0], buy[0], amount, src_decimals=sell[1], dst_decimals=buy[1])
        else:
            q = self.client.price(self.chain_id, sell[0], buy[0], amount, sell_decimals=sell[1], buy_decimals=buy[1])
        sold = q.sell_amount / 10 ** sell[1]
        got = q.buy_amount / 10 ** buy[1]
        if side == "sell":
            return RouteQuote(side, sold, got, mid, q)
        return RouteQuote(side, got, sold, mid, q)

    def age_ms(self, q: Quote) -> float:
        return self._clock() * 1000.0 - q.ts_ms

    def age_ok(self, q: Quote) -> bool:
        return (not q.stale) and self.age_ms(q) <= self.max_quote_age_s * 1000.0


# ---------------------------------------------------------------------------------------------- settlement
@dataclass(frozen=True)
class Settled:
    """What a swap settled at: base_amount [base], usdc_amount [USD], gas_usd [USD], tx_hash (simulated in
    paper mode), ok False = reverted (nothing moved) with ``reason``."""

    ok: bool
    base_amount: float = 0.0
    usdc_amount: float = 0.0
    gas_usd: float = 0.0
    tx_hash: str = ""
    reason: str = ""


class Settlement(Protocol):
    """The seam between a checked quote and the chain."""

    def settle(self, cloid: str, rq: RouteQuote, min_return: float) -> Settled:
        """Execute the swap of ``rq``; ``min_return`` = least base (buy) or USDC (sell) accepted."""
        ...


@dataclass(frozen=True)
class SlippageModel:
    """Paper slippage against the quote: a draw from N(mean_bps, sd_bps), floored at 0 [bps of the output]."""

    mean_bps: float = 0.0
    sd_bps: float = 0.0
    seed: int = 0

    def draw_bps(self, cloid: str) -> float:
        if self.mean_bps == 0.0 and self.sd_bps == 0.0:
            return 0.0
        return max(0.0, random.Random(f"{self.seed}:{cloid}").gauss(self.mean_bps, self.sd_bps))


class PaperSettlement:
    """Simulated on-chain settlement: fills at the quoted amounts, output reduced by the seeded slippage draw;
    below ``min_return`` the swap reverts. ``gas_usd`` [USD per swap] is charged in USDC."""

    def __init__(self, slippage: SlippageModel | None = None, gas_usd: float = 0.0) -> None:
        self.slippage = slippage or SlippageModel()
        self.gas_usd = gas_usd

    def settle(self, cloid: str, rq: RouteQuote, min_return: float) -> Settled:
        s = self.slippage.draw_bps(cloid) / 1e4
        tx = "0xpaper" + cloid[2:]
        if rq.side == "sell":
            out = rq.usdc_amount * (1.0 - s)
            if out < min_return:
                return Settled(False, reason=f"reverted: return {out:.2f} USDC < minReturn {min_return:.2f}")
            return Settled(True, rq.base_amount, out, self.gas_usd, tx)
        out = rq.base_amount * (1.0 - s)
        if out < min_return:
            return Settled(False, reason=f"reverted: return {out:.8f} base < minReturn {min_return:.8f}")
        return Settled(True, out, rq.usdc_amount, self.gas_usd, tx)


@dataclass(frozen=True)
class SwapTx:
    """The 1inch v6 ``/swap`` answer: transaction fields (to, data, value [wei], gas [units]) and the quoted
    ``dst_amount`` [token base units]."""

    to: str
    data: str
    value: int
    gas: int
    dst_amount: int
    raw: dict[str, Any]


class Signer(Protocol):
    def sign(self, tx: SwapTx, chain_id: int) -> bytes:
        """Sign the transaction (key custody lives outside basisctl's journal and logs)."""
        ...


class Broadcaster(Protocol):
    def broadcast(self, raw_tx: bytes) -> str:
        """Send a signed transaction; returns its hash."""
        ...

    def settlement(self, tx_hash: str) -> Settled:
        """Wait for inclusion and read the amounts actually swapped from the receipt."""
        ...


class OneInchLiveSettlement:
    """Live 1inch settlement: ``GET {base}/swap/v6.0/{chain}/swap?src=&dst=&amount=&from=&origin=&slippage=
    &disableEstimate=true`` -> tx (to, data, value, gas) -> ``signer.sign`` -> ``broadcaster.broadcast``.
    ``slippage`` is the percentage derived from the order's minimum return. Without an injected broadcaster
    it raises :class:`RouteNotImplemented` BEFORE anything is signed or sent."""

    def __init__(
        self,
        quoter: AggregatorQuoter,
        from_address: str,
        signer: Signer | None = None,
        broadcaster: Broadcaster | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not isinstance(quoter.client, OneInchClient):
            raise RouteNotImplemented("live aggregator settlement is implemented for 1inch only (0x: not yet)")
        self.quoter, self.from_address = quoter, from_address
        self.signer, self.broadcaster = signer, broadcaster
        self._http = httpx.Client(transport=transport, timeout=timeout_s)

    def build_swap(self, rq: RouteQuote, min_return: float) -> SwapTx:
        """Request the swap transaction for ``rq`` (1inch v6 ``/swap``) and validate its documented shape."""
        q, c = rq.quote, self.quoter.client
        expected = rq.usdc_amount if rq.side == "sell" else rq.base_amount
        slip_pct = max(0.01, min(50.0, (1.0 - min_return / expected) * 100.0))
        params = {
            "src": q.sell_token,
            "dst": q.buy_token,
            "amount": str(q.sell_amount),
            "from": self.from_address,
            "origin": self.from_address,
            "slippage": f"{slip_pct:.4f}",
            "disableEstimate": "true",
        }
        try:
            r = self._http.get(f"{c.base_url}/swap/v6.0/{q.chain_id}/swap", params=params, headers=c._headers())
        except httpx.HTTPError as e:
            raise VenueUnavailable(f"1inch /swap request failed: {type(e).__name__}") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise VenueError(f"1inch /swap HTTP {r.status_code}: no transaction built, nothing sent")
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code >= 400 or not isinstance(body, dict):
            raise VenueError(f"1inch /swap HTTP {r.status_code}: {c._error_message(body, r.text)}")
        tx = body.get("tx")
        try:
            assert isinstance(tx, dict)
            out = SwapTx(str(tx["to"]), str(tx["data"]), int(str(tx["value"])), int(str(tx["gas"])),
                         int(str(body["dstAmount"])), body)
        except (AssertionError, KeyError, ValueError, TypeError):
            raise VenueError("1inch /swap response lacks tx.to / tx.data / tx.value / tx.gas / dstAmount") from None
        if not out.data.startswith("0x") or not out.to.startswith("0x"):
            raise VenueError(f"1inch /swap tx.to / tx.data are not hex (to={out.to!r})")
        return out

    def settle(self, cloid: str, rq: RouteQuote, min_return: float) -> Settled:
        if self.broadcaster is None or self.signer is None:
            raise RouteNotImplemented(
                "live aggregator route: broadcasting a transaction to a chain is not implemented in basisctl; "
                "inject a Signer and a Broadcaster (nothing was signed or sent)"
            )
        tx = self.build_swap(rq, min_return)
        return self.broadcaster.settlement(self.broadcaster.broadcast(self.signer.sign(tx, rq.quote.chain_id)))


# ---------------------------------------------------------------------------------------------- wallet
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS swaps(cloid TEXT PRIMARY KEY, side TEXT, state TEXT, base REAL, usdc REAL, "
    "gas_usd REAL, ts_ms INTEGER, quoted_bps REAL, quote_venue TEXT, tx_hash TEXT, reason TEXT)",
    "CREATE TABLE IF NOT EXISTS bridge(nonce INTEGER PRIMARY KEY, amount REAL, to_perp INTEGER, ts_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS requests(id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, outcome TEXT)",
)


class Wallet:
    """The on-chain wallet's balances and the route's ledger (swaps by cloid, bridge moves by nonce) in one
    SQLite file; in paper mode it IS the simulated chain. base [base units], usdc [USD]; bridged [USD] = net
    USDC moved into the perp venue's margin."""

    def __init__(self, path: str | Path, initial_base: float = 0.0, initial_usdc: float = 0.0) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for s in _SCHEMA:
            self._db.execute(s)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("SELECT 1 FROM meta WHERE k='base'").fetchone() is None:
                for k, v in (("base", initial_base), ("usdc", initial_usdc), ("bridged", 0.0)):
                    self._db.execute("INSERT INTO meta VALUES(?,?)", (k, repr(float(v))))
            self._db.execute("COMMIT")

    def _f(self, k: str) -> float:
        return float(self._db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()[0])

    def _put(self, k: str, v: float) -> None:
        self._db.execute("UPDATE meta SET v=? WHERE k=?", (repr(float(v)), k))

    def balances(self) -> tuple[float, float, float]:
        """(base, usdc, bridged)."""
        with self._lock:
            return self._f("base"), self._f("usdc"), self._f("bridged")

    def swap(self, cloid: str) -> dict[str, Any] | None:
        with self._lock:
            r = self._db.execute(
                "SELECT side, state, base, usdc, gas_usd, ts_ms, quoted_bps, quote_venue, tx_hash, reason "
                "FROM swaps WHERE cloid=?", (cloid,)).fetchone()
        keys = ("side", "state", "base", "usdc", "gas_usd", "ts_ms", "quoted_bps", "quote_venue", "tx_hash", "reason")
        return None if r is None else dict(zip(keys, r, strict=True))

    def claim(self, key: str) -> bool:
        """Count one request for ``key``; False when it was seen before (a duplicate)."""
        with self._lock:
            dup = self._db.execute("SELECT 1 FROM requests WHERE key=?", (key,)).fetchone() is not None
            self._db.execute("INSERT INTO requests(key, outcome) VALUES(?,?)", (key, "duplicate" if dup else "new"))
            return not dup

    def record_swap(self, cloid: str, side: Side, st: Settled | None, ts_ms: int, quoted_bps: float,
                    venue: str, reason: str = "") -> None:
        """One transaction: the swap row and, when it settled, the balance change."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                ok = st is not None and st.ok
                self._db.execute(
                    "INSERT INTO swaps VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    (cloid, side, "filled" if ok else "rejected", st.base_amount if ok and st is not None else 0.0,
                     st.usdc_amount if ok and st is not None else 0.0,
                     st.gas_usd if ok and st is not None else 0.0, ts_ms, quoted_bps, venue,
                     st.tx_hash if st else "", reason or (st.reason if st else "")))
                if ok:
                    assert st is not None
                    sgn = 1.0 if side == "buy" else -1.0
                    self._put("base", self._f("base") + sgn * st.base_amount)
                    self._put("usdc", self._f("usdc") - sgn * st.usdc_amount - st.gas_usd)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record_bridge(self, nonce: int, amount: float, to_perp: bool, ts_ms: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO bridge VALUES(?,?,?,?)", (nonce, amount, int(to_perp), ts_ms))
                sgn = 1.0 if to_perp else -1.0
                self._put("usdc", self._f("usdc") - sgn * amount)
                self._put("bridged", self._f("bridged") + sgn * amount)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def has_bridge(self, nonce: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM bridge WHERE nonce=?", (nonce,)).fetchone() is not None

    def fills(self, since_ms: int) -> list[Fill]:
        with self._lock:
            rows = self._db.execute(
                "SELECT cloid, side, base, usdc, gas_usd, ts_ms FROM swaps WHERE state='filled' AND ts_ms >= ? "
                "ORDER BY ts_ms, rowid", (since_ms,)).fetchall()
        return [Fill(f"swap:{r[0]}", r[0], "spot", r[1], r[2], r[3] / r[2], r[4], r[5]) for r in rows]

    def bridge_transfers(self, since_ms: int) -> list[Transfer]:
        with self._lock:
            rows = self._db.execute(
                "SELECT nonce, amount, to_perp, ts_ms FROM bridge WHERE ts_ms >= ? ORDER BY ts_ms, nonce",
                (since_ms,)).fetchall()
        return [Transfer(f"bridge:{r[0]}", int(r[0]), float(r[1]), bool(r[2]), int(r[3])) for r in rows]

    def duplicate_requests(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM requests WHERE outcome='duplicate'").fetchone()[0])

    def close(self) -> None:
        self._db.close()


# ---------------------------------------------------------------------------------------------- the venue
def walk_bps(levels: BookSide, mid: float, notional_usd: float) -> float:
    """Average distance from mid of taking ``notional_usd`` from a book side [bps] (last level extended x2)."""
    from basisctl.live.costs import walk_cost_bps

    return walk_cost_bps(levels, mid, notional_usd)


class AggregatorRouteVenue:
    """Perp venue + aggregator spot route as one :class:`Venue` (see the module docstring).

    budgets: (sell-basis, buy-basis) cost budgets [bps of notional] and ``buffer_bps``: a swap is refused when
    quoted cost (spot quote + ``perp_fee_bps`` + perp book impact + gas) + buffer > the side's budget.
    """

    def __init__(
        self,
        perp: Venue,
        quoter: AggregatorQuoter,
        wallet: Wallet,
        settlement: Settlement,
        *,
        sell_budget_bps: float,
        buy_budget_bps: float,
        buffer_bps: float,
        perp_fee_bps: float,
        gas_usd: float = 0.0,
    ) -> None:
        self.perp, self.quoter, self.wallet, self.settlement = perp, quoter, wallet, settlement
        self.sell_budget_bps, self.buy_budget_bps, self.buffer_bps = sell_budget_bps, buy_budget_bps, buffer_bps
        self.perp_fee_bps, self.gas_usd = perp_fee_bps, gas_usd
        self._checked: dict[tuple[Side, float], RouteQuote] = {}

    @property
    def nonce_source(self) -> Any:
        """The perp venue's nonce source (the runner wires the journal's monotonic nonces through here)."""
        return getattr(self.perp, "nonce_source", "absent")

    @nonce_source.setter
    def nonce_source(self, fn: Any) -> None:
        self.perp.nonce_source = fn  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ the route's own surface
    @property
    def route_name(self) -> str:
        return self.quoter.venue

    def gas_bps(self, notional_usd: float) -> float:
        """Gas per swap as [bps of notional]."""
        return self.gas_usd / notional_usd * 1e4 if notional_usd > 0 else 0.0

    def spot_precheck(self, side: Side, base_size: float, mid: float | None = None) -> RouteCheck:
        """Quote and check a spot swap: freshness, then quoted cost + buffer <= the side's budget.

        side 'sell' = sell-basis (sell spot, buy back perp), 'buy' = buy-basis. Never raises for quote
        failures: a 429 after retries, no liquidity or a stale quote is a refusal with its reason."""
        st = self.perp.state()
        mid = st.spot_mid if mid is None else mid
        if base_size <= 0:
            return RouteCheck(False, f"{self.route_name}: nothing to swap (size {base_size})")
        try:
            rq = self.quoter.quote(side, base_size, mid)
        except StaleQuoteError as e:
            return RouteCheck(False, f"stale quote: {e}")
        except RateLimitError as e:
            return RouteCheck(False, f"quote rate-limited after retries: {e}")
        except NoLiquidityError as e:
            return RouteCheck(False, f"no route: {e}")
        except AggregatorError as e:
            return RouteCheck(False, f"quote failed: {e}")
        if not self.quoter.age_ok(rq.quote):
            return RouteCheck(False, f"stale quote: {self.quoter.age_ms(rq.quote):.0f} ms old > "
                                     f"{self.quoter.max_quote_age_s * 1e3:.0f} ms allowed", quote=rq)
        pb, pa = self.perp.book("perp")
        perp_bps = walk_bps(pa if side == "sell" else pb, st.mark_px, rq.notional_usd)
        quoted = rq.spot_cost_bps + self.perp_fee_bps + perp_bps + self.gas_bps(rq.notional_usd)
        budget = self.sell_budget_bps if side == "sell" else self.buy_budget_bps
        limit = budget - self.buffer_bps
        basis = "sell-basis" if side == "sell" else "buy-basis"
        if not quoted <= limit:
            return RouteCheck(False, f"over budget: {basis} quoted {quoted:.2f} bps + buffer {self.buffer_bps:g} "
                                     f"> budget {budget:g} bps ({self.route_name})", quoted, limit, rq)
        self._checked[(side, round(base_size, 10))] = rq
        return RouteCheck(True, "", quoted, limit, rq)

    def quoted_cost_bps(self, cloid: str) -> float | None:
        """The quoted cost [bps of notional] the swap with this cloid was checked at (None if unknown)."""
        s = self.wallet.swap(cloid)
        return None if s is None else float(s["quoted_bps"])

    # ------------------------------------------------------------------ Venue protocol
    def now_ms(self) -> int:
        return self.perp.now_ms()

    def state(self) -> VenueState:
        st = self.perp.state()
        base, usdc, bridged = self.wallet.balances()
        return VenueState(
            ts_ms=st.ts_ms, spot_mid=st.spot_mid, mark_px=st.mark_px, oracle_px=st.oracle_px,
            spot_base=st.spot_base + base, spot_usdc=st.spot_usdc + usdc, perp_size=st.perp_size,
            perp_cash=st.perp_cash + bridged, max_leverage=st.max_leverage, funding_rate=st.funding_rate,
        )

    def book(self, market: Market, depth: int = 20) -> tuple[BookSide, BookSide]:
        return self.perp.book(market, depth)

    def place_order(self, req: OrderRequest) -> OrderStatus:
        if req.market != "spot":
            return self.perp.place_order(req)
        if not self.wallet.claim(req.cloid) or self.wallet.swap(req.cloid) is not None:
            raise VenueError(f"duplicate cloid {req.cloid}: swap not sent again")
        now = self.now_ms()
        venue = self.route_name

        def refuse(why: str, quoted: float = float("nan")) -> VenueError:
            self.wallet.record_swap(req.cloid, req.side, None, now, quoted, venue, why)
            return VenueError(f"swap {req.cloid} refused: {why}")

        if now > req.expires_at_ms:
            raise refuse("expired")
        if not (req.size > 0 and math.isfinite(req.size) and req.limit_px > 0):
            raise refuse("invalid size or price")
        base, usdc, _ = self.wallet.balances()
        if req.side == "sell" and req.size > base + 1e-12:
            raise refuse(f"insufficient {req.size} base in wallet ({base})")
        st = self.perp.state()
        rq = self._checked.pop((req.side, round(req.size, 10)), None)
        if rq is None or not self.quoter.age_ok(rq.quote) or rq.mid != st.spot_mid:
            chk = self.spot_precheck(req.side, req.size, st.spot_mid)
            if not chk.ok:
                raise refuse(chk.reason, chk.quoted_bps)
            self._checked.pop((req.side, round(req.size, 10)), None)
            rq, quoted = chk.quote, chk.quoted_bps
        else:
            pb, pa = self.perp.book("perp")
            quoted = (rq.spot_cost_bps + self.perp_fee_bps + self.gas_bps(rq.notional_usd)
                      + walk_bps(pa if req.side == "sell" else pb, st.mark_px, rq.notional_usd))
        assert rq is not None
        if req.side == "buy" and rq.usdc_amount + self.gas_usd > usdc + 1e-9:
            raise refuse(f"insufficient USDC in wallet ({usdc:.2f} < {rq.usdc_amount + self.gas_usd:.2f})", quoted)
        # the IOC limit is the minimum return: sell >= size x limit USDC, buy >= usdc / limit base
        min_ret = rq.base_amount * req.limit_px if req.side == "sell" else rq.usdc_amount / req.limit_px
        expected = rq.usdc_amount if req.side == "sell" else rq.base_amount
        if expected < min_ret:
            raise refuse(f"quoted px {rq.px:.2f} beyond limit {req.limit_px:.2f}", quoted)
        res = self.settlement.settle(req.cloid, rq, min_ret)
        self.wallet.record_swap(req.cloid, req.side, res, now, quoted, venue)
        if not res.ok:
            raise VenueError(f"swap {req.cloid} {res.reason}")
        return OrderStatus(req.cloid, OrderState.FILLED, res.base_amount, res.usdc_amount / res.base_amount)

    def order_status(self, cloid: str) -> OrderStatus | None:
        s = self.wallet.swap(cloid)
        if s is None:
            return self.perp.order_status(cloid)
        if s["state"] == "filled":
            return OrderStatus(cloid, OrderState.FILLED, float(s["base"]), float(s["usdc"]) / float(s["base"]))
        return OrderStatus(cloid, OrderState.REJECTED, 0.0, 0.0, str(s["reason"]))

    def cancel(self, market: Market, cloid: str) -> None:
        if market != "spot":
            self.perp.cancel(market, cloid)  # swaps are atomic: nothing rests

    def fills(self, since_ms: int) -> list[Fill]:
        return [*self.perp.fills(since_ms), *self.wallet.fills(since_ms)]

    def funding_payments(self, since_ms: int) -> list[FundingPayment]:
        return self.perp.funding_payments(since_ms)

    def transfer(self, req: TransferRequest) -> None:
        """Deposit wallet USDC into perp margin (to_perp) or withdraw margin to the wallet, over the bridge.
        USDC already on the perp venue's own spot account moves with the venue's class transfer instead."""
        st = self.perp.state()
        if req.to_perp and st.spot_usdc >= req.amount_usd:
            return self.perp.transfer(req)
        if not self.wallet.claim(f"bridge:{req.nonce}") or self.wallet.has_bridge(req.nonce):
            raise VenueError(f"bridge nonce {req.nonce} refused: duplicate")
        now = self.now_ms()
        if now > req.expires_at_ms:
            raise VenueError(f"bridge nonce {req.nonce} refused: expired")
        if not (req.amount_usd > 0 and math.isfinite(req.amount_usd)):
            raise VenueError(f"bridge nonce {req.nonce} refused: invalid amount {req.amount_usd}")
        _, usdc, _ = self.wallet.balances()
        full = self.state()
        if req.to_perp and req.amount_usd > usdc + 1e-9:
            raise VenueError(f"bridge nonce {req.nonce} refused: wallet holds {usdc:.2f} USDC")
        if not req.to_perp:
            withdrawable = full.perp_account_value - abs(full.perp_size) * full.mark_px / full.max_leverage
            if req.amount_usd > withdrawable + 1e-9:
                raise VenueError(f"bridge nonce {req.nonce} refused: exceeds withdrawable {withdrawable:.2f}")
        self.wallet.record_bridge(req.nonce, req.amount_usd, req.to_perp, now)

    def transfers(self, since_ms: int) -> list[Transfer]:
        return [*self.perp.transfers(since_ms), *self.wallet.bridge_transfers(since_ms)]

    def schedule_cancel(self, at_ms: int | None) -> None:
        self.perp.schedule_cancel(at_ms)

    def advance(self, seconds: float) -> None:
        """Manual clock of a simulated perp venue (no-op otherwise)."""
        adv = getattr(self.perp, "advance", None)
        if adv is not None:
            adv(seconds)

    def stats(self) -> dict[str, Any]:
        base: dict[str, Any] = dict(self.perp.stats()) if hasattr(self.perp, "stats") else {}
        base["duplicate_swap_requests"] = self.wallet.duplicate_requests()
        return base

    def close(self) -> None:
        self.wallet.close()
        close = getattr(self.perp, "close", None)
        if close is not None:
            close()

