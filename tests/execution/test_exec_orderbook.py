"""Perp-leg pricing on an L2 book: hand-computed walks, depth limits, validation, synthetic offline book."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.data.snapshots import load_depth_snapshot, synthetic_book_from_depth
from basisctl.errors import DataCoverageError, DataValidationError
from basisctl.execution.orderbook import (
    L2Book,
    PerpFees,
    impact_cost_bps,
    walk_book,
)

BOOK = {
    "coin": "ETH",
    "time": 1741300000000,
    "levels": [
        [{"px": "99.0", "sz": "2", "n": 1}, {"px": "98.0", "sz": "3", "n": 2}],
        [{"px": "100.0", "sz": "1", "n": 1}, {"px": "101.0", "sz": "1", "n": 1}, {"px": "103.0", "sz": "5", "n": 3}],
    ],
}


def test_walk_hand_computed() -> None:
    book = L2Book.from_l2book(BOOK)
    assert book.mid == 99.5
    r = walk_book(book, "buy", 1.5)
    avg = (100.0 * 1 + 101.0 * 0.5) / 1.5
    assert r.avg_px == pytest.approx(avg, rel=1e-15)
    assert r.impact_bps == pytest.approx((avg / 99.5 - 1) * 1e4, rel=1e-12)
    assert r.total_bps == pytest.approx(r.impact_bps + 4.5, rel=1e-12)
    assert r.levels_used == 2 and r.complete
    s = walk_book(book, "sell", 4.0, PerpFees(taker_bps=2.0))
    avg_s = (99.0 * 2 + 98.0 * 2) / 4.0
    assert s.impact_bps == pytest.approx((1 - avg_s / 99.5) * 1e4, rel=1e-12)
    assert s.total_bps == pytest.approx(s.impact_bps + 2.0, rel=1e-12)


def test_beyond_depth_is_unfillable() -> None:
    book = L2Book.from_l2book(BOOK)
    r = walk_book(book, "sell", 6.0)
    assert not r.complete and r.filled_coin == 5.0 and r.total_bps == float("inf")
    assert np.isinf(impact_cost_bps(book, "sell", [6.0 * 99.5])[0])


def test_vectorised_equals_walk() -> None:
    book = L2Book.from_l2book(BOOK)
    q = np.array([10.0, 99.5, 150.0, 400.0, 690.0])
    for side in ("buy", "sell"):
        vec = impact_cost_bps(book, side, q)
        for qi, v in zip(q, vec, strict=True):
            w = walk_book(book, side, qi / book.mid)
            assert v == pytest.approx(w.total_bps, rel=1e-12) if w.complete else np.isinf(v)


@given(st.lists(st.floats(min_value=1.0, max_value=700.0), min_size=2, max_size=20))
@settings(max_examples=50, deadline=None)
def test_cost_non_decreasing_in_size(sizes: list[float]) -> None:
    book = L2Book.from_l2book(BOOK)
    q = np.sort(np.array(sizes))
    for side in ("buy", "sell"):
        c = impact_cost_bps(book, side, q)
        assert np.all(np.diff(c[np.isfinite(c)]) >= -1e-9)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda b: b.pop("levels"), "column 'levels'"),
        (lambda b: b["levels"][1].__setitem__(1, {"px": "abc", "sz": "1", "n": 1}), "row 1, column 'levels[1][1]'"),
        (lambda b: b["levels"][0].__setitem__(1, {"px": "99.5", "sz": "1", "n": 1}), "column 'levels[0]'"),
        (lambda b: b["levels"].__setitem__(0, [{"px": "100.0", "sz": "1", "n": 1}]), "uncrossed"),
    ],
)
def test_bad_books_name_the_field(tmp_path, mutate, where: str) -> None:  # type: ignore[no-untyped-def]
    b = json.loads(json.dumps(BOOK))
    mutate(b)
    p = tmp_path / "book.json"
    p.write_text(json.dumps(b))
    with pytest.raises(DataValidationError, match=r"book\.json") as e:
        L2Book.from_file(p)
    assert where in str(e.value)


@pytest.mark.needs_data
def test_synthetic_book_reproduces_the_snapshot() -> None:
    rows = {(r["coin"], r["venue"]): r for r in load_depth_snapshot()}
    for coin in ("BTC", "ETH", "DOGE"):
        book = synthetic_book_from_depth(coin)
        snap = rows[(coin, "hyperliquid")]
        assert book.depth_usd("sell") == pytest.approx(snap["bid_depth_usd"], rel=1e-12)
        assert book.mid == pytest.approx(snap["mid_price"], rel=1e-12)
        assert book.bid_px.size == 20 and "synthetic" in book.source
    with pytest.raises(DataCoverageError, match="--book-file"):
        synthetic_book_from_depth("LINK")
