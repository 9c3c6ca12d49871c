"""Uniswap v3 pool state from an Ethereum JSON-RPC endpoint the user supplies (``eth_call`` at one pinned block).

Calls, all ``eth_call`` at the block returned by a first ``eth_blockNumber`` (so the snapshot is one consistent
state even while the chain moves on):

- pool: ``token0()``, ``token1()``, ``fee()``, ``tickSpacing()``, ``slot0()`` (sqrtPriceX96, tick), ``liquidity()``;
- both tokens: ERC-20 ``decimals()`` and ``symbol()`` (string, or bytes32 for old tokens such as MKR);
- ``tickBitmap(int16 wordPos)`` for every word from ``(MIN_TICK // tickSpacing) >> 8`` to
  ``(MAX_TICK // tickSpacing) >> 8`` (694 words at spacing 10), then ``ticks(int24)`` for every set bit
  (tick = (wordPos·256 + bit)·tickSpacing) to read liquidityGross (uint128) and liquidityNet (int128).

Requests are sent as JSON-RPC batches (a JSON array, ``batch_size`` calls each). A server that rejects batches
(an error object instead of an array, or HTTP 4xx) is asked again one call at a time, with one ``warning:``.
HTTP 429/5xx and transport errors are retried by :class:`~basisctl.data.fetch.http.HttpClient`; JSON-RPC
rate-limit errors (code -32005 or 429, or "rate limit"/"too many requests" in the message) are retried with the
same backoff. ABI encoding and decoding is done by hand (selectors below, verified against keccak-256 in
``tests/data/test_uniswap_rpc.py``).

The RPC URL often carries an API key in its path or query: messages and files name only the host
(:func:`rpc_host`).

The snapshot is checked before it is returned: every set bitmap bit has ``initialized`` and liquidityGross > 0,
|liquidityNet| <= liquidityGross, and the sum of liquidityNet over ticks <= the current tick equals
``liquidity()`` exactly (as it does on chain at one block). A node that answers from different blocks fails this.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from basisctl._closing import Closing
from basisctl.data.fetch.http import FetchError, HttpClient, RetryPolicy
from basisctl.data.io import _atomic_write
from basisctl.execution.uniswap_v3 import MAX_TICK, MIN_TICK, Token, V3Pool, get_tick_at_sqrt_ratio

#: USDC/WETH 0.05 % on Ethereum mainnet (the pool of the shared snapshot).
USDC_WETH_005_POOL = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"
DEFAULT_POOL_NAME = "USDC_WETH_0p05_mainnet"
ENV_RPC_URL = "BASISCTL_ETH_RPC_URL"

#: 4-byte selectors: first 4 bytes of keccak-256 of the signature.
SEL_TOKEN0 = "0dfe1681"  # token0()
SEL_TOKEN1 = "d21220a7"  # token1()
SEL_FEE = "ddca3f43"  # fee()
SEL_TICK_SPACING = "d0c93a7c"  # tickSpacing()
SEL_SLOT0 = "3850c7bd"  # slot0()
SEL_LIQUIDITY = "1a686502"  # liquidity()
SEL_DECIMALS = "313ce567"  # decimals()
SEL_SYMBOL = "95d89b41"  # symbol()
SEL_TICK_BITMAP = "5339c296"  # tickBitmap(int16)
SEL_TICKS = "f30dba93"  # ticks(int24)
SIGNATURES: dict[str, str] = {
    "token0()": SEL_TOKEN0,
    "token1()": SEL_TOKEN1,
    "fee()": SEL_FEE,
    "tickSpacing()": SEL_TICK_SPACING,
    "slot0()": SEL_SLOT0,
    "liquidity()": SEL_LIQUIDITY,
    "decimals()": SEL_DECIMALS,
    "symbol()": SEL_SYMBOL,
    "tickBitmap(int16)": SEL_TICK_BITMAP,
    "ticks(int24)": SEL_TICKS,
}

#: JSON-RPC error codes that mean "slow down" (EIP-1474 -32005 limit exceeded; some providers use 429).
RATE_LIMIT_CODES: frozenset[int] = frozenset({-32005, 429})
DEFAULT_BATCH_SIZE = 100

Progress = Callable[[str, int, int], None]  # (phase, done, total)


#: The JSON-RPC node's retry policy (``data pool``): 429, 5xx and read timeouts, 5 retries; an unreachable node
#: (DNS, refused, TLS, connect timeout) fails at once.
RPC_RETRY = RetryPolicy(max_retries=5)

class RpcError(FetchError):
    """A JSON-RPC call failed for good (error object, empty result, malformed answer, inconsistent state)."""


# ------------------------------------------------------------------------------------------------ ABI
def _word(value: int, bits: int, signed: bool) -> str:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise ValueError(f"{value} out of range for {'int' if signed else 'uint'}{bits}")
    return format(value % (1 << 256), "064x")


def encode_call(selector: str, *args: tuple[int, int, bool]) -> str:
    """``0x`` + selector + one 32-byte word per ``(value, bits, signed)`` argument (two's complement)."""
    return "0x" + selector + "".join(_word(v, b, s) for v, b, s in args)


def decode_words(result: str, n: int, what: str) -> list[int]:
    """The first ``n`` 32-byte words of a hex ``eth_call`` result as unsigned integers."""
    if not isinstance(result, str) or not result.startswith("0x"):
        raise RpcError(f"{what}: expected a 0x-prefixed hex string, got {str(result)[:80]!r}")
    body = result[2:]
    if body == "":
        raise RpcError(f"{what}: empty result 0x (no contract at that address, or not this kind of contract)")
    if len(body) < 64 * n or len(body) % 64:
        raise RpcError(f"{what}: expected at least {n} ABI words, got {len(body) / 64:g} ({result[:80]!r})")
    try:
        return [int(body[64 * i : 64 * (i + 1)], 16) for i in range(n)]
    except ValueError:
        raise RpcError(f"{what}: not hex: {result[:80]!r}") from None


def as_uint(word: int, bits: int, what: str) -> int:
    if word >> bits:
        raise RpcError(f"{what}: value {word:#x} does not fit uint{bits}")
    return word


def as_int(word: int, bits: int, what: str) -> int:
    """A two's-complement ABI word as a signed ``int<bits>`` (the word must be sign-extended, as nodes return)."""
    v = word - (1 << 256) if word >> 255 else word
    if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
        raise RpcError(f"{what}: value {word:#x} is not a sign-extended int{bits}")
    return v


def as_address(word: int, what: str) -> str:
    return "0x" + format(as_uint(word, 160, what), "040x")


def decode_string(result: str, what: str) -> str:
    """ABI ``string`` (offset, length, bytes) or a bytes32 (old tokens such as MKR) with trailing NULs removed."""
    body = result[2:] if isinstance(result, str) and result.startswith("0x") else None
    if body is None or body == "":
        decode_words(result, 1, what)  # raises the right message
        raise AssertionError  # pragma: no cover
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise RpcError(f"{what}: not hex: {result[:80]!r}") from None
    if len(raw) == 32:
        data = raw.rstrip(b"\x00")
    else:
        if len(raw) < 64:
            raise RpcError(f"{what}: expected an ABI string, got {result[:80]!r}")
        off = int.from_bytes(raw[:32], "big")
        if off + 32 > len(raw):
            raise RpcError(f"{what}: string offset {off} beyond the {len(raw)}-byte result")
        n = int.from_bytes(raw[off : off + 32], "big")
        if off + 32 + n > len(raw):
            raise RpcError(f"{what}: string length {n} beyond the {len(raw)}-byte result")
        data = raw[off + 32 : off + 32 + n]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RpcError(f"{what}: symbol is not UTF-8: {data!r}") from None


# ------------------------------------------------------------------------------------------------ URL
def rpc_host(url: str) -> str:
    """Host[:port] of an RPC URL: never the path, query or user info, where API keys live."""
    u = urlsplit(url)
    host = u.hostname or "?"
    return f"{host}:{u.port}" if u.port else host


# ------------------------------------------------------------------------------------------------ client
@dataclass(frozen=True)
class Call:
    """One ``eth_call``: target address, calldata (0x hex) and a readable label for messages."""

    to: str
    data: str
    what: str


class EthRpc(Closing):
    """Minimal Ethereum JSON-RPC client (``eth_blockNumber``, ``eth_call``) over :class:`HttpClient`.

    ``url`` may hold an API key (path, query or user info): only :attr:`host` ever appears in messages.
    ``transport``/``sleep``/``retry`` are the injectable seams (tests run against 127.0.0.1).
    """

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch: bool = True,
        min_interval_s: float = 0.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise RpcError(f"RPC URL must be http(s)://host/... (got a URL with scheme {u.scheme!r})")
        if batch_size < 1:
            raise RpcError(f"batch size must be >= 1 (got {batch_size})")
        self.host = rpc_host(url)
        self._path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self._full = f"{u.scheme}://{u.netloc}{self._path}"
        userinfo = u.netloc.rpartition("@")[0]
        # whole parts, and every path segment, query value and user-info field long enough to be a key
        parts = [*u.path.split("/"), *(v for kv in u.query.split("&") for v in kv.split("=")), *userinfo.split(":")]
        self._secrets = [s for s in (url, u.path, u.query, userinfo) if s and s != "/"]
        self._secrets += [s for s in parts if len(s) >= 8]
        self.http = HttpClient(
            f"{u.scheme}://{u.netloc}",
            transport=transport,
            retry=retry or RPC_RETRY,
            min_interval_s=min_interval_s,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self.batch_size = batch_size
        self.batch = batch
        self.warn: Callable[[str], None] = warn or (lambda m: None)  # one-line warnings
        self._next_id = 1
        self.calls = 0  # JSON-RPC calls made (a batch of n counts n)

    def close(self) -> None:
        self.http.close()

    # -------------------------------------------------------------------------------- transport
    def _redact(self, text: str) -> str:
        """``text`` with the URL replaced by its host and any path, query or user info by ``***``."""
        text = text.replace(self._full, self.host)
        for s in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text

    def _post(self, body: Any, what: str) -> Any:
        try:
            return self.http.post_json(self._path, body)
        except FetchError as e:
            msg = self._redact(re.sub(r" \(params .*?\): HTTP", ": HTTP", str(e), count=1, flags=re.S))
            msg = msg if len(msg) <= 300 else msg[:300] + "..."
            raise RpcError(f"{what} via {self.host}: {msg}", e.status) from None

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        rid = self._next_id
        self._next_id += 1
        return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}

    @staticmethod
    def _is_rate_limit(err: Any) -> bool:
        if not isinstance(err, dict):
            return False
        msg = str(err.get("message", "")).lower()
        return err.get("code") in RATE_LIMIT_CODES or "rate limit" in msg or "too many requests" in msg

    def _error_text(self, err: Any) -> str:
        if isinstance(err, dict):
            data = f" ({str(err['data'])[:120]})" if err.get("data") not in (None, "") else ""
            return self._redact(f"JSON-RPC error {err.get('code')}: {str(err.get('message'))[:200]}{data}")
        return self._redact(f"JSON-RPC error {str(err)[:200]}")

    def request(self, method: str, params: list[Any], what: str) -> Any:
        """One JSON-RPC call; JSON-RPC rate-limit errors are retried with the HTTP client's backoff."""
        last: Any = None
        for attempt in range(self.http.retry.max_retries + 1):
            req = self._request(method, params)
            self.calls += 1
            resp = self._post(req, what)
            if not isinstance(resp, dict) or resp.get("id") != req["id"]:
                raise RpcError(f"{what} via {self.host}: expected a JSON-RPC response with id {req['id']}, "
                               f"got {self._redact(str(resp))[:200]!r}")
            if "error" in resp:
                last = resp["error"]
                if self._is_rate_limit(last) and attempt < self.http.retry.max_retries:
                    self.http._wait(self.http._backoff(attempt, None))
                    continue
                raise RpcError(f"{what} via {self.host}: {self._error_text(last)}")
            if "result" not in resp:
                raise RpcError(f"{what} via {self.host}: JSON-RPC response without result or error")
            return resp["result"]
        raise RpcError(f"{what} via {self.host}: {self._error_text(last)} after "
                       f"{self.http.retry.max_retries + 1} attempts")

    def block_number(self) -> int:
        res = self.request("eth_blockNumber", [], "eth_blockNumber")
        try:
            return int(res, 16)
        except (TypeError, ValueError):
            raise RpcError(f"eth_blockNumber via {self.host}: expected a hex quantity, got {str(res)[:80]!r}") from None

    def eth_call(self, call: Call, block: int) -> str:
        return self.request("eth_call", [{"to": call.to, "data": call.data}, hex(block)], call.what)

    def eth_calls(self, calls: Sequence[Call], block: int, progress: Callable[[int], None] | None = None) -> list[str]:
        """Results of many ``eth_call`` at ``block``, in order: batched, or one by one once batches fail."""
        out: list[str] = []
        i = 0
        while i < len(calls):
            chunk = calls[i : i + (self.batch_size if self.batch else 1)]
            out.extend(self._batch(chunk, block) if self.batch and len(chunk) > 1 else
                       [self.eth_call(c, block) for c in chunk])
            i += len(chunk)
            if progress is not None:
                progress(len(chunk))
        return out

    def _batch(self, chunk: Sequence[Call], block: int) -> list[str]:
        reqs = [self._request("eth_call", [{"to": c.to, "data": c.data}, hex(block)]) for c in chunk]
        what = f"batch of {len(reqs)} eth_call ({chunk[0].what} ...)"
        self.calls += len(reqs)
        try:
            resp = self._post(reqs, what)
        except RpcError as e:
            if e.status is None or not 400 <= e.status < 500 or e.status in (401, 403, 429):
                raise  # not about batching: server error, bad key, rate limit after retries
            return self._unbatch(chunk, block, f"HTTP {e.status}")
        if not isinstance(resp, list):
            reason = self._error_text(resp.get("error")) if isinstance(resp, dict) and "error" in resp else \
                f"a {type(resp).__name__} instead of an array"
            return self._unbatch(chunk, block, reason)
        by_id = {r.get("id"): r for r in resp if isinstance(r, dict)}
        results: list[str] = []
        for req, call in zip(reqs, chunk, strict=True):
            r = by_id.get(req["id"])
            if r is not None and "result" in r and "error" not in r:
                results.append(r["result"])
            elif r is not None and "error" in r and not self._is_rate_limit(r["error"]):
                raise RpcError(f"{call.what} via {self.host}: {self._error_text(r['error'])}")
            else:  # missing from the batch answer, or rate-limited: ask again on its own
                results.append(self.eth_call(call, block))
        return results

    def _unbatch(self, chunk: Sequence[Call], block: int, reason: str) -> list[str]:
        self.batch = False
        self.warn(f"{self.host} rejected a JSON-RPC batch ({reason}); sending calls one at a time")
        return [self.eth_call(c, block) for c in chunk]


# ------------------------------------------------------------------------------------------------ pool
@dataclass(frozen=True)
class TokenInfo:
    address: str
    decimals: int
    symbol: str


@dataclass(frozen=True)
class PoolState:
    """One Uniswap v3 pool at ``block_number``. ``ticks``: (tickIdx, liquidityNet, liquidityGross), sorted."""

    pool_id: str
    block_number: int
    token0: TokenInfo
    token1: TokenInfo
    fee_pips: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: list[tuple[int, int, int]]
    calls: int = 0

    def to_pool(self) -> V3Pool:
        """The state as a swap simulator pool."""
        return V3Pool(
            self.sqrt_price_x96, self.tick, self.liquidity, self.fee_pips, self.tick_spacing,
            [t for t, _, _ in self.ticks], {t: n for t, n, _ in self.ticks},
            Token(self.token0.symbol, self.token0.decimals, self.token0.address),
            Token(self.token1.symbol, self.token1.decimals, self.token1.address),
            pool_id=self.pool_id,
        )


def normalise_address(address: str) -> str:
    a = address.strip().lower()
    if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
        raise RpcError(f"pool address must be 0x followed by 40 hex digits (got {address!r})")
    return a


def word_range(tick_spacing: int) -> range:
    """Bitmap words that can hold an initialised tick: ``(MIN_TICK // s) >> 8`` .. ``(MAX_TICK // s) >> 8``."""
    return range((MIN_TICK // tick_spacing) >> 8, ((MAX_TICK // tick_spacing) >> 8) + 1)


def bitmap_ticks(word_pos: int, bitmap: int, tick_spacing: int) -> list[int]:
    """Ticks of the set bits of one bitmap word (tick = (wordPos·256 + bit)·tickSpacing), ascending."""
    return [(word_pos * 256 + b) * tick_spacing for b in range(256) if bitmap >> b & 1]


def fetch_pool_state(
    rpc: EthRpc,
    pool: str = USDC_WETH_005_POOL,
    *,
    block: int | None = None,
    progress: Progress | None = None,
) -> PoolState:
    """Read the pool's price, liquidity and every initialised tick at one block (``block`` or the head)."""
    pool = normalise_address(pool)
    pinned = rpc.block_number() if block is None else block
    tag = f"pool {pool} at block {pinned}"

    def c(sel: str, name: str, *args: tuple[int, int, bool], to: str = pool) -> Call:
        where = tag if to == pool else f"token {to} at block {pinned}"
        return Call(to, encode_call(sel, *args), f"eth_call {name} on {where}")

    head = [c(SEL_TOKEN0, "token0()"), c(SEL_TOKEN1, "token1()"), c(SEL_FEE, "fee()"),
            c(SEL_TICK_SPACING, "tickSpacing()"), c(SEL_SLOT0, "slot0()"), c(SEL_LIQUIDITY, "liquidity()")]
    def lbl(call: Call) -> str:
        return f"{call.what} via {rpc.host}"

    def words_of(call: Call, hexres: str, n: int) -> list[int]:
        return decode_words(hexres, n, lbl(call))

    r = rpc.eth_calls(head, pinned)
    t0 = as_address(words_of(head[0], r[0], 1)[0], lbl(head[0]))
    t1 = as_address(words_of(head[1], r[1], 1)[0], lbl(head[1]))
    fee = as_uint(words_of(head[2], r[2], 1)[0], 24, lbl(head[2]))
    spacing = as_int(words_of(head[3], r[3], 1)[0], 24, lbl(head[3]))
    s0 = words_of(head[4], r[4], 2)
    sqrt_p = as_uint(s0[0], 160, lbl(head[4]))
    tick = as_int(s0[1], 24, lbl(head[4]))
    liquidity = as_uint(words_of(head[5], r[5], 1)[0], 128, lbl(head[5]))
    if spacing <= 0:
        raise RpcError(f"{lbl(head[3])}: tickSpacing {spacing} must be > 0")

    tok = [c(SEL_DECIMALS, "decimals()", to=t0), c(SEL_SYMBOL, "symbol()", to=t0),
           c(SEL_DECIMALS, "decimals()", to=t1), c(SEL_SYMBOL, "symbol()", to=t1)]
    r = rpc.eth_calls(tok, pinned)
    tokens = [
        TokenInfo(addr, as_uint(words_of(tok[2 * k], r[2 * k], 1)[0], 8, lbl(tok[2 * k])),
                  decode_string(r[2 * k + 1], lbl(tok[2 * k + 1])))
        for k, addr in enumerate((t0, t1))
    ]

    words = list(word_range(spacing))
    wcalls = [c(SEL_TICK_BITMAP, f"tickBitmap({w})", (w, 16, True)) for w in words]
    done = [0]

    def bump(phase: str, total: int) -> Callable[[int], None]:
        def f(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(phase, done[0], total)
        return f

    if progress is not None:
        progress("bitmap words", 0, len(words))
    res = rpc.eth_calls(wcalls, pinned, bump("bitmap words", len(words)))
    init_ticks: list[int] = []
    for w, call, hexres in zip(words, wcalls, res, strict=True):
        init_ticks.extend(bitmap_ticks(w, as_uint(words_of(call, hexres, 1)[0], 256, lbl(call)), spacing))

    tcalls = [c(SEL_TICKS, f"ticks({t})", (t, 24, True)) for t in init_ticks]
    done[0] = 0
    if progress is not None:
        progress("ticks", 0, len(tcalls))
    res = rpc.eth_calls(tcalls, pinned, bump("ticks", len(tcalls)))
    rows: list[tuple[int, int, int]] = []
    for t, call, hexres in zip(init_ticks, tcalls, res, strict=True):
        tw = words_of(call, hexres, 8)
        gross = as_uint(tw[0], 128, lbl(call))
        net = as_int(tw[1], 128, lbl(call))
        initialized = as_uint(tw[7], 1, lbl(call))
        if not initialized or gross == 0:
            raise RpcError(f"{lbl(call)}: bitmap bit is set but the tick is not initialised "
                           f"(initialized={initialized}, liquidityGross={gross}); inconsistent state")
        if abs(net) > gross:
            raise RpcError(f"{lbl(call)}: |liquidityNet| {abs(net)} > liquidityGross {gross}")
        rows.append((t, net, gross))

    active = sum(n for t, n, _ in rows if t <= tick)
    if active != liquidity:
        raise RpcError(f"{tag} via {rpc.host}: liquidity() = {liquidity} but the liquidityNet of the ticks <= "
                       f"current tick {tick} sum to {active}; the node did not answer from one block")
    implied = get_tick_at_sqrt_ratio(sqrt_p)
    if implied not in (tick, tick + 1):
        raise RpcError(f"{lbl(head[4])}: tick {tick} does not match sqrtPriceX96 {sqrt_p} (tick {implied})")
    if implied == tick + 1:
        rpc.warn(f"{tag}: slot0 tick {tick} is one below the tick of sqrtPriceX96 (price exactly on a tick "
                  "boundary after a downward swap); readers that require them to agree will reject this snapshot")
    return PoolState(pool, pinned, tokens[0], tokens[1], fee, spacing, sqrt_p, tick, liquidity, rows, rpc.calls)


# ------------------------------------------------------------------------------------------------ files
def snapshot_paths(out_dir: str | Path, name: str) -> tuple[Path, Path]:
    """``<out_dir>/<name>.meta.json`` and ``<out_dir>/<name>_ticks.csv`` (the shared data layout)."""
    d = Path(out_dir)
    return d / f"{name}.meta.json", d / f"{name}_ticks.csv"


def meta_dict(state: PoolState, rpc_source: str, fetched_at: datetime) -> dict[str, Any]:
    """Meta JSON in the shared snapshot's schema (decimals as strings, big integers as JSON integers), plus
    ``tickSpacing``, ``block_number``, ``fetched_at`` (ISO UTC) and ``rpc_source`` (host only)."""

    def tok(t: TokenInfo) -> dict[str, str]:
        return {"decimals": str(t.decimals), "id": t.address, "symbol": t.symbol}

    return {
        "pool_id": state.pool_id,
        "feeTier": state.fee_pips,
        "currentTick": state.tick,
        "liquidity": state.liquidity,
        "sqrtPriceX96": state.sqrt_price_x96,
        "token0": tok(state.token0),
        "token1": tok(state.token1),
        "tickSpacing": state.tick_spacing,
        "block_number": state.block_number,
        "fetched_at": fetched_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "rpc_source": rpc_source,
    }


def write_pool_snapshot(
    state: PoolState, out_dir: str | Path, name: str, rpc_source: str, fetched_at: datetime | None = None
) -> tuple[Path, Path]:
    """Write ``<name>_ticks.csv`` then ``<name>.meta.json`` atomically; returns (meta, ticks) paths."""
    if not name or "/" in name or name.startswith("."):
        raise RpcError(f"--name must be a plain file stem (got {name!r})")
    meta_p, ticks_p = snapshot_paths(out_dir, name)
    csv_text = "tickIdx,liquidityNet,liquidityGross\n" + "".join(f"{t},{n},{g}\n" for t, n, g in state.ticks)
    meta = meta_dict(state, rpc_source, fetched_at or datetime.now(UTC))
    _atomic_write(ticks_p, lambda tmp: Path(tmp).write_text(csv_text))
    _atomic_write(meta_p, lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2) + "\n"))
    return meta_p, ticks_p


__all__ = [
    "DEFAULT_POOL_NAME",
    "ENV_RPC_URL",
    "SIGNATURES",
    "USDC_WETH_005_POOL",
    "Call",
    "EthRpc",
    "PoolState",
    "RpcError",
    "TokenInfo",
    "bitmap_ticks",
    "decode_string",
    "decode_words",
    "encode_call",
    "fetch_pool_state",
    "meta_dict",
    "rpc_host",
    "snapshot_paths",
    "word_range",
    "write_pool_snapshot",
]
