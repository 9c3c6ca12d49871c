"""``basisctl data pool``: a Uniswap v3 pool snapshot (price, liquidity, every initialised tick) from your own
Ethereum JSON-RPC endpoint, written in the shared data layout (``liquidity/uniswap_v3/<name>.meta.json`` and
``<name>_ticks.csv``) so that the execution-cost commands can read it.

The RPC URL usually carries an API key: it is never printed or written, only its host.
Exit codes: 0 written, 2 bad options or a failed fetch (one line on stderr).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from basisctl.cli._common import console, err_console, fail, handle_errors, print_json
from basisctl.cli._defaults import RPC_DEFAULT_BATCH_SIZE, RPC_DEFAULT_POOL_NAME, RPC_ENV_URL, USDC_WETH_005_POOL

# light literals (pinned to basisctl.data.fetch.uniswap_rpc by a test): the fetch module is imported in the command
DEFAULT_BATCH_SIZE, DEFAULT_POOL_NAME, ENV_RPC_URL = RPC_DEFAULT_BATCH_SIZE, RPC_DEFAULT_POOL_NAME, RPC_ENV_URL

if TYPE_CHECKING:
    from basisctl.data.fetch.uniswap_rpc import PoolState

POOL_SUBDIR = Path("liquidity") / "uniswap_v3"


def default_root() -> Path:
    """The user's store (what the data locator searches last)."""
    from basisctl.data.locator import user_store

    return user_store()


def default_name(state: PoolState) -> str:
    """``USDC_WETH_0p05_mainnet`` for the shared pool, else ``<SYM0>_<SYM1>_<fee %>_<address prefix>``."""
    if state.pool_id == USDC_WETH_005_POOL:
        return DEFAULT_POOL_NAME
    fee_pct = f"{state.fee_pips / 10_000:g}".replace(".", "p")
    syms = [re.sub(r"[^A-Za-z0-9]", "", t.symbol) or "TOKEN" for t in (state.token0, state.token1)]
    return f"{syms[0]}_{syms[1]}_{fee_pct}_{state.pool_id[:10]}"


@handle_errors
def pool_cmd(
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            envvar=ENV_RPC_URL,
            show_envvar=True,
            show_default=False,
            help="Ethereum mainnet JSON-RPC URL (your node or provider; may hold an API key, which is never "
            "printed).",
        ),
    ] = None,
    pool: Annotated[str, typer.Option(help="Pool address (default: USDC/WETH 0.05 %).")] = USDC_WETH_005_POOL,
    out: Annotated[
        Path | None,
        typer.Option(help="Data root (as --data-dir); files go to OUT/liquidity/uniswap_v3/. Default: user store."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help=f"File stem (default {DEFAULT_POOL_NAME} for the default pool, else from the tokens)."),
    ] = None,
    block: Annotated[
        int | None, typer.Option(help="Read at this block (old blocks need an archive node). Default: the head.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="eth_call per JSON-RPC batch request.")] = DEFAULT_BATCH_SIZE,
    no_batch: Annotated[bool, typer.Option("--no-batch", help="Send one call per HTTP request.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Fetch a Uniswap v3 pool's state (slot0, liquidity, initialised ticks) at one block from your RPC URL."""
    from basisctl.data.fetch.uniswap_rpc import EthRpc, fetch_pool_state, normalise_address, write_pool_snapshot

    if not rpc_url:
        fail(f"no RPC URL: pass --rpc-url URL or set {ENV_RPC_URL} (an Ethereum mainnet JSON-RPC endpoint)")
    if batch_size < 1:
        fail(f"--batch-size must be >= 1 (got {batch_size})")
    if block is not None and block < 0:
        fail(f"--block must be >= 0 (got {block})")
    if name is not None and (not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name) or name.endswith(".meta")):
        fail(f"--name must be a plain file stem of letters, digits, _ . - (got {name!r})")
    pool = normalise_address(pool)
    out_dir = (out if out is not None else default_root()) / POOL_SUBDIR

    def warn(msg: str) -> None:
        err_console.print(f"[yellow]warning:[/] {msg}", highlight=False)

    rpc = EthRpc(rpc_url, batch_size=batch_size, batch=not no_batch, warn=warn)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err_console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(f"{rpc.host} {phase}", total=total)
                bar.update(tasks[phase], completed=done, total=total)

            state = fetch_pool_state(rpc, pool, block=block, progress=progress)
    finally:
        rpc.close()
    stem = name or default_name(state)
    meta_p, ticks_p = write_pool_snapshot(state, out_dir, stem, rpc.host)
    token0_per_token1 = 1.0 / (state.to_pool().raw_price() * 10.0 ** (state.token0.decimals - state.token1.decimals))
    summary = {
        "pool_id": state.pool_id,
        "block_number": state.block_number,
        "rpc_source": rpc.host,
        "token0": state.token0.symbol,
        "token1": state.token1.symbol,
        "fee_pips": state.fee_pips,
        "current_tick": state.tick,
        "price_token1_in_token0": token0_per_token1,
        "initialized_ticks": len(state.ticks),
        "calls": state.calls,
        "http_requests": rpc.http.requests,
        "meta": str(meta_p),
        "ticks": str(ticks_p),
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{state.token0.symbol}/{state.token1.symbol} {state.fee_pips / 10_000:g} % pool {state.pool_id} at block "
        f"{state.block_number} via {rpc.host}: tick {state.tick}, {len(state.ticks)} initialised ticks, "
        f"{state.calls} calls in {rpc.http.requests} HTTP requests\nwrote {meta_p} and {ticks_p}",
        highlight=False,
    )


def register(data_app: typer.Typer) -> None:
    data_app.command("pool")(pool_cmd)
