"""The journal's incremental reads: the derived position resumed from its last row equals a full rescan (and a
hand fold), across writers and scopes; funding read after a time; a payload field summed in SQLite."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from basisctl.live.journal import Journal

GEN = {"spot_base": 10.0, "spot_usdc": 500.0, "perp_size": -10.0, "perp_cash": 40_000.0}


def _write_random(j: Journal, rng: random.Random, n: int, tag: str, ref: dict[str, float]) -> None:
    """``n`` random fills / funding / transfers / adopts through ``j``, applied by hand to ``ref`` as well."""
    for i in range(n):
        u = rng.random()
        if u < 0.6:  # funding dominates a long run (one row per settlement)
            a = rng.uniform(-5.0, 15.0)
            j.append("funding", f"funding:{tag}:{i}", {"amount_usd": a, "rate": 1e-5, "size": -10.0, "n_samples": 1},
                     i)
            ref["perp_cash"] += a
        elif u < 0.85:
            spot = rng.random() < 0.5
            side = rng.choice(("buy", "sell"))
            size, px, fee = rng.uniform(0.01, 2.0), rng.uniform(2000.0, 4000.0), rng.uniform(0.0, 3.0)
            p = {"market": "spot" if spot else "perp", "side": side, "size": size, "px": px, "fee_usd": fee}
            fee_base = 0.0
            if spot and rng.random() < 0.3:
                fee_base = size * 1e-3
                p["fee_base"] = fee_base
            j.append("fill", f"fill:{tag}:{i}", p, i)
            sgn = 1.0 if side == "buy" else -1.0
            if spot:
                ref["spot_base"] += sgn * size - fee_base
                ref["spot_usdc"] -= sgn * size * px + fee
            else:
                ref["perp_size"] += sgn * size
                ref["perp_cash"] -= sgn * size * px + fee
        elif u < 0.97:
            a, to_perp = rng.uniform(1.0, 900.0), rng.random() < 0.5
            j.append("transfer", f"transfer:{tag}:{i}", {"amount_usd": a, "to_perp": to_perp}, i)
            ref["spot_usdc"] += -a if to_perp else a
            ref["perp_cash"] += a if to_perp else -a
        else:
            d = {"perp_size": rng.uniform(-0.5, 0.5)}
            j.append("adopt", f"adopt:{tag}:{i}", {"delta": d}, i)
            ref["perp_size"] += d["perp_size"]


def test_incremental_derived_position_equals_full_rescan_on_many_funding_rows(tmp_path: Path) -> None:
    rng = random.Random(7)
    j = Journal(tmp_path / "j.sqlite")
    j.append("genesis", "genesis", GEN, 0)
    ref = dict(GEN)
    other = Journal(tmp_path / "j.sqlite")  # a second writer (another connection): its rows are seen too
    for step in range(12):
        _write_random(other if step % 3 == 2 else j, rng, 400, f"s{step}", ref)
        inc = j.derived_position()  # resumes from the last row of the previous call
        assert inc == j.derived_position_rescan()  # exactly: same fold, same order
        assert inc.to_dict() == pytest.approx(ref, rel=1e-12, abs=1e-6)  # and the hand fold
    assert j.count("funding") > 2500
    assert j.derived_position() == j.derived_position_rescan()  # no new rows: unchanged
    # a fresh object (a restart) folds from scratch to the same balances
    assert Journal(tmp_path / "j.sqlite").derived_position() == j.derived_position()


def test_incremental_derived_position_is_per_scope(tmp_path: Path) -> None:
    root = Journal(tmp_path / "book.sqlite")
    a, b = root.scoped("a"), root.scoped("b")
    for v in (a, b):
        v.append("genesis", "genesis", GEN, 0)
    ra, rb = dict(GEN), dict(GEN)
    rng = random.Random(3)
    for step in range(4):
        _write_random(a, rng, 150, f"a{step}", ra)
        assert a.derived_position().to_dict() == pytest.approx(ra, rel=1e-12, abs=1e-6)
        _write_random(b, rng, 150, f"b{step}", rb)
        assert b.derived_position().to_dict() == pytest.approx(rb, rel=1e-12, abs=1e-6)
        assert a.derived_position() == a.derived_position_rescan()
    # a view made from a view whose fold is warm starts its own fold (no sharing across scopes)
    assert a.scoped("b").derived_position() == b.derived_position_rescan()


def test_funding_after_ts_and_sql_sum(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite").scoped("p")
    amounts = [1.25, -0.5, 3.0, 0.125]
    for i, a in enumerate(amounts):
        j.append("funding", f"funding:{i}", {"amount_usd": a}, 1000 * (i + 1))
    assert [e.payload["amount_usd"] for e in j.entries("funding", after_ts_ms=2000)] == [3.0, 0.125]
    assert [e.key for e in j.entries("funding", after_ts_ms=None)] == [f"funding:{i}" for i in range(4)]
    assert j.sum_payload("funding", "amount_usd") == sum(amounts)  # exact in binary for these values
    assert j.sum_payload("fill", "amount_usd") == 0.0  # none
    with pytest.raises(ValueError, match="needs a kind"):
        j.entries(after_ts_ms=5)
