"""Reconciliation verdicts as named scenarios (pure functions, no I/O)."""

from __future__ import annotations

import pytest

from basisctl.live.reconcile import (
    UnhedgedTracker,
    Verdict,
    hedge_repair,
    new_fills,
    position_mismatches,
    resolve_order,
    resolve_transfer,
)
from basisctl.live.venue import Fill, OrderState, OrderStatus, Transfer, VenueState

INTENT = {"cloid": "0x01", "expires_at_ms": 1_000, "market": "spot"}


def _state(spot: float, perp: float, px: float = 100.0) -> VenueState:
    return VenueState(0, px, px, px, spot, 0.0, perp, 1000.0, 40.0)


def test_crash_before_send_is_absent_only_after_expiry() -> None:
    assert resolve_order(INTENT, None, venue_now_ms=999).verdict is Verdict.WAIT
    assert resolve_order(INTENT, None, venue_now_ms=1_000).verdict is Verdict.WAIT
    assert resolve_order(INTENT, None, venue_now_ms=1_001).verdict is Verdict.ABSENT


def test_crash_after_fill_recovers_the_fill() -> None:
    r = resolve_order(INTENT, OrderStatus("0x01", OrderState.FILLED, 0.5, 101.0), 5)
    assert (r.verdict, r.filled_size, r.avg_px) == (Verdict.FILLED, 0.5, 101.0)


def test_partial_fill_then_ioc_cancel() -> None:
    r = resolve_order(INTENT, OrderStatus("0x01", OrderState.CANCELED, 0.2, 99.0, "partial"), 5)
    assert r.verdict is Verdict.PARTIAL and r.filled_size == 0.2


def test_ioc_without_match_is_absent() -> None:
    assert resolve_order(INTENT, OrderStatus("0x01", OrderState.CANCELED, 0.0, 0.0), 5).verdict is Verdict.ABSENT


def test_resting_order_must_be_cancelled_first() -> None:
    r = resolve_order(INTENT, OrderStatus("0x01", OrderState.OPEN, 0.1, 100.0), 5)
    assert r.verdict is Verdict.CANCEL and not r.final


def test_rejected_order() -> None:
    assert (
        resolve_order(INTENT, OrderStatus("0x01", OrderState.REJECTED, 0, 0, "margin"), 5).verdict is Verdict.REJECTED
    )


TR = {"nonce": 77, "amount_usd": 500.0, "to_perp": True, "created_ms": 10_000, "expires_at_ms": 20_000}


def test_transfer_found_by_nonce() -> None:
    r = resolve_transfer(TR, [Transfer("h1", 77, 500.0, True, 10_001)], set(), 11_000)
    assert r.verdict is Verdict.DONE and r.transfer_id == "h1"


def test_transfer_matched_without_nonce_by_amount_direction_time() -> None:
    ledger = [
        Transfer("old", None, 500.0, True, 1_000),  # too early
        Transfer("wrongdir", None, 500.0, False, 10_500),
        Transfer("h2", None, 500.0, True, 10_500),
    ]
    assert resolve_transfer(TR, ledger, set(), 11_000).transfer_id == "h2"
    # an entry already claimed by another intent is not reused
    assert resolve_transfer(TR, ledger, {"h2"}, 11_000).verdict is Verdict.WAIT


def test_transfer_absent_after_expiry() -> None:
    assert resolve_transfer(TR, [], set(), 20_001).verdict is Verdict.ABSENT
    assert resolve_transfer(TR, [], set(), 19_999).verdict is Verdict.WAIT


def test_new_fills_never_double_counts() -> None:
    f = [Fill(str(i), "c", "spot", "buy", 1.0, 1.0, 0.0, i) for i in range(4)]
    got = new_fills({"0", "2"}, [*f, f[1]])
    assert [x.fill_id for x in got] == ["1", "3"]


def test_position_mismatch_detects_each_field() -> None:
    st = _state(1.0, -1.0)
    derived = {"spot_base": 1.0, "spot_usdc": 0.0, "perp_size": -1.0, "perp_cash": 1000.0}
    assert position_mismatches(derived, st) == {}
    assert set(position_mismatches({**derived, "perp_size": -0.9}, st)) == {"perp_size"}
    assert set(position_mismatches({**derived, "perp_cash": 1000.5}, st)) == {"perp_cash"}


def test_one_legged_after_spot_sold_perp_not_bought() -> None:
    # spot 0.6 left, short still -1.0: net short 0.4 -> buy 0.4 perp back
    fix = hedge_repair(_state(0.6, -1.0), tolerance_usd=5.0, sz_decimals=5)
    assert fix is not None and fix.side == "buy" and fix.size == pytest.approx(0.4)
    assert fix.unhedged_usd == pytest.approx(40.0)


def test_one_legged_after_spot_bought_perp_not_sold() -> None:
    fix = hedge_repair(_state(1.3, -1.0), tolerance_usd=5.0, sz_decimals=5)
    assert fix is not None and fix.side == "sell" and fix.size == pytest.approx(0.3)


def test_within_tolerance_no_repair() -> None:
    assert hedge_repair(_state(1.0001, -1.0), tolerance_usd=5.0, sz_decimals=5) is None


def test_unhedged_tracker_escalates_on_time_or_notional() -> None:
    t = UnhedgedTracker(max_seconds=10.0, max_usd=1000.0)
    assert not t.update(100.0, 5.0, wall_s=0.0)
    assert not t.update(100.0, 5.0, wall_s=9.0)
    assert t.update(100.0, 5.0, wall_s=10.5)  # too long
    assert not t.update(0.0, 5.0, wall_s=11.0)  # hedged again resets
    assert t.update(2000.0, 5.0, wall_s=12.0)  # too big at once
    assert t.worst_usd == 2000.0 and t.worst_seconds == pytest.approx(10.5)
