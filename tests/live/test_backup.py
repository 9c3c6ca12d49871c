"""Online journal backups (issue 22 item 5): SQLite's backup API while the controller writes, the schedule,
`basisctl journal backup|restore`, and a paper run resumed from a restored backup with no lost or duplicated
entries."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.live.backup import BackupScheduler, backup_journal, backups_of, restore_journal
from basisctl.live.journal import Journal
from basisctl.live.lock import JournalLock, JournalLocked
from basisctl.live.runner import _HELD, Built, build

from .conftest import fixed_config, make_sim


def rows(path: Path) -> list[tuple[int, str, str, int, str]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute("SELECT seq, key, kind, ts_ms, payload FROM entries ORDER BY seq")]
    finally:
        db.close()


def test_backup_while_writing_is_a_consistent_prefix(tmp_path: Path) -> None:
    """A writer appends as fast as it can while backups are taken: each backup passes SQLite's integrity check
    and holds exactly the first n entries of the final journal (seq 1..n, identical) - no torn or missing row."""
    j = Journal(tmp_path / "journal.sqlite")
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            j.append("cycle", f"cycle:{i}", {"i": i, "pad": "x" * 200}, i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.2)
        made = []
        for k in range(5):
            made.append(backup_journal(tmp_path / "journal.sqlite", tmp_path / "bk", keep=3, now=1e9 + k))
            time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    final = rows(tmp_path / "journal.sqlite")
    kept = backups_of(tmp_path / "journal.sqlite", tmp_path / "bk")
    assert kept == made[-3:]  # keep = 3: the two oldest were deleted
    sizes = []
    for b in kept:
        got = rows(b)
        assert got and [r[0] for r in got] == list(range(1, len(got) + 1))
        assert got == final[: len(got)]
        sizes.append(len(got))
        assert not Path(str(b) + "-wal").exists()  # self-contained file
    assert sizes == sorted(sizes) and sizes[-1] < len(final)  # taken while the writer went on
    assert not list((tmp_path / "bk").glob(".*part"))
    j.close()


def test_scheduler_runs_in_the_background_and_survives_restart(tmp_path: Path) -> None:
    src = tmp_path / "journal.sqlite"
    Journal(src).append("cycle", "cycle:0", {}, 0)
    clock = [1000.0]
    s = BackupScheduler(src, tmp_path / "bk", every_hours=1.0, keep=5, clock=lambda: clock[0])
    assert s.due()  # no backup yet: due at start
    assert s.poll() is None
    res = s.wait(10)
    assert res is not None and res.ok and res.path is not None and res.path.exists()
    assert not s.due() and s.poll() is None
    clock[0] += 3599
    assert not s.due()
    clock[0] += 1
    assert s.due()
    # a restart finds the newest backup's time: not due again until the period has passed
    s2 = BackupScheduler(src, tmp_path / "bk", every_hours=1.0, keep=5, clock=time.time)
    assert not s2.due()
    # a failing backup is reported once, not raised
    bad = BackupScheduler(tmp_path / "missing.sqlite", tmp_path / "bk2", 1.0, 5)
    bad.poll()
    r = bad.wait(10)
    assert r is not None and not r.ok and "journal not found" in r.error and bad.failed == 1


def test_restore_refused_while_locked_and_keeps_the_replaced_journal(tmp_path: Path) -> None:
    j = tmp_path / "journal.sqlite"
    jr = Journal(j)
    jr.append("cycle", "cycle:0", {"a": 1}, 0)
    b = backup_journal(j, tmp_path / "bk", 3)
    jr.append("cycle", "cycle:1", {"a": 2}, 1)
    lk = JournalLock(j).acquire()
    with pytest.raises(JournalLocked, match="in use by another controller"):
        restore_journal(b, j)
    lk.release()
    jr.close()
    kept = restore_journal(b, j)
    assert kept is not None and [r[1] for r in rows(kept)] == ["cycle:0", "cycle:1"]
    assert [r[1] for r in rows(j)] == ["cycle:0"]
    with pytest.raises(Exception, match=r"not a readable journal backup|not a basisctl journal"):
        (tmp_path / "junk.sqlite").write_text("not sqlite at all, just text" * 10)
        restore_journal(tmp_path / "junk.sqlite", j)


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('journal = "j.sqlite"\n[backup]\ndir = "bk"\nkeep = 2\n')
    Journal(tmp_path / "j.sqlite").append("cycle", "cycle:0", {}, 0)
    r = CliRunner().invoke(app, ["journal", "backup", "--config", str(tmp_path / "c.toml")])
    assert r.exit_code == 0 and "backup:" in r.output, r.output
    r = CliRunner().invoke(app, ["journal", "restore", "--config", str(tmp_path / "c.toml")])
    assert r.exit_code == 2 and "--yes" in r.output
    r = CliRunner().invoke(app, ["journal", "restore", "--config", str(tmp_path / "c.toml"), "--yes"])
    assert r.exit_code == 0 and "restored" in r.output and "replaced journal is kept" in r.output, r.output


# ------------------------------------------------------------------------------ restore, then resume a paper run
def _release(b: Built) -> None:
    b.journal.close()
    for k in list(_HELD):
        _HELD.pop(k).release()


def _lose_journal(path: Path) -> None:
    for s in ("", "-wal", "-shm"):
        Path(str(path) + s).unlink(missing_ok=True)


def _run(cfg, sim, n: int, snap_at: int | None = None, snap: list[Path] | None = None) -> Built:
    b = build(cfg, venue=sim)
    b.controller.start()
    for i in range(n):
        b.controller.cycle()
        if snap_at == i and snap is not None:  # online: the controller's own connection stays open
            snap.append(backup_journal(cfg.resolve(cfg.journal), cfg.resolve("bk"), 5))
        sim.advance(6 * 3600)
    return b


def _fills_agree(b: Built, sim) -> None:
    keys = [e.key for e in b.journal.entries("fill")]
    assert len(keys) == len(set(keys))  # no duplicated fill
    assert sorted(k.removeprefix("fill:") for k in keys) == sorted(f.fill_id for f in sim.fills(0))  # none lost
    d, v = b.journal.derived_position(), sim.state()
    assert d.spot_base == pytest.approx(v.spot_base, abs=1e-9) and d.perp_size == pytest.approx(v.perp_size, abs=1e-9)


NARROW = {"band": {"alpha_target": 0.35, "alpha_lower": 0.345, "alpha_upper": 0.355}, "costs": {"q_min_usd": 100}}


def test_restore_current_backup_resumes_with_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    sim = make_sim(tmp_path / "venue.sqlite")
    cfg = fixed_config(tmp_path, **NARROW)
    snap: list[Path] = []
    b = _run(cfg, sim, 6, snap_at=5, snap=snap)
    before = rows(cfg.resolve(cfg.journal))
    assert b.journal.count("fill") >= 4  # the narrow band rebalanced several times
    _release(b)
    _lose_journal(cfg.resolve(cfg.journal))  # the disk with the journal is gone
    restore_journal(snap[0], cfg.resolve(cfg.journal))
    assert rows(cfg.resolve(cfg.journal)) == before  # every entry back, none twice, byte-identical payloads
    b = _run(cfg, sim, 4)
    after = rows(cfg.resolve(cfg.journal))
    assert after[: len(before)] == before and len(after) > len(before)
    assert len({r[1] for r in after}) == len(after)
    assert b.controller.alerts.counts == {} and not b.controller.halted
    _fills_agree(b, sim)
    _release(b)
    sim.close()


def test_restore_stale_backup_refetches_fills_and_halts_for_the_operator(tmp_path: Path) -> None:
    """A backup older than the venue's state: the fills since are re-read from the venue (none lost, none twice,
    balances agree), but the orders whose intents the backup lacks look like another controller's: new risk halts
    (FOREIGN_CONTROLLER) until `basisctl ack` - the documented, safe outcome."""
    sim = make_sim(tmp_path / "venue.sqlite")
    cfg = fixed_config(tmp_path, **NARROW)
    snap: list[Path] = []
    b = _run(cfg, sim, 10, snap_at=1, snap=snap)
    n_fills = b.journal.count("fill")
    _release(b)
    assert sum(r[2] == "fill" for r in rows(snap[0])) < n_fills  # orders were filled after the backup
    _lose_journal(cfg.resolve(cfg.journal))
    restore_journal(snap[0], cfg.resolve(cfg.journal))
    b = _run(cfg, sim, 2)
    _fills_agree(b, sim)
    assert b.journal.count("fill") >= n_fills
    assert b.controller.halted and "FOREIGN_CONTROLLER" in b.controller.alerts.counts
    _release(b)
    sim.close()
