"""`basisctl chaos --book N` (issue 22 item 6): the interference count from a hand-built journal, the export of a
position to a single-position journal, and a short run of the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.book.chaos import _totals, cross_position_interference, export_position
from basisctl.live.journal import Journal


def _journal(tmp: Path, idle: int, b_halted: bool, a_error: bool = False, a_tries: bool = False) -> Path:
    """Position a detects an external fill, runs ``idle`` cycles, then re-hedges; b is (not) halted meanwhile.
    ``a_error``: a's cycles raise; ``a_tries``: a journals an unwind order every cycle (its venue rejects it)."""
    p = tmp / f"j{idle}{b_halted}{a_error}{a_tries}.sqlite"
    j = Journal(p)
    a = j.scoped("a")
    a.append("external", "external:f1", {"fill_id": "f1"}, 1)
    for i in range(idle):
        if a_tries:
            a.append_intent(f"intent:u{i}", {"kind": "order", "leg": "unwind"}, 2)
            a.append("result", f"result:u{i}", {"status": "rejected"}, 2)
        a.append("cycle", f"cycle:{i}", {}, 2)
        j.append("book_cycle", f"book_cycle:{i}", {"positions": {
            "a": {"ran": True, "halted": False, "blocked_own": False, **({"error": "x"} if a_error else {})},
            "b": {"ran": True, "halted": b_halted}}}, 2)
    a.append("external", "rehedged:f1", {"fill_id": "f1"}, 3)
    j.close()
    return p


@pytest.mark.parametrize(("idle", "b_halted", "a_error", "a_tries", "expected"), [
    (0, True, False, False, 0),  # re-hedged in the cycle that detected it
    (1, True, False, False, 0),  # one cycle late: allowed
    (2, False, False, False, 0),  # late, but no other position halted: not interference
    (2, True, False, False, 1),  # two idle cycles while b was halted: interference
    (5, True, False, False, 1),
    (3, True, True, False, 0),  # late because a itself failed: not another position's doing
    (3, True, False, True, 0),  # a tried every cycle and its venue rejected: not another position's doing
])
def test_interference_count_by_hand(tmp_path: Path, idle: int, b_halted: bool, a_error: bool, a_tries: bool,
                                    expected: int) -> None:
    n, detail = cross_position_interference(_journal(tmp_path, idle, b_halted, a_error, a_tries))
    assert n == expected and len(detail) == expected


def test_export_position_is_a_single_position_journal(tmp_path: Path) -> None:
    j = Journal(tmp_path / "book.sqlite")
    a, b = j.scoped("a"), j.scoped("b")
    a.append("genesis", "genesis", {"spot_base": 1.0, "spot_usdc": 0.0, "perp_size": -1.0, "perp_cash": 5.0}, 1)
    b.append("genesis", "genesis", {"spot_base": 2.0, "spot_usdc": 0.0, "perp_size": -2.0, "perp_cash": 9.0}, 1)
    a.append("funding", "funding:1", {"amount_usd": 2.5}, 2)
    a.append_intent("intent:o", {"kind": "order"}, 3)
    pa = a.cloid_prefix()
    j.close()
    out = Journal(export_position(tmp_path / "book.sqlite", "a", tmp_path / "a.sqlite"))
    assert out.derived_position().perp_cash == 7.5 and [e.key for e in out.open_intents()] == ["intent:o"]
    assert out.cloid_prefix() == pa and out.count("genesis") == 1
    out.close()


def test_totals_sum_counters_and_take_maxima() -> None:
    per = {"a": {"lost_fills": 1, "max_unhedged_usd": 10.0, "faults": {"x": 1}, "ok": True, "failures": []},
           "b": {"lost_fills": 2, "max_unhedged_usd": 30.0, "faults": {"x": 2}, "ok": False, "failures": ["f"]}}
    assert _totals(per) == {"lost_fills": 3, "max_unhedged_usd": 30.0, "faults": {"x": 3}}


@pytest.mark.needs_data
def test_book_chaos_short_run(tmp_path: Path) -> None:
    from basisctl.live.book.chaos import run_book_chaos

    res = run_book_chaos(positions=3, kills=3, seed=1, workdir=tmp_path / "w")
    assert res["ok"], res["failures"]
    assert res["kills"] == 3 and set(res["per_position"]) == {"btc-hl", "eth-hl", "btc-bn"}
    assert res["cross_position_interference"] == 0
    for key in ("duplicate_orders", "lost_fills", "double_counted_fills", "position_mismatches", "open_intents"):
        assert res[key] == sum(r[key] for r in res["per_position"].values()) == 0
    assert all(r["cycles"] > 0 for r in res["per_position"].values())
