"""Journal / account locks that survive a deleted lock file, and the dashboard's token schemes (review of issue 9)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from basisctl.live.api import allowed_host_names, token_ok
from basisctl.live.journal import Journal, JournalError
from basisctl.live.lock import JournalLock, JournalLocked, SimStateLock


def test_deleted_lock_file_still_refuses_and_is_reported(tmp_path: Path) -> None:
    j = tmp_path / "journal.sqlite"
    first = JournalLock(j).acquire()  # flock is per open file description: a second acquire here conflicts
    assert first.created and Journal(j).count("cycle") == 0  # created atomically: a valid, empty journal
    assert first.problem() is None
    first.path.unlink()
    with pytest.raises(JournalLocked, match="deleted or replaced"):
        JournalLock(j).acquire()
    why = first.problem()
    assert why is not None and "journal.sqlite.lock" in why and "lock lost" in why
    first.release()
    again = JournalLock(j).acquire()  # freed: the next controller may start
    assert not again.created
    again.release()


def test_sim_account_lock_names_the_state_file(tmp_path: Path) -> None:
    s = tmp_path / "sim-venue.sqlite"
    held = SimStateLock(s).acquire()
    with pytest.raises(JournalLocked, match=r"sim-venue\.sqlite: simulated account"):
        SimStateLock(s).acquire()
    held.release()


def test_empty_existing_journal_is_refused(tmp_path: Path) -> None:
    j = tmp_path / "j.sqlite"
    j.write_bytes(b"")
    with pytest.raises(JournalError, match="empty"):
        Journal(j)
    j.write_bytes(b"hello, not sqlite")
    with pytest.raises(JournalError, match="not a SQLite file"):
        Journal(j)


def test_token_schemes() -> None:
    assert token_ok("Bearer s3cret", "s3cret") and token_ok("bearer s3cret", "s3cret")
    assert token_ok("BEARER  s3cret ", "s3cret")
    basic = base64.b64encode(b"anyone:s3cret").decode()  # what a browser sends after the Basic prompt
    assert token_ok(f"Basic {basic}", "s3cret")
    assert not token_ok("Bearer wrong", "s3cret") and not token_ok("s3cret", "s3cret")
    assert not token_ok("Basic !!notbase64", "s3cret") and not token_ok("", "s3cret")
    assert not token_ok("Token s3cret", "s3cret")


def test_bound_loopback_address_is_trusted() -> None:
    assert "127.0.0.2" in allowed_host_names("127.0.0.2")
    assert allowed_host_names("127.0.0.1").count("127.0.0.1") == 1
