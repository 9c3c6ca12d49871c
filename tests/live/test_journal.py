"""The journal: durability settings, idempotency, nonces, derived positions, survival of SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from basisctl.live.journal import Journal, JournalError


def test_wal_and_full_sync(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_append_is_idempotent_by_key(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    assert j.append("fill", "fill:1", {"a": 1}, 5)
    assert not j.append("fill", "fill:1", {"a": 2}, 6)
    assert j.count("fill") == 1 and j.get("fill:1").payload == {"a": 1}  # type: ignore[union-attr]


def test_nonces_strictly_increase_across_reopen(tmp_path: Path) -> None:
    p = tmp_path / "j.sqlite"
    j = Journal(p)
    a = j.append_intent("intent:a", {"kind": "transfer"}, 0, need_nonce=True)["nonce"]
    b = j.append_intent("intent:b", {"kind": "transfer"}, 0, need_nonce=True)["nonce"]
    j._db.execute("UPDATE counters SET value = value + 10000000 WHERE name='nonce'")  # clock far behind
    j.close()
    j2 = Journal(p)
    c = j2.append_intent("intent:c", {"kind": "transfer"}, 0, need_nonce=True)["nonce"]
    assert a < b < c and c >= b + 10_000_000
    # the same intent key returns the stored payload: never a second nonce
    assert j2.append_intent("intent:a", {"kind": "transfer"}, 0, need_nonce=True)["nonce"] == a


def test_open_intents_are_those_without_result(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    j.append_intent("intent:x", {"kind": "order"}, 0)
    j.append_intent("intent:y", {"kind": "order"}, 0)
    j.append("result", "result:x", {"verdict": "filled"}, 0)
    assert [e.key for e in j.open_intents()] == ["intent:y"]


def test_derived_position_by_hand(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    with pytest.raises(JournalError, match="genesis"):
        j.derived_position()
    j.append("genesis", "genesis", {"spot_base": 2.0, "spot_usdc": 0.0, "perp_size": -2.0, "perp_cash": 1000.0}, 0)
    j.append("fill", "fill:1", {"market": "spot", "side": "sell", "size": 0.5, "px": 100.0, "fee_usd": 0.1}, 1)
    j.append("fill", "fill:2", {"market": "perp", "side": "buy", "size": 0.5, "px": 101.0, "fee_usd": 0.2}, 2)
    j.append("funding", "funding:1", {"amount_usd": 3.0}, 3)
    j.append("transfer", "transfer:1", {"amount_usd": 40.0, "to_perp": True}, 4)
    d = j.derived_position()
    assert d.spot_base == pytest.approx(1.5)
    assert d.spot_usdc == pytest.approx(50.0 - 0.1 - 40.0)
    assert d.perp_size == pytest.approx(-1.5)
    assert d.perp_cash == pytest.approx(1000.0 - 50.5 - 0.2 + 3.0 + 40.0)


def test_committed_append_survives_sigkill(tmp_path: Path) -> None:
    p = tmp_path / "j.sqlite"
    code = (
        f"import os, signal; from basisctl.live.journal import Journal; j = Journal({str(p)!r}); "
        "j.append('intent', 'intent:k', {'x': 1}, 0); os.kill(os.getpid(), signal.SIGKILL)"
    )
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), timeout=60)
    assert r.returncode == -signal.SIGKILL
    assert Journal(p).get("intent:k") is not None
