"""Perp-leg pricing: walk a Hyperliquid L2 book (the ``l2Book`` info response) for the impact price of a size.

Response shape (Hyperliquid Info endpoint, ``{"type": "l2Book", "coin": "ETH"}``)::

    {"coin": "ETH", "time": 1741300000000,
     "levels": [[{"px": "1982.9", "sz": "12.5", "n": 3}, ...],   # bids, best (highest) first
                [{"px": "1983.0", "sz": "8.1", "n": 2}, ...]]}   # asks, best (lowest) first

Costs are in bps of notional against the book mid ((best bid + best ask) / 2), taker fee included
(Hyperliquid base tier: taker 4.5 bps, maker 1.5 bps).

The offline example (:func:`synthetic_book_from_depth`) is a *synthetic* book: the depth snapshot only records
the USD value of the top 20 bid levels and the mid per coin/venue, so levels are rebuilt from that.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import DataCoverageError, DataValidationError, ModelDomainError, ValidationIssue

BookSide = Literal["buy", "sell"]

#: Hyperliquid base-tier perp fees [bps of notional].
HL_TAKER_FEE_BPS: float = 4.5
HL_MAKER_FEE_BPS: float = 1.5


@dataclass(frozen=True)
class PerpFees:
    """Venue fees [bps of notional]. Market (taker) orders pay ``taker_bps``."""

    taker_bps: float = HL_TAKER_FEE_BPS
    maker_bps: float = HL_MAKER_FEE_BPS


@dataclass(frozen=True)
class L2Book:
    """One L2 snapshot. Prices [USD per coin], sizes [coin]; bids descending, asks ascending."""

    coin: str
    time_ms: int
    bid_px: NDArray[np.float64]
    bid_sz: NDArray[np.float64]
    ask_px: NDArray[np.float64]
    ask_sz: NDArray[np.float64]
    source: str = ""

    @property
    def mid(self) -> float:
        return 0.5 * (float(self.bid_px[0]) + float(self.ask_px[0]))

    def depth_usd(self, side: BookSide) -> float:
        """USD value available to a taker on ``side`` (buy consumes asks, sell consumes bids)."""
        px, sz = (self.ask_px, self.ask_sz) if side == "buy" else (self.bid_px, self.bid_sz)
        return float(np.sum(px * sz))

    @classmethod
    def from_l2book(cls, obj: Any, source: str = "<l2Book>") -> L2Book:
        """Validate and parse an ``l2Book`` response object."""
        def bad(col: str | None, expected: str, got: object, row: int | None = None) -> DataValidationError:
            return DataValidationError(source, [ValidationIssue(row, col, expected, repr(got)[:80])])

        if not isinstance(obj, dict):
            raise bad(None, "a JSON object with coin, time, levels", type(obj).__name__)
        for key in ("coin", "time", "levels"):
            if key not in obj:
                raise bad(key, "a field of the l2Book response", "missing")
        levels = obj["levels"]
        if not isinstance(levels, list) or len(levels) != 2:
            raise bad("levels", "[[bids], [asks]]", levels)
        arrays: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        for side_i, (name, lv) in enumerate((("bids", levels[0]), ("asks", levels[1]))):
            if not isinstance(lv, list) or not lv:
                raise bad(f"levels[{side_i}]", f"a non-empty list of {name}", lv)
            px, sz = [], []
            for j, lev in enumerate(lv):
                try:
                    p, s = float(lev["px"]), float(lev["sz"])
                except (KeyError, TypeError, ValueError):
                    raise bad(f"levels[{side_i}][{j}]", 'an object {"px": str, "sz": str, "n": int}', lev,
                              j) from None
                if not (np.isfinite(p) and np.isfinite(s) and p > 0 and s > 0):
                    raise bad(f"levels[{side_i}][{j}]", "px > 0 and sz > 0", lev, j)
                px.append(p)
                sz.append(s)
            pa = np.array(px)
            if (side_i == 0 and np.any(np.diff(pa) >= 0)) or (side_i == 1 and np.any(np.diff(pa) <= 0)):
                raise bad(f"levels[{side_i}]", f"{name} strictly {'descending' if side_i == 0 else 'ascending'}"
                          " in px", px[:5])
            arrays.append((pa, np.array(sz)))
        (bp, bs), (ap, as_) = arrays
        if bp[0] >= ap[0]:
            raise bad("levels", "best bid < best ask (uncrossed book)", (float(bp[0]), float(ap[0])))
        try:
            t = int(obj["time"])
        except (TypeError, ValueError):
            raise bad("time", "epoch milliseconds", obj["time"]) from None
        return cls(str(obj["coin"]), t, bp, bs, ap, as_, source)

    @classmethod
    def from_file(cls, path: str | Path) -> L2Book:
        p = Path(path)
        try:
            obj = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise DataValidationError(str(p), [ValidationIssue(None, None, "valid JSON (an l2Book response)",
                                                               str(e))]) from None
        return cls.from_l2book(obj, str(p))


@dataclass(frozen=True)
class ImpactResult:
    """Taker walk of the book for one size.

    avg_px [USD/coin], impact_bps: |avg_px / mid − 1| signed as a cost [bps of notional], fee_bps, total_bps;
    filled_coin / filled_usd: what the book could absorb; complete: the whole size fitted in the book.
    """

    side: BookSide
    size_coin: float
    mid: float
    avg_px: float
    impact_bps: float
    fee_bps: float
    total_bps: float
    filled_coin: float
    levels_used: int
    complete: bool


def walk_book(book: L2Book, side: BookSide, size_coin: float, fees: PerpFees | None = None) -> ImpactResult:
    """Average execution price of a market order of ``size_coin`` [coin] on ``side`` ("buy" lifts asks)."""
    if side not in ("buy", "sell"):
        raise ModelDomainError(f"side must be 'buy' or 'sell' (got {side!r})")
    if not np.isfinite(size_coin) or size_coin <= 0:
        raise ModelDomainError(f"size must be > 0 (got {size_coin})")
    fees = fees or PerpFees()
    px, sz = (book.ask_px, book.ask_sz) if side == "buy" else (book.bid_px, book.bid_sz)
    cum = np.cumsum(sz)
    k = int(np.searchsorted(cum, size_coin, side="left"))
    complete = k < cum.size
    if complete:
        prev = cum[k - 1] if k > 0 else 0.0
        notional = float(np.sum(px[:k] * sz[:k]) + px[k] * (size_coin - prev))
        filled = size_coin
        used = k + 1
    else:
        notional = float(np.sum(px * sz))
        filled = float(cum[-1])
        used = int(cum.size)
    avg = notional / filled
    mid = book.mid
    impact = (avg / mid - 1.0) * 1e4 if side == "buy" else (1.0 - avg / mid) * 1e4
    total = impact + fees.taker_bps if complete else float("inf")
    return ImpactResult(side, float(size_coin), mid, avg, impact, fees.taker_bps, total, filled, used, complete)


def impact_cost_bps(book: L2Book, side: BookSide, notional_usd: ArrayLike,
                    fees: PerpFees | None = None) -> NDArray[np.float64]:
    """All-in taker cost [bps of notional] for USD notionals (converted to coin at the mid); inf beyond depth.

    Vectorised over sizes: the cost of the exact walk for each element.
    """
    fees = fees or PerpFees()
    q = np.atleast_1d(np.asarray(notional_usd, dtype=np.float64))
    if np.any(~np.isfinite(q)) or np.any(q < 0):
        raise ModelDomainError("notional_usd must be finite and >= 0")
    px, sz = (book.ask_px, book.ask_sz) if side == "buy" else (book.bid_px, book.bid_sz)
    mid = book.mid
    size = q / mid
    cum_sz = np.concatenate([[0.0], np.cumsum(sz)])
    cum_ntl = np.concatenate([[0.0], np.cumsum(px * sz)])
    k = np.clip(np.searchsorted(cum_sz, size, side="left") - 1, 0, px.size - 1)
    ntl = cum_ntl[k] + px[k] * (size - cum_sz[k])
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(size > 0, ntl / np.where(size > 0, size, 1.0), px[0])
    impact = (avg / mid - 1.0) * 1e4 if side == "buy" else (1.0 - avg / mid) * 1e4
    out = impact + fees.taker_bps
    return np.where(size <= cum_sz[-1], out, np.inf)


# ------------------------------------------------------------------------------------- offline snapshot
def load_depth_snapshot(path: str | Path) -> list[dict[str, object]]:
    """Rows of a top-20 bid-depth snapshot CSV: coin, venue, bid_depth_usd [USD], mid_price [USD/coin]. The data
    dir's snapshot is :func:`basisctl.data.snapshots.load_depth_snapshot`."""
    p = Path(path)
    rows: list[dict[str, object]] = []
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        for i, r in enumerate(reader):
            try:
                rows.append({"coin": r["coin"], "venue": r["venue"], "bid_depth_usd": float(r["bid_depth_usd"]),
                             "mid_price": float(r["mid_price"])})
            except (KeyError, ValueError) as e:
                raise DataValidationError(str(p), [ValidationIssue(i, None, "coin, venue, bid_depth_usd, mid_price",
                                                                   str(e))]) from None
    return rows


