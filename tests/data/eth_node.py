"""A simulated Ethereum JSON-RPC node on 127.0.0.1 holding Uniswap v3 pool and ERC-20 contract state.

It answers ``eth_blockNumber`` and ``eth_call`` the way a node does: calldata is decoded from the 4-byte
selector (keccak-256 of the Solidity signature, computed here independently of the client's constants) and
32-byte arguments (strict: an ``int16``/``int24`` argument must be sign-extended, else the call reverts), and the
result is ABI-encoded: ``slot0()`` 7 words, ``ticks(int24)`` 8 words (uninitialised ticks read as zeros), the
bitmap word of ``tickBitmap(int16)`` built from the tick set, strings as offset/length/bytes. A call to an address
without code returns ``0x``; an unknown selector reverts (JSON-RPC error -32000 "execution reverted").

State is per block: ``chain[b]`` is the state from block ``b`` on; ``eth_call`` at tag ``0x..`` reads the newest
state at or before it. ``advance_after`` moves the head forward after that many ``eth_call`` (to check that the
client pins one block). Batches (JSON arrays) are answered, or rejected per ``batch_mode``. Faults:
``http_faults`` (status, times) for the next HTTP requests; ``rpc_faults`` (method or selector hex, error, times)
for the next matching calls.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from Crypto.Hash import keccak

from basisctl.execution.uniswap_v3 import get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio
from tests.localhttp import json_post_server


def selector(signature: str) -> str:
    h = keccak.new(digest_bits=256)
    h.update(signature.encode())
    return h.hexdigest()[:8]


def word(v: int) -> bytes:
    return (v % (1 << 256)).to_bytes(32, "big")


def abi_string(s: str) -> bytes:
    b = s.encode()
    return word(32) + word(len(b)) + b.ljust((len(b) + 31) // 32 * 32, b"\x00")


def arg_int(data: bytes, bits: int) -> int | None:
    """A signed argument; None (revert) if the word is not a sign-extended int<bits>."""
    if len(data) != 32:
        return None
    u = int.from_bytes(data, "big")
    v = u - (1 << 256) if u >> 255 else u
    return v if -(1 << (bits - 1)) <= v < (1 << (bits - 1)) else None


@dataclass
class Erc20:
    decimals: int
    symbol: str
    bytes32_symbol: bool = False  # old tokens (MKR) return bytes32

    def call(self, sel: str, args: bytes) -> bytes | None:
        if sel == selector("decimals()") and not args:
            return word(self.decimals)
        if sel == selector("symbol()") and not args:
            return self.symbol.encode().ljust(32, b"\x00") if self.bytes32_symbol else abi_string(self.symbol)
        return None


@dataclass
class Pool:
    """Pool storage: ``ticks`` maps tickIdx -> (liquidityNet, liquidityGross) of initialised ticks."""

    token0: str
    token1: str
    fee: int
    spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: dict[int, tuple[int, int]]
    bitmap: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.ticks:
            assert t % self.spacing == 0
            comp = t // self.spacing
            self.bitmap[comp >> 8] = self.bitmap.get(comp >> 8, 0) | (1 << (comp % 256))

    def call(self, sel: str, args: bytes) -> bytes | None:
        simple = {
            "token0()": lambda: word(int(self.token0, 16)),
            "token1()": lambda: word(int(self.token1, 16)),
            "fee()": lambda: word(self.fee),
            "tickSpacing()": lambda: word(self.spacing),
            "liquidity()": lambda: word(self.liquidity),
            "slot0()": lambda: b"".join(word(v) for v in (self.sqrt_price_x96, self.tick, 7, 100, 100, 0, 1)),
        }
        for sig, f in simple.items():
            if sel == selector(sig):
                return f() if not args else None
        if sel == selector("tickBitmap(int16)"):
            w = arg_int(args, 16)
            return None if w is None else word(self.bitmap.get(w, 0))
        if sel == selector("ticks(int24)"):
            t = arg_int(args, 24)
            if t is None:
                return None
            net, gross = self.ticks.get(t, (0, 0))
            init = 1 if gross > 0 else 0
            # liquidityGross, liquidityNet, feeGrowthOutside0X128, feeGrowthOutside1X128, tickCumulativeOutside,
            # secondsPerLiquidityOutsideX128, secondsOutside, initialized
            return b"".join(word(v) for v in (gross, net, 3 << 100, 5 << 90, -123456789 * init, 77, 1700000000, init))
        return None


def synthetic_pool(seed: int = 7, tick: int = -1234, spacing: int = 10, fee: int = 500) -> Pool:
    """A few dozen initialised ticks from random positions over ticks chosen to hit bitmap-word boundaries
    (compressed ±256k, ±256k−1), negative ticks, both ends of the tick range and int128-sized liquidity."""
    rng = random.Random(seed)
    lo_end, hi_end = -887272 // spacing * spacing + spacing, 887272 // spacing * spacing
    special = [lo_end, hi_end, -spacing, 0, spacing, 255 * spacing, 256 * spacing, -256 * spacing,
               -257 * spacing, 511 * spacing, -512 * spacing, -513 * spacing]
    near = [(tick // spacing + k) * spacing for k in range(-40, 41, 3)]
    pairs = [(sp, rng.choice(near)) for sp in special]  # every special tick is initialised
    pairs += [tuple(rng.sample([*near, rng.randrange(-3000, 3000) * spacing], 2)) for _ in range(14)]
    ticks: dict[int, list[int]] = {}
    for i, (x, y) in enumerate(pairs):
        if x == y:
            continue
        a, b = min(x, y), max(x, y)
        big = i % 5 == 0
        liq = rng.randrange(1 << 118, 1 << 120) if big else rng.randrange(10**6, 10**20)
        for t, sgn in ((a, 1), (b, -1)):
            n, g = ticks.setdefault(t, [0, 0])
            ticks[t] = [n + sgn * liq, g + liq]
    sqrt_p = get_sqrt_ratio_at_tick(tick) + 12345678901234567
    cur = get_tick_at_sqrt_ratio(sqrt_p)
    liquidity = sum(n for t, (n, _) in ticks.items() if t <= cur)
    return Pool("0x" + "a0" * 20, "0x" + "c0" * 20, fee, spacing, sqrt_p, cur, liquidity,
                {t: (n, g) for t, (n, g) in ticks.items()})


POOL_ADDR = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"


def contracts_for(pool: Pool, sym0: str = "USDC", dec0: int = 6, sym1: str = "WETH", dec1: int = 18,
                  address: str = POOL_ADDR) -> dict[str, Any]:
    return {address: pool, pool.token0: Erc20(dec0, sym0), pool.token1: Erc20(dec1, sym1)}


@dataclass
class EthNode:
    chain: dict[int, dict[str, Any]]
    head: int
    batch_mode: str = "ok"  # ok | error (HTTP 200 error object) | http400
    advance_after: int | None = None
    http_faults: list[list[Any]] = field(default_factory=list)  # [status, times, headers]
    rpc_faults: list[list[Any]] = field(default_factory=list)  # [method or selector, error, times]
    requests: list[dict[str, Any]] = field(default_factory=list)  # path, query, headers, calls
    tags: list[str] = field(default_factory=list)
    eth_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def state(self, block: int) -> dict[str, Any]:
        return self.chain[max(b for b in self.chain if b <= block)]

    def _fault(self, key: str) -> dict[str, Any] | None:
        for f in self.rpc_faults:
            if f[0] == key and f[2] > 0:
                f[2] -= 1
                return f[1]
        return None

    def answer(self, req: Any) -> dict[str, Any]:
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or "id" not in req:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        rid, method, params = req["id"], req.get("method"), req.get("params", [])
        err = self._fault(method)
        if err is None and method == "eth_call":
            err = self._fault(str(params[0].get("data", ""))[2:10])
        if err is not None:
            return {"jsonrpc": "2.0", "id": rid, "error": err}
        if method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": rid, "result": hex(self.head)}
        if method != "eth_call":
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method {method} not found"}}
        tx, tag = params
        block = self.head if tag == "latest" else int(tag, 16)
        self.tags.append(tag)
        self.eth_calls += 1
        if self.advance_after is not None and self.eth_calls == self.advance_after:
            self.head += 1
        if block > self.head:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "header not found"}}
        data = bytes.fromhex(tx["data"][2:])
        contract = self.state(block).get(tx["to"].lower())
        if contract is None:
            return {"jsonrpc": "2.0", "id": rid, "result": "0x"}
        out = contract.call(data[:4].hex(), data[4:])
        if out is None:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "execution reverted"}}
        return {"jsonrpc": "2.0", "id": rid, "result": "0x" + out.hex()}

    def respond(self, path: str, query: dict[str, str], headers: dict[str, str],
                raw: bytes) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            body = json.loads(raw)
            n = len(body) if isinstance(body, list) else 1
            self.requests.append({"path": path, "query": query, "calls": n, "batch": isinstance(body, list)})
            for f in self.http_faults:
                if f[1] > 0:
                    f[1] -= 1
                    return f[0], f[2] if len(f) > 2 else {}, "rate limited" if f[0] == 429 else "upstream error"
            if isinstance(body, list):
                if self.batch_mode == "error":
                    return 200, {}, {"jsonrpc": "2.0", "id": None,
                                     "error": {"code": -32600, "message": "batch requests are not supported"}}
                if self.batch_mode == "http400":
                    return 400, {}, {"error": "batch requests are not supported"}
                return 200, {}, [self.answer(r) for r in reversed(body)]  # order is not guaranteed
            return 200, {}, self.answer(body)


@contextmanager
def serve(node: EthNode) -> Iterator[str]:
    with json_post_server(node.respond) as url:
        yield url
