"""DEX-aggregator quote clients (1inch Swap API v6 ``quote``, 0x Swap API v2 ``price``) normalised into one
:class:`Quote`, every quote appended to a local SQLite store for later calibration of Ĉ_s (eq. 58).

* 1inch: ``GET {base}/swap/v6.0/{chainId}/quote?src=&dst=&amount=&includeTokensInfo=true&includeProtocols=true
  &includeGas=true`` with ``Authorization: Bearer <key>``; answer ``dstAmount`` (string, base units),
  ``srcToken``/``dstToken`` (with ``decimals``), ``protocols`` (nested route parts), ``gas``. Errors come as
  ``{"error": ..., "description": ..., "statusCode": 400}``; "insufficient liquidity" means no route.
* 0x: ``GET {base}/swap/permit2/price?chainId=&sellToken=&buyToken=&sellAmount=[&taker=]`` with headers
  ``0x-api-key`` and ``0x-version: v2``; answer ``liquidityAvailable`` (false: nothing else is set),
  ``buyAmount``/``sellAmount`` (strings), ``gas``, ``route.fills[].source``, ``blockNumber``,
  ``estimatedPriceImpact`` (percent, may be null).

Keys come from environment variables (``ONEINCH_API_KEY``, ``ZEROX_API_KEY``) unless passed, and are never
logged or stored. The HTTP layer is an injectable ``httpx`` transport / base URL, so tests run against local
servers. HTTP 429 is retried after ``Retry-After`` (at most ``max_retries`` times) and then raised as
:class:`RateLimitError`. A quote whose round trip exceeded ``max_latency_s`` is stale on arrival: it is
recorded (``stale = 1``) and :class:`StaleQuoteError` is raised; a quote used after ``valid_until_ms`` fails
:meth:`Quote.require_fresh`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from basisctl._closing import Closing
from basisctl.errors import BasisctlError


class AggregatorError(BasisctlError):
    """An aggregator answered with an error (status and the venue's own description in the message)."""

    def __init__(self, venue: str, status: int | None, message: str) -> None:
        self.venue = venue
        self.status = status
        super().__init__(f"{venue}: {message}" + (f" (HTTP {status})" if status is not None else ""))


class RateLimitError(AggregatorError):
    def __init__(self, venue: str, retry_after_s: float | None, message: str = "rate limited") -> None:
        self.retry_after_s = retry_after_s
        super().__init__(venue, 429, message + (f"; retry after {retry_after_s:g} s" if retry_after_s else ""))


class NoLiquidityError(AggregatorError):
    """No route / insufficient liquidity for the requested size."""


class StaleQuoteError(AggregatorError):
    """The quote is older than its validity window (or arrived too late to be trusted)."""


@dataclass(frozen=True)
class Quote:
    """One normalised aggregator quote.

    Amounts in token base units (exact ints); effective_price: buy tokens per sell token in whole-token units;
    price_impact_bps: against ``reference_price`` when given (1 − eff/ref, includes fees and spread), else the
    venue's own estimate if it reports one; gas_estimate [gas units]; route: liquidity sources used;
    ts_ms: receipt time [ms since epoch, UTC]; valid_until_ms = ts_ms + ttl; latency_ms: request round trip.
    """

    venue: str
    chain_id: int
    sell_token: str
    buy_token: str
    sell_amount: int
    buy_amount: int
    sell_decimals: int
    buy_decimals: int
    effective_price: float
    price_impact_bps: float | None
    gas_estimate: int | None
    route: tuple[str, ...]
    ts_ms: int
    valid_until_ms: int
    latency_ms: float
    block_number: int | None = None
    stale: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def is_valid(self, now_ms: int | None = None) -> bool:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return (not self.stale) and now <= self.valid_until_ms

    def require_fresh(self, now_ms: int | None = None) -> Quote:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if not self.is_valid(now):
            raise StaleQuoteError(self.venue, None, f"quote from {self.ts_ms} expired at {self.valid_until_ms} "
                                                    f"(now {now})")
        return self


def _price(sell_amount: int, buy_amount: int, sell_dec: int, buy_dec: int) -> float:
    return (buy_amount / 10**buy_dec) / (sell_amount / 10**sell_dec)


# ------------------------------------------------------------------------------------------------- store
class QuoteStore:
    """Append-only SQLite store of every quote (amounts kept as decimal text so uint256 values stay exact)."""

    _COLUMNS = ("venue", "chain_id", "sell_token", "buy_token", "sell_amount", "buy_amount", "sell_decimals",
                "buy_decimals", "effective_price", "price_impact_bps", "gas_estimate", "route", "ts_ms",
                "valid_until_ms", "latency_ms", "block_number", "stale", "raw")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS quotes (id INTEGER PRIMARY KEY AUTOINCREMENT, venue TEXT NOT NULL, "
                "chain_id INTEGER, sell_token TEXT, buy_token TEXT, sell_amount TEXT, buy_amount TEXT, "
                "sell_decimals INTEGER, buy_decimals INTEGER, effective_price REAL, price_impact_bps REAL, "
                "gas_estimate INTEGER, route TEXT, ts_ms INTEGER NOT NULL, valid_until_ms INTEGER, "
                "latency_ms REAL, block_number INTEGER, stale INTEGER, raw TEXT)")
            con.execute("CREATE INDEX IF NOT EXISTS quotes_ts ON quotes (ts_ms)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def append(self, q: Quote) -> None:
        d = asdict(q)
        d["sell_amount"], d["buy_amount"] = str(q.sell_amount), str(q.buy_amount)
        d["route"], d["raw"], d["stale"] = json.dumps(list(q.route)), json.dumps(q.raw), int(q.stale)
        with self._connect() as con:
            con.execute(f"INSERT INTO quotes ({', '.join(self._COLUMNS)}) VALUES "
                        f"({', '.join('?' for _ in self._COLUMNS)})", [d[c] for c in self._COLUMNS])

    def quotes(self) -> list[Quote]:
        with self._connect() as con:
            rows = con.execute(f"SELECT {', '.join(self._COLUMNS)} FROM quotes ORDER BY id").fetchall()
        out = []
        for r in rows:
            d = dict(zip(self._COLUMNS, r, strict=True))
            d["sell_amount"], d["buy_amount"] = int(d["sell_amount"]), int(d["buy_amount"])
            d["route"], d["raw"], d["stale"] = tuple(json.loads(d["route"])), json.loads(d["raw"]), bool(d["stale"])
            out.append(Quote(**d))
        return out

    def to_frame(self) -> pd.DataFrame:
        qs = self.quotes()
        df = pd.DataFrame([{k: v for k, v in asdict(q).items() if k != "raw"} for q in qs])
        if not df.empty:
            df["ts"] = pd.to_datetime(df["ts_ms"], unit="ms", utc=True)
        return df


# ------------------------------------------------------------------------------------------------ clients
class _AggregatorClient(Closing):
    venue = "aggregator"
    default_base_url = ""
    api_key_env = ""

    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 10.0, ttl_s: float = 30.0,
                 max_latency_s: float = 3.0, max_retries: int = 2, store: QuoteStore | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._api_key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        self._http = httpx.Client(transport=transport, timeout=timeout_s)
        self.ttl_s, self.max_latency_s, self.max_retries = ttl_s, max_latency_s, max_retries
        self.store, self._sleep, self._clock = store, sleep, clock

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        return {}

    def _error_message(self, body: Any, text: str) -> str:
        return text[:200]

    def _get(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], float, float]:
        """GET with 429 retries. Returns (json, start time [s], latency [s])."""
        attempt = 0
        while True:
            t0 = self._clock()
            try:
                r = self._http.get(self.base_url + path, params=params, headers=self._headers())
            except httpx.HTTPError as e:
                raise AggregatorError(self.venue, None, f"request failed: {type(e).__name__}: {e}") from None
            latency = self._clock() - t0
            if r.status_code == 429:
                ra = r.headers.get("Retry-After")
                try:
                    wait = float(ra) if ra is not None else None
                except ValueError:
                    wait = None
                if attempt < self.max_retries:
                    attempt += 1
                    self._sleep(wait if wait is not None else 2.0**attempt)
                    continue
                raise RateLimitError(self.venue, wait)
            try:
                body = r.json()
            except ValueError:
                body = None
            if r.status_code >= 400:
                msg = self._error_message(body, r.text)
                if r.status_code in (400, 404) and _looks_like_no_liquidity(msg):
                    raise NoLiquidityError(self.venue, r.status_code, msg)
                raise AggregatorError(self.venue, r.status_code, msg)
            if not isinstance(body, dict):
                raise AggregatorError(self.venue, r.status_code, "response is not a JSON object")
            return body, t0, latency

    def _finish(self, q: Quote) -> Quote:
        if self.store is not None:
            self.store.append(q)
        if q.stale:
            limit_ms = self.max_latency_s * 1e3
            raise StaleQuoteError(self.venue, None,
                                  f"quote took {q.latency_ms:.0f} ms (> {limit_ms:.0f} ms allowed): stale on arrival")
        return q

    def _stamp(self, t0: float, latency: float) -> tuple[int, int, float, bool]:
        ts = int((t0 + latency) * 1000)
        return ts, ts + int(self.ttl_s * 1000), latency * 1000.0, latency > self.max_latency_s


def _looks_like_no_liquidity(msg: str) -> bool:
    m = msg.lower()
    return any(k in m for k in ("insufficient liquidity", "no route", "insufficient_liquidity", "no liquidity",
                                "cannot find route"))


def _as_int(body: dict[str, Any], key: str, venue: str) -> int:
    try:
        return int(str(body[key]))
    except (KeyError, ValueError, TypeError):
        raise AggregatorError(venue, None, f"response field '{key}' missing or not an integer string "
                                           f"(got {body.get(key)!r})") from None


class OneInchClient(_AggregatorClient):
    """1inch Classic Swap API v6.0 ``quote``."""

    venue = "1inch"
    default_base_url = "https://api.1inch.dev"
    api_key_env = "ONEINCH_API_KEY"

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self._api_key:
            h["Authorization"] = f"Bearer {self._api_key}"
        return h

    def _error_message(self, body: Any, text: str) -> str:
        if isinstance(body, dict):
            return str(body.get("description") or body.get("error") or text[:200])
        return text[:200]

    def quote(self, chain_id: int, src: str, dst: str, amount: int, *, src_decimals: int | None = None,
              dst_decimals: int | None = None, reference_price: float | None = None) -> Quote:
        """Quote selling ``amount`` base units of ``src`` for ``dst``. Decimals come from the response's token
        info unless given. ``reference_price`` [dst per src, whole units] sets price_impact_bps."""
        if amount <= 0:
            raise AggregatorError(self.venue, None, f"amount must be > 0 base units (got {amount})")
        body, t0, lat = self._get(f"/swap/v6.0/{int(chain_id)}/quote",
                                  {"src": src, "dst": dst, "amount": str(int(amount)), "includeTokensInfo": "true",
                                   "includeProtocols": "true", "includeGas": "true"})
        dst_amount = _as_int(body, "dstAmount", self.venue)
        if dst_amount == 0:
            raise NoLiquidityError(self.venue, 200, "dstAmount is 0 (no liquidity)")
        sd = src_decimals if src_decimals is not None else _decimals(body.get("srcToken"), "srcToken", self.venue)
        dd = dst_decimals if dst_decimals is not None else _decimals(body.get("dstToken"), "dstToken", self.venue)
        eff = _price(amount, dst_amount, sd, dd)
        route: list[str] = []
        for part in _flatten(body.get("protocols") or []):
            name = part.get("name") if isinstance(part, dict) else None
            if name and name not in route:
                route.append(str(name))
        gas = body.get("gas")
        ts, valid, lat_ms, stale = self._stamp(t0, lat)
        impact = None if reference_price is None else (1.0 - eff / reference_price) * 1e4
        return self._finish(Quote(self.venue, int(chain_id), src, dst, int(amount), dst_amount, sd, dd, eff, impact,
                                  int(gas) if gas is not None else None, tuple(route), ts, valid, lat_ms, None, stale,
                                  body))


class ZeroExClient(_AggregatorClient):
    """0x Swap API v2 indicative ``price`` (permit2 flavour by default)."""

    venue = "0x"
    default_base_url = "https://api.0x.org"
    api_key_env = "ZEROX_API_KEY"

    def __init__(self, *args: Any, path: str = "/swap/permit2/price", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = path

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json", "0x-version": "v2"}
        if self._api_key:
            h["0x-api-key"] = self._api_key
        return h

    def _error_message(self, body: Any, text: str) -> str:
        if isinstance(body, dict):
            msg = body.get("message") or body.get("reason") or body.get("name")
            data = body.get("data")
            if isinstance(data, dict) and data.get("details"):
                msg = f"{msg}: {data['details']}"
            return str(msg or text[:200])
        return text[:200]

    def price(self, chain_id: int, sell_token: str, buy_token: str, sell_amount: int, *, sell_decimals: int,
              buy_decimals: int, taker: str | None = None, reference_price: float | None = None) -> Quote:
        """Indicative price for selling ``sell_amount`` base units (0x v2 returns no token decimals)."""
        if sell_amount <= 0:
            raise AggregatorError(self.venue, None, f"sell_amount must be > 0 base units (got {sell_amount})")
        params: dict[str, Any] = {"chainId": int(chain_id), "sellToken": sell_token, "buyToken": buy_token,
                                  "sellAmount": str(int(sell_amount))}
        if taker:
            params["taker"] = taker
        body, t0, lat = self._get(self.path, params)
        if body.get("liquidityAvailable") is False:
            raise NoLiquidityError(self.venue, 200, "liquidityAvailable is false")
        buy = _as_int(body, "buyAmount", self.venue)
        sell = _as_int(body, "sellAmount", self.venue) if "sellAmount" in body else int(sell_amount)
        eff = _price(sell, buy, sell_decimals, buy_decimals)
        fills = ((body.get("route") or {}).get("fills") or []) if isinstance(body.get("route"), dict) else []
        route: list[str] = []
        for f in fills:
            src = f.get("source") if isinstance(f, dict) else None
            if src and src not in route:
                route.append(str(src))
        if reference_price is not None:
            impact: float | None = (1.0 - eff / reference_price) * 1e4
        elif body.get("estimatedPriceImpact") not in (None, ""):
            impact = float(body["estimatedPriceImpact"]) * 100.0  # percent -> bps
        else:
            impact = None
        gas = body.get("gas")
        block = body.get("blockNumber")
        ts, valid, lat_ms, stale = self._stamp(t0, lat)
        return self._finish(Quote(self.venue, int(chain_id), sell_token, buy_token, sell, buy, sell_decimals,
                                  buy_decimals, eff, impact, int(gas) if gas not in (None, "") else None,
                                  tuple(route), ts, valid, lat_ms, int(block) if block not in (None, "") else None,
                                  stale, body))


def _decimals(tok: Any, name: str, venue: str) -> int:
    try:
        return int(tok["decimals"])
    except (TypeError, KeyError, ValueError):
        raise AggregatorError(venue, None, f"response has no {name}.decimals: pass the decimals explicitly") from None


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, list):
        out: list[Any] = []
        for y in x:
            out.extend(_flatten(y))
        return out
    return [x]


# ------------------------------------------------------------------------------------- spot leg from quotes
@dataclass
class AggregatorSpotLeg:
    """Spot leg priced by live aggregator quotes (the paper's 1inch route), usable in
    :class:`basisctl.execution.costs.InstantCost`.

    ``base``/``quote`` are (token address, decimals); the quote token is valued at ``quote_usd``; ``mid_usd``
    returns the reference mid of the base [USD] at call time (e.g. the perp book mid or an oracle). Buy-basis
    sells q USD of quote for base; sell-basis sells q / mid of base. Cost = shortfall against mid [bps of
    notional], aggregator fees included, gas excluded (put gas in FixedFrictions). No route -> inf.
    Every call goes through the client, so every quote lands in its store.
    """

    client: OneInchClient | ZeroExClient
    chain_id: int
    base: tuple[str, int]
    quote: tuple[str, int]
    mid_usd: Callable[[], float]
    quote_usd: float = 1.0
    name: str = "aggregator"

    def _swap(self, sell: tuple[str, int], buy: tuple[str, int], amount: int, ref: float) -> Quote:
        if isinstance(self.client, OneInchClient):
            return self.client.quote(self.chain_id, sell[0], buy[0], amount, src_decimals=sell[1],
                                     dst_decimals=buy[1], reference_price=ref)
        return self.client.price(self.chain_id, sell[0], buy[0], amount, sell_decimals=sell[1],
                                 buy_decimals=buy[1], reference_price=ref)

    def cost_bps(self, side: str, notional_usd: Any) -> Any:
        import numpy as np

        q = np.atleast_1d(np.asarray(notional_usd, dtype=np.float64))
        mid = float(self.mid_usd())
        out = np.empty_like(q)
        for i, qi in enumerate(q):
            try:
                if side == "buy-basis":
                    amt = round(qi / self.quote_usd * 10 ** self.quote[1])
                    r = self._swap(self.quote, self.base, amt, self.quote_usd / mid)
                else:
                    amt = round(qi / mid * 10 ** self.base[1])
                    r = self._swap(self.base, self.quote, amt, mid / self.quote_usd)
            except NoLiquidityError:
                out[i] = np.inf
                continue
            if side == "buy-basis":  # effective USD per base paid, against mid (as UniswapV3SpotLeg)
                paid = r.sell_amount / 10 ** self.quote[1] * self.quote_usd
                got = r.buy_amount / 10 ** self.base[1]
                out[i] = (paid / got / mid - 1.0) * 1e4
            else:  # USD received per base sold, against mid
                got_usd = r.buy_amount / 10 ** self.quote[1] * self.quote_usd
                out[i] = (1.0 - got_usd / (r.sell_amount / 10 ** self.base[1] * mid)) * 1e4
        return out
