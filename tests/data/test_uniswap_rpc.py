"""Uniswap v3 pool state over JSON-RPC against a simulated node on 127.0.0.1 (``tests/data/eth_node.py``).

References are independent of the client: selectors are keccak-256 of the signatures (pycryptodome), the node
decodes calldata and encodes results itself, word ranges and bitmap positions are hand-computed, and swap quotes
on the fetched files are compared with quotes on a pool built directly from the node's state.
"""

from __future__ import annotations

import json
import math
import os
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from Crypto.Hash import keccak
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data.fetch import uniswap_rpc as ur
from basisctl.data.fetch.http import RetryPolicy
from basisctl.data.fetch.uniswap_rpc import EthRpc, RpcError, fetch_pool_state, write_pool_snapshot
from basisctl.execution.uniswap_v3 import Token, V3Pool, get_sqrt_ratio_at_tick, load_pool_snapshot
from tests.datadir import require
from tests.localhttp import json_post_server

from .eth_node import POOL_ADDR, Erc20, EthNode, Pool, contracts_for, serve, synthetic_pool

SECRET = "k3y-SECRET-0123456789abcdef"
NO_JITTER = RetryPolicy(max_retries=3, backoff_base_s=0.5, backoff_max_s=4.0, jitter=0.0)
DATA_DIR = Path(os.environ.get("BASISCTL_DATA_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data")
SHARED_META = DATA_DIR / "liquidity" / "uniswap_v3" / "USDC_WETH_0p05_mainnet.meta.json"
#: eth_blockNumber + 6 pool calls + 4 token calls, before the bitmap and the ticks.
HEADER_CALLS = 1 + 6 + 4


def rows(pool: Pool) -> list[tuple[int, int, int]]:
    return sorted((t, n, g) for t, (n, g) in pool.ticks.items())


def direct(pool: Pool) -> V3Pool:
    """The swap simulator built straight from the node's state (no RPC, no files)."""
    ts = sorted(pool.ticks)
    return V3Pool(pool.sqrt_price_x96, pool.tick, pool.liquidity, pool.fee, pool.spacing, ts,
                  {t: pool.ticks[t][0] for t in ts}, Token("USDC", 6), Token("WETH", 18))


def client(url: str, sleeps: list[float] | None = None, warnings: list[str] | None = None, **kw) -> EthRpc:
    return EthRpc(url, retry=NO_JITTER, sleep=(sleeps if sleeps is not None else []).append,
                  warn=(warnings if warnings is not None else []).append, **kw)


# ------------------------------------------------------------------------------------------------ ABI
@pytest.mark.parametrize("signature", sorted(ur.SIGNATURES))
def test_selector_is_keccak_of_signature(signature: str) -> None:
    h = keccak.new(digest_bits=256)
    h.update(signature.encode())
    assert ur.SIGNATURES[signature] == h.hexdigest()[:8]


def test_encode_signed_arguments_twos_complement() -> None:
    assert ur.encode_call(ur.SEL_TICK_BITMAP, (-1, 16, True)) == "0x5339c296" + "f" * 64
    assert ur.encode_call(ur.SEL_TICK_BITMAP, (-347, 16, True)) == "0x5339c296" + "f" * 60 + "fea5"  # 2^16-347
    assert ur.encode_call(ur.SEL_TICKS, (-887270, 24, True)) == "0xf30dba93" + "f" * 58 + "f2761a"  # 2^24-887270
    assert ur.encode_call(ur.SEL_TICKS, (887270, 24, True)) == "0xf30dba93" + "0" * 58 + "0d89e6"
    with pytest.raises(ValueError):
        ur.encode_call(ur.SEL_TICK_BITMAP, (1 << 15, 16, True))


def test_decode_int128_uint_and_rejects_dirty_words() -> None:
    lo, hi = -(1 << 127), (1 << 127) - 1
    assert ur.as_int((1 << 256) + lo, 128, "x") == lo
    assert ur.as_int(hi, 128, "x") == hi
    assert ur.as_int((1 << 256) - 1, 24, "x") == -1
    with pytest.raises(RpcError, match="not a sign-extended int128"):
        ur.as_int(1 << 127, 128, "x")  # +2^127 is not an int128
    with pytest.raises(RpcError, match="uint8"):
        ur.as_uint(256, 8, "decimals")
    assert ur.decode_words("0x" + "00" * 31 + "06" + "ff" * 32, 2, "x") == [6, (1 << 256) - 1]
    with pytest.raises(RpcError, match="empty result 0x"):
        ur.decode_words("0x", 1, "eth_call token0()")


def test_decode_string_abi_and_bytes32() -> None:
    abi = "0x" + f"{32:064x}" + f"{4:064x}" + b"USDC".hex().ljust(64, "0")
    assert ur.decode_string(abi, "symbol()") == "USDC"
    assert ur.decode_string("0x" + b"MKR".hex().ljust(64, "0"), "symbol()") == "MKR"
    with pytest.raises(RpcError, match="length 99"):
        ur.decode_string("0x" + f"{32:064x}" + f"{99:064x}" + "00" * 32, "symbol()")


@pytest.mark.parametrize(("spacing", "first", "last"), [(10, -347, 346), (60, -58, 57), (1, -3466, 3465),
                                                       (200, -18, 17)])
def test_word_range_by_hand(spacing: int, first: int, last: int) -> None:
    # spacing 10: floor(-887272/10) = -88728, floor(-88728/256) = -347; 88727 // 256 = 346
    r = ur.word_range(spacing)
    assert (r[0], r[-1], len(r)) == (first, last, last - first + 1)


def test_bitmap_positions_by_hand() -> None:
    assert ur.bitmap_ticks(-1, 1 << 255, 10) == [-10]
    assert ur.bitmap_ticks(-1, 1, 10) == [-2560]
    assert ur.bitmap_ticks(-2, 1 << 255, 10) == [-2570]
    assert ur.bitmap_ticks(0, (1 << 255) | 1, 10) == [0, 2550]
    assert ur.bitmap_ticks(-347, 1 << 105, 10) == [-887270]  # (-347*256 + 105)*10 = -88727*10
    assert ur.bitmap_ticks(346, 1 << 151, 10) == [887270]  # (346*256 + 151)*10


def test_rpc_host_strips_key() -> None:
    assert ur.rpc_host(f"https://eth-mainnet.g.alchemy.com/v2/{SECRET}") == "eth-mainnet.g.alchemy.com"
    assert ur.rpc_host(f"https://user:{SECRET}@node.example:8545/?apikey={SECRET}") == "node.example:8545"


# ------------------------------------------------------------------------------------------------ fetch
def test_fetch_synthetic_pool_exact_batched() -> None:
    pool = synthetic_pool()
    node = EthNode({100: contracts_for(pool)}, head=100)
    with serve(node) as url, client(f"{url}/v2/{SECRET}?apikey={SECRET}", batch_size=100) as rpc:
        st = fetch_pool_state(rpc, POOL_ADDR.upper().replace("0X", "0x"))
        http_requests = rpc.http.requests
    assert st.ticks == rows(pool)  # int128 negatives, negative ticks, word boundaries, both range ends
    assert (st.sqrt_price_x96, st.tick, st.liquidity, st.fee_pips, st.tick_spacing) == (
        pool.sqrt_price_x96, pool.tick, pool.liquidity, 500, 10)
    assert (st.token0.symbol, st.token0.decimals, st.token0.address) == ("USDC", 6, pool.token0)
    assert (st.token1.symbol, st.token1.decimals, st.token1.address) == ("WETH", 18, pool.token1)
    assert st.block_number == 100 and set(node.tags) == {"0x64"}
    n = len(pool.ticks)
    assert st.calls == HEADER_CALLS + 694 + n
    # blockNumber, head batch, token batch, ceil(694/100) word batches, ceil(n/100) tick batches
    assert http_requests == 3 + 7 + math.ceil(n / 100) == len(node.requests)
    assert {r["path"] for r in node.requests} == {f"/v2/{SECRET}"}  # the key reaches the node (and only it)
    assert any(t < 0 and net < 0 for t, net, _ in st.ticks)
    assert max(abs(net) for _, net, _ in st.ticks) >= 1 << 118


def test_pins_one_block_while_the_chain_moves() -> None:
    a = synthetic_pool(seed=1)
    b = synthetic_pool(seed=2, tick=500)  # a different state from block 101 on
    node = EthNode({100: contracts_for(a), 101: contracts_for(b)}, head=100, advance_after=1)
    with serve(node) as url, client(url, batch_size=50) as rpc:
        st = fetch_pool_state(rpc)
    assert node.head == 101  # the chain moved during the scan
    assert set(node.tags) == {"0x64"} and st.block_number == 100
    assert st.ticks == rows(a) and st.tick == a.tick


def test_explicit_block() -> None:
    a, b = synthetic_pool(seed=1), synthetic_pool(seed=2, tick=500)
    node = EthNode({100: contracts_for(a), 101: contracts_for(b)}, head=101)
    with serve(node) as url, client(url) as rpc:
        st = fetch_pool_state(rpc, block=100)
    assert st.ticks == rows(a) and set(node.tags) == {"0x64"}
    assert not any(r["query"] for r in node.requests)


@pytest.mark.parametrize("mode", ["error", "http400"])
def test_batch_rejected_falls_back_to_single_calls(mode: str) -> None:
    pool = synthetic_pool(seed=3)
    node = EthNode({7: contracts_for(pool)}, head=7, batch_mode=mode)
    warnings: list[str] = []
    with serve(node) as url, client(f"{url}/{SECRET}", warnings=warnings) as rpc:
        st = fetch_pool_state(rpc)
    assert st.ticks == rows(pool)
    assert len(warnings) == 1 and "one at a time" in warnings[0] and SECRET not in warnings[0]
    batches = [r for r in node.requests if r["batch"]]
    assert len(batches) == 1  # only the first batch was tried
    assert len(node.requests) == 2 + HEADER_CALLS + 694 + len(pool.ticks) - 1


def test_no_batch_client_sends_single_calls() -> None:
    pool = synthetic_pool(seed=4)
    node = EthNode({7: contracts_for(pool)}, head=7)
    with serve(node) as url, client(url, batch=False) as rpc:
        st = fetch_pool_state(rpc)
    assert st.ticks == rows(pool)
    assert not any(r["batch"] for r in node.requests)
    assert len(node.requests) == HEADER_CALLS + 694 + len(pool.ticks)


def test_http_429_then_success() -> None:
    pool = synthetic_pool()
    node = EthNode({5: contracts_for(pool)}, head=5, http_faults=[[429, 2, {"Retry-After": "3"}]])
    sleeps: list[float] = []
    with serve(node) as url, client(url, sleeps=sleeps) as rpc:
        st = fetch_pool_state(rpc)
    assert st.ticks == rows(pool) and sleeps == [3.0, 3.0]


def test_http_5xx_backoff_then_success() -> None:
    pool = synthetic_pool()
    node = EthNode({5: contracts_for(pool)}, head=5, http_faults=[[502, 2]])
    sleeps: list[float] = []
    with serve(node) as url, client(url, sleeps=sleeps) as rpc:
        st = fetch_pool_state(rpc)
    assert st.ticks == rows(pool) and sleeps == [0.5, 1.0]


def test_http_retries_exhausted_name_host_not_key() -> None:
    node = EthNode({5: contracts_for(synthetic_pool())}, head=5, http_faults=[[503, 99]])
    with serve(node) as url, client(f"{url}/v3/{SECRET}") as rpc, pytest.raises(RpcError) as ei:
        fetch_pool_state(rpc)
    msg = str(ei.value)
    assert "eth_blockNumber via 127.0.0.1:" in msg and "HTTP 503" in msg and "after 4 attempts" in msg
    assert SECRET not in msg


def test_connection_refused_names_host_not_key() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    with client(f"http://u:{SECRET}@127.0.0.1:{port}/v2/{SECRET}?k={SECRET}", sleeps=sleeps) as rpc, \
            pytest.raises(RpcError) as ei:
        fetch_pool_state(rpc)
    msg = str(ei.value)
    assert f"eth_blockNumber via 127.0.0.1:{port}" in msg and "connection refused" in msg and SECRET not in msg
    assert sleeps == []  # issue 20: an unreachable node is not retried (it used to be, 3 times)


def test_http_401_bad_key_is_not_retried_and_redacted() -> None:
    def deny(path: str, query: dict, headers: dict, raw: bytes) -> tuple[int, dict, object]:
        return 401, {}, {"jsonrpc": "2.0", "id": 1, "error": {"code": -32600, "message": f"invalid key {SECRET}"}}

    sleeps: list[float] = []
    with json_post_server(deny) as url, client(f"{url}/v2/{SECRET}", sleeps=sleeps) as rpc, \
            pytest.raises(RpcError) as ei:
        fetch_pool_state(rpc)
    assert "HTTP 401" in str(ei.value) and SECRET not in str(ei.value) and sleeps == []


def test_jsonrpc_rate_limit_errors_are_retried() -> None:
    pool = synthetic_pool()
    limit = {"code": -32005, "message": "daily request count exceeded, request rate limited"}
    node = EthNode({5: contracts_for(pool)}, head=5,
                   rpc_faults=[["eth_blockNumber", limit, 1], [ur.SEL_TICKS, limit, 2]])
    sleeps: list[float] = []
    with serve(node) as url, client(url, sleeps=sleeps) as rpc:
        st = fetch_pool_state(rpc)
    assert st.ticks == rows(pool)
    assert sleeps == [0.5]  # blockNumber retried once; the two rate-limited batch items were re-asked singly


def test_jsonrpc_error_is_one_clear_error() -> None:
    node = EthNode({5: contracts_for(synthetic_pool())}, head=5,
                   rpc_faults=[[ur.SEL_SLOT0, {"code": -32000, "message": "execution reverted"}, 99]])
    with serve(node) as url, client(f"{url}/rpc?key={SECRET}") as rpc, pytest.raises(RpcError) as ei:
        fetch_pool_state(rpc)
    msg = str(ei.value)
    assert msg.startswith(f"eth_call slot0() on pool {POOL_ADDR} at block 5 via 127.0.0.1:")
    assert msg.endswith("JSON-RPC error -32000: execution reverted") and SECRET not in msg and "\n" not in msg


def test_wrong_address_empty_result() -> None:
    node = EthNode({5: contracts_for(synthetic_pool())}, head=5)
    other = "0x" + "12" * 20
    with serve(node) as url, client(url) as rpc, pytest.raises(RpcError) as ei:
        fetch_pool_state(rpc, other)
    assert f"eth_call token0() on pool {other} at block 5 via 127.0.0.1:" in str(ei.value)
    assert "empty result 0x" in str(ei.value)


def test_not_a_pool_contract_reverts() -> None:
    node = EthNode({5: {**contracts_for(synthetic_pool()), "0x" + "34" * 20: Erc20(18, "DAI")}}, head=5)
    with serve(node) as url, client(url) as rpc, pytest.raises(RpcError, match=r"token0\(\).*execution reverted"):
        fetch_pool_state(rpc, "0x" + "34" * 20)


def test_bad_address_and_url() -> None:
    with pytest.raises(RpcError, match="40 hex digits"):
        ur.normalise_address("0x1234")
    with pytest.raises(RpcError, match="scheme 'wss'"):
        EthRpc("wss://node.example/ws")


def test_inconsistent_liquidity_is_rejected() -> None:
    pool = synthetic_pool()
    pool.liquidity += 1  # as if liquidity() were read at another block than the ticks
    node = EthNode({5: contracts_for(pool)}, head=5)
    with serve(node) as url, client(url) as rpc, pytest.raises(RpcError, match="did not answer from one block"):
        fetch_pool_state(rpc)


def test_price_on_a_tick_after_a_downward_swap_warns() -> None:
    pool = synthetic_pool()
    t = max(x for x in pool.ticks if x <= pool.tick)  # cross the initialised tick t downwards, stop exactly on it
    pool.sqrt_price_x96, pool.tick = get_sqrt_ratio_at_tick(t), t - 1
    pool.liquidity -= pool.ticks[t][0]
    node = EthNode({5: contracts_for(pool)}, head=5)
    warnings: list[str] = []
    with serve(node) as url, client(url, warnings=warnings) as rpc:
        st = fetch_pool_state(rpc)
    assert st.tick == t - 1 and st.liquidity == pool.liquidity
    assert len(warnings) == 1 and "one below the tick of sqrtPriceX96" in warnings[0]
    pool.tick = t - 2
    node = EthNode({5: contracts_for(pool)}, head=5)
    with serve(node) as url, client(url) as rpc, pytest.raises(RpcError, match="does not match sqrtPriceX96"):
        fetch_pool_state(rpc)


def test_bytes32_symbol_token() -> None:
    pool = synthetic_pool()
    c = contracts_for(pool)
    c[pool.token1] = Erc20(18, "MKR", bytes32_symbol=True)
    node = EthNode({5: c}, head=5)
    with serve(node) as url, client(url) as rpc:
        assert fetch_pool_state(rpc).token1.symbol == "MKR"


# ------------------------------------------------------------------------------------------------ files
def test_written_files_read_back_and_quote_equal(tmp_path: Path) -> None:
    pool = synthetic_pool()
    node = EthNode({100: contracts_for(pool)}, head=100)
    with serve(node) as url, client(url) as rpc:
        st = fetch_pool_state(rpc)
    meta_p, ticks_p = write_pool_snapshot(st, tmp_path, "SYN", "127.0.0.1")
    assert (meta_p.name, ticks_p.name) == ("SYN.meta.json", "SYN_ticks.csv")
    text = ticks_p.read_text().splitlines()
    assert text[0] == "tickIdx,liquidityNet,liquidityGross"
    assert [tuple(int(x) for x in line.split(",")) for line in text[1:]] == rows(pool)  # exact integers
    meta = json.loads(meta_p.read_text())
    shared_keys = ["pool_id", "feeTier", "currentTick", "liquidity", "sqrtPriceX96", "token0", "token1"]
    assert list(meta) == [*shared_keys, "tickSpacing", "block_number", "fetched_at", "rpc_source"]
    assert meta["token0"] == {"decimals": "6", "id": pool.token0, "symbol": "USDC"}
    assert meta["liquidity"] == pool.liquidity and meta["sqrtPriceX96"] == pool.sqrt_price_x96
    assert meta["block_number"] == 100 and meta["rpc_source"] == "127.0.0.1" and meta["fetched_at"].endswith("Z")
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temp files

    loaded = load_pool_snapshot(meta_p)  # the execution-cost reader
    ref = direct(pool)
    assert loaded.ticks == ref.ticks and loaded.liquidity_net == ref.liquidity_net
    crossed = 0
    for zfo, amt in [(True, 10**6), (True, 10**30), (False, 10**15), (False, 10**40), (True, 1), (False, 7)]:
        got, want = loaded.swap_exact_in(zfo, amt), ref.swap_exact_in(zfo, amt)
        assert got == want
        crossed = max(crossed, got.ticks_crossed)
    assert crossed >= 5  # the large swaps walk through many fetched ticks
    assert loaded.swap_exact_out(False, 10**6) == ref.swap_exact_out(False, 10**6)


def _shared_pool() -> Pool:
    """The shared USDC/WETH snapshot as node state: real ticks read in place (exact integers of the CSV values;
    only liquidityGross > 0), real price; liquidity() = the cumulative liquidityNet up to the current tick, as on
    chain (the meta's figure differs in the last digits because the source stored float64)."""
    meta = json.loads(SHARED_META.read_text())
    ticks: dict[int, tuple[int, int]] = {}
    for line in SHARED_META.with_name("USDC_WETH_0p05_mainnet_ticks.csv").read_text().splitlines()[1:]:
        t, n, g = (int(Decimal(x)) for x in line.split(","))
        if g > 0:
            ticks[t] = (n, g)
    tick = int(meta["currentTick"])
    liq = sum(n for t, (n, _) in ticks.items() if t <= tick)
    return Pool(meta["token0"]["id"], meta["token1"]["id"], 500, 10, int(meta["sqrtPriceX96"]), tick, liq, ticks)


def test_shared_pool_round_trip_and_call_count(tmp_path: Path) -> None:
    require(SHARED_META if SHARED_META.is_file() else None, f"the shared pool snapshot {SHARED_META.name}")
    pool = _shared_pool()
    assert get_sqrt_ratio_at_tick(pool.tick) <= pool.sqrt_price_x96 < get_sqrt_ratio_at_tick(pool.tick + 1)
    node = EthNode({21_000_000: contracts_for(pool)}, head=21_000_000)
    with serve(node) as url, client(url) as rpc:
        st = fetch_pool_state(rpc)
        http_requests = rpc.http.requests
    assert st.ticks == rows(pool)
    n = len(pool.ticks)
    assert st.calls == HEADER_CALLS + 694 + n
    assert http_requests == 3 + 7 + math.ceil(n / 100)
    meta_p, _ = write_pool_snapshot(st, tmp_path, "USDC_WETH_0p05_mainnet", "127.0.0.1")
    loaded, ref = load_pool_snapshot(meta_p), direct(pool)
    for zfo, amt in [(True, 10**12), (False, 10**21), (True, 5 * 10**13)]:  # 1M USDC, 1000 WETH, 50M USDC
        assert loaded.swap_exact_in(zfo, amt) == ref.swap_exact_in(zfo, amt)


# ------------------------------------------------------------------------------------------------ CLI
runner = CliRunner()


def test_cli_writes_files_and_never_prints_the_key(tmp_path: Path) -> None:
    pool = synthetic_pool()
    node = EthNode({100: contracts_for(pool)}, head=100)
    with serve(node) as url:
        rpc_url = f"{url}/v2/{SECRET}?apikey={SECRET}"
        r = runner.invoke(app, ["data", "pool", "--rpc-url", rpc_url, "--out", str(tmp_path), "--json"])
        r2 = runner.invoke(app, ["data", "pool", "--out", str(tmp_path), "--name", "envrun", "--batch-size", "7"],
                           env={ur.ENV_RPC_URL: rpc_url, "COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output and SECRET not in r2.output
    out = json.loads(r.stdout)
    d = tmp_path / "liquidity" / "uniswap_v3"
    assert out["meta"] == str(d / "USDC_WETH_0p05_mainnet.meta.json") and out["block_number"] == 100
    assert out["initialized_ticks"] == len(pool.ticks) and out["rpc_source"] == out["rpc_source"].split("/")[0]
    assert SECRET not in (d / "USDC_WETH_0p05_mainnet.meta.json").read_text()
    assert r2.exit_code == 0, r2.output
    assert "127.0.0.1" in r2.output and (d / "envrun_ticks.csv").read_text() == \
        (d / "USDC_WETH_0p05_mainnet_ticks.csv").read_text()


def test_cli_errors_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["data", "pool", "--out", str(tmp_path)], env={ur.ENV_RPC_URL: ""})
    assert r.exit_code == 2 and "no RPC URL" in r.output and ur.ENV_RPC_URL in r.output
    node = EthNode({5: contracts_for(synthetic_pool())}, head=5)
    with serve(node) as url:
        r = runner.invoke(app, ["data", "pool", "--rpc-url", f"{url}/{SECRET}", "--pool", "0x" + "12" * 20,
                                "--out", str(tmp_path)], env={"COLUMNS": "400"})
    assert r.exit_code == 2
    assert "empty result 0x" in r.output and "token0()" in r.output and SECRET not in r.output
    assert not (tmp_path / "liquidity").exists()


def test_cli_output_is_found_by_the_data_locator(tmp_path: Path) -> None:
    from basisctl.data import locator
    pool = synthetic_pool()
    node = EthNode({100: contracts_for(pool)}, head=100)
    with serve(node) as url:
        r = runner.invoke(app, ["data", "pool", "--rpc-url", url, "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    locator.set_data_dir(tmp_path)
    try:
        meta = locator.pool_snapshot_path("ETH")
    finally:
        locator.set_data_dir(None)
    assert meta == tmp_path / "liquidity" / "uniswap_v3" / "USDC_WETH_0p05_mainnet.meta.json"
    assert load_pool_snapshot(meta).swap_exact_in(True, 10**9) == direct(pool).swap_exact_in(True, 10**9)
