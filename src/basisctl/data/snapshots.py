"""The data dir's execution snapshots (Uniswap v3 pool state, Hyperliquid top-20 bid depth) parsed into the
types of :mod:`basisctl.execution`: the data layer finds the files, execution receives paths and never reads the
locator."""

from __future__ import annotations

from pathlib import Path

from basisctl.data.locator import depth_snapshot_path, pool_snapshot_path
from basisctl.execution import orderbook
from basisctl.execution.orderbook import L2Book
from basisctl.execution.uniswap_v3 import V3Pool, load_pool_snapshot


def default_pool(asset: str) -> V3Pool:
    """The Uniswap v3 pool snapshot for ``asset`` in the data dirs (known: ETH = USDC/WETH 0.05 %, mainnet)."""
    return load_pool_snapshot(pool_snapshot_path(asset))


def load_depth_snapshot(path: str | Path | None = None) -> list[dict[str, object]]:
    """Rows of the top-20 bid-depth snapshot (``path``, else the data dir's): coin, venue, bid_depth_usd [USD],
    mid_price [USD/coin]."""
    return orderbook.load_depth_snapshot(path if path is not None else depth_snapshot_path())


def synthetic_book_from_depth(coin: str, venue: str = "hyperliquid", levels: int = 20,
                              half_spread_bps: float = 0.5, level_step_bps: float = 1.0,
                              path: str | Path | None = None) -> L2Book:
    """:func:`basisctl.execution.orderbook.synthetic_book_from_depth` on ``path``, else the data dir's snapshot."""
    return orderbook.synthetic_book_from_depth(coin, venue, levels, half_spread_bps, level_step_bps,
                                               path=path if path is not None else depth_snapshot_path())
