"""Online journal backups (SQLite's backup API) and restore.

A backup is taken through a second, read-only-in-practice connection while the controller keeps writing: in
WAL mode the copy reads one consistent snapshot (every committed append up to its start, nothing half-written)
and never blocks the controller's appends. The copy is written to ``.<name>.part``, checked (``quick_check``,
the ``entries`` table), switched to a self-contained rollback-journal file, fsynced and only then renamed to
``<journal stem>-<UTC stamp>.sqlite``; the oldest beyond ``keep`` are deleted.

Restore refuses while any process holds the journal's lock, keeps the current journal (and its -wal/-shm files:
a stale WAL applied to another database would corrupt it) as ``<journal>.replaced-<stamp>``, and copies the
backup into place through the backup API.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basisctl.errors import BasisctlError


class BackupError(BasisctlError):
    pass


def _stamp(t: float) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + f"{int((t % 1) * 1e6):06d}Z"


def backups_of(journal: Path, dest_dir: Path) -> list[Path]:
    """The backups of ``journal`` in ``dest_dir``, oldest first (names sort by their UTC stamp)."""
    if not dest_dir.is_dir():
        return []
    return sorted(p for p in dest_dir.glob(f"{journal.stem}-*Z.sqlite") if p.is_file())


def _check(path: Path, db: sqlite3.Connection) -> int:
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
    if rows != ["ok"]:
        raise BackupError(f"{path}: backup copy failed its integrity check ({'; '.join(rows)[:120]})")
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='entries'").fetchone() is None:
        raise BackupError(f"{path}: not a basisctl journal (no 'entries' table)")
    from basisctl.live.journal import missing_columns

    if missing := missing_columns(db):
        raise BackupError(f"{path}: not a basisctl journal (table 'entries' lacks {', '.join(missing)})")
    return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def backup_journal(journal: str | Path, dest_dir: str | Path, keep: int, now: float | None = None) -> Path:
    """Copy ``journal`` (which may be in use) to ``dest_dir``; keep the newest ``keep`` backups. Returns the new
    backup's path; BackupError (one line) when the journal is missing/unreadable or the copy fails."""
    src, out = Path(journal), Path(dest_dir)
    if not src.is_file():
        raise BackupError(f"{src}: journal not found; nothing to back up")
    out.mkdir(parents=True, exist_ok=True)
    final = out / f"{src.stem}-{_stamp(time.time() if now is None else now)}.sqlite"
    tmp = out / f".{final.name}.part"
    for stale in out.glob(f".{src.stem}-*.part"):  # a backup interrupted by a kill
        stale.unlink(missing_ok=True)
    try:
        s = sqlite3.connect(str(src), timeout=30.0)
        try:
            d = sqlite3.connect(str(tmp))
            try:
                s.backup(d)  # one step: one consistent snapshot of every committed entry
                d.execute("PRAGMA journal_mode=DELETE")  # a self-contained file (no -wal beside it)
                _check(tmp, d)
            finally:
                d.close()
        finally:
            s.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(out)
    except sqlite3.Error as e:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {src} to {out} failed ({' '.join(str(e).split())})") from None
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {src} to {out} failed ({e.strerror or e})") from None
    for old in backups_of(src, out)[:-keep]:
        old.unlink(missing_ok=True)
    return final


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def restore_journal(backup: str | Path, journal: str | Path, now: float | None = None) -> Path | None:
    """Put ``backup`` in place of ``journal``. Refused (JournalLocked naming the PID) while a controller holds the
    journal; the journal being replaced is kept as ``<journal>.replaced-<stamp>`` (returned; None when there was
    none). The backup is verified before anything moves."""
    from basisctl.live.lock import JournalLock

    b, j = Path(backup), Path(journal)
    if not b.is_file():
        raise BackupError(f"{b}: backup file not found")
    try:
        db = sqlite3.connect(f"file:{b}?mode=ro", uri=True)
        try:
            _check(b, db)
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{b}: not a readable journal backup ({e})") from None
    lock = JournalLock(j)
    lock.init = None  # do not create a fresh journal just to lock it
    if not j.exists():
        j.parent.mkdir(parents=True, exist_ok=True)
    lock.acquire()  # JournalLocked while a controller runs on it (creates an empty file when none existed)
    try:
        kept: Path | None = None
        stamp = _stamp(time.time() if now is None else now)
        if j.stat().st_size > 0:
            kept = j.with_name(f"{j.name}.replaced-{stamp}")
            os.link(j, kept)
        for side in ("-wal", "-shm"):
            p = j.with_name(j.name + side)
            if p.exists():
                os.replace(p, j.with_name(f"{j.name}.replaced-{stamp}{side}"))
        tmp = j.with_name(f".{j.name}.restore-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        s = sqlite3.connect(f"file:{b}?mode=ro", uri=True)
        d = sqlite3.connect(str(tmp))
        try:
            s.backup(d)
            d.execute("PRAGMA journal_mode=DELETE")
            _check(tmp, d)
        finally:
            d.close()
            s.close()
        os.replace(tmp, j)  # the journal path now names the restored copy (the lock's old inode is released below)
        _fsync_dir(j.parent)
    finally:
        lock.release()
    return kept


@dataclass
class BackupResult:
    ok: bool
    path: Path | None
    error: str
    wall: float


class BackupScheduler:
    """Takes a backup every ``every_hours`` of wall time in a background thread (one at a time). The first is
    due at start unless the newest backup in ``dest_dir`` is younger than the period (the schedule survives
    restarts). :meth:`poll` (called between cycles) starts a due backup and returns a finished one's result
    exactly once, so that the caller raises ``BACKUP_FAILED`` from its own thread."""

    def __init__(self, journal: Path, dest_dir: Path, every_hours: float, keep: int,
                 clock: Callable[[], float] = time.time):
        self.journal, self.dest_dir, self.keep = journal, dest_dir, keep
        self.period_s = every_hours * 3600.0
        self.clock = clock
        self.ok = 0
        self.failed = 0
        self.last: BackupResult | None = None
        self._thread: threading.Thread | None = None
        self._done: BackupResult | None = None
        have = backups_of(journal, dest_dir)
        self._last_start = have[-1].stat().st_mtime if have else None

    def due(self) -> bool:
        return self._last_start is None or self.clock() - self._last_start >= self.period_s

    def poll(self) -> BackupResult | None:
        res, self._done = self._done, None
        if res is not None:
            self.last = res
        if (self._thread is None or not self._thread.is_alive()) and self.due():
            self._last_start = self.clock()
            self._thread = threading.Thread(target=self._run, name="basisctl-backup", daemon=True)
            self._thread.start()
        return res

    def _run(self) -> None:
        try:
            p = backup_journal(self.journal, self.dest_dir, self.keep)
            self.ok += 1
            self._done = BackupResult(True, p, "", time.time())
        except Exception as e:  # reported through poll(); never kills the controller
            self.failed += 1
            self._done = BackupResult(False, None, " ".join(str(e).split()), time.time())

    def wait(self, timeout_s: float = 30.0) -> BackupResult | None:
        """Let a backup in flight finish (at shutdown); returns its result if it had not been polled."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.poll_done()

    def poll_done(self) -> BackupResult | None:
        res, self._done = self._done, None
        if res is not None:
            self.last = res
        return res

    def status(self) -> dict[str, object]:
        last = self.last
        return {"every_hours": self.period_s / 3600.0, "dir": str(self.dest_dir), "ok": self.ok,
                "failed": self.failed, "last_path": str(last.path) if last and last.path else None,
                "last_error": last.error if last else None, "running": bool(self._thread and self._thread.is_alive())}


def scheduler_for(cfg: Any) -> BackupScheduler | None:
    """The scheduler of a controller config's ``[backup]`` section (None when ``every_hours = 0``)."""
    b = cfg.backup
    if b.every_hours <= 0:
        return None
    return BackupScheduler(cfg.resolve(cfg.journal), cfg.resolve(b.dir), b.every_hours, b.keep)


def report(alerts: Any, res: BackupResult | None, now_ms: int) -> None:
    """Raise ``BACKUP_FAILED`` for a failed backup (from the controller's own thread)."""
    if res is not None and not res.ok:
        alerts.raise_("BACKUP_FAILED", f"journal backup failed: {res.error}; the controller goes on", now_ms)