def synthetic_book_from_depth(coin: str, venue: str = "hyperliquid", levels: int = 20,
                              half_spread_bps: float = 0.5, level_step_bps: float = 1.0,
                              *, path: str | Path) -> L2Book:
    """A documented *synthetic* L2 book rebuilt from a top-20 bid-depth snapshot (the data dir's, ≈ 2026-03-07,
    through :func:`basisctl.data.snapshots.synthetic_book_from_depth`).

    Assumptions (the snapshot holds only total USD bid depth of 20 levels and the mid):
    ``levels`` levels per side at mid·(1 ∓ (half_spread + j·level_step)) [bps], j = 0..levels−1, equal USD
    per level (depth / levels), asks mirror the bids. Nothing beyond the 20th level: larger orders are
    reported as unfillable (infinite cost), which makes capacity estimates from this book conservative.
    """
    rows = [r for r in load_depth_snapshot(path) if str(r["coin"]).upper() == coin.upper()
            and str(r["venue"]).lower() == venue.lower()]
    if not rows:
        raise DataCoverageError(f"no order-book depth in the snapshot for {coin.upper()} on {venue} "
                                "(it has: BTC, ETH, SOL, HYPE, DOGE); pass --book-file L2BOOK_JSON")
    depth, mid = float(rows[0]["bid_depth_usd"]), float(rows[0]["mid_price"])  # type: ignore[arg-type]
    j = np.arange(levels, dtype=np.float64)
    off = (half_spread_bps + j * level_step_bps) * 1e-4
    bid_px, ask_px = mid * (1.0 - off), mid * (1.0 + off)
    per = depth / levels
    return L2Book(coin.upper(), 0, bid_px, per / bid_px, ask_px, per / ask_px,
                  source=f"synthetic from {venue} top-{levels} bid depth ${depth:,.0f} @ mid {mid} "
                         "(bid_depth_snapshot_2026-03.csv; asks mirrored, equal USD per level, "
                         f"{level_step_bps} bp steps)")
