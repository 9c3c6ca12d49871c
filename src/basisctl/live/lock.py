"""One controller per journal (and per simulated account): OS-level exclusive locks (``fcntl.flock``).

Two locks per protected file, both held for the whole life of the process and released by the kernel when
the process dies (also on SIGKILL), so a crashed controller never leaves a stale lock behind:

* ``<file>.lock`` holds the holder's PID, so that a refused second start can name it;
* the protected file itself (the journal, or the simulated venue's state file) is flocked through an fd
  kept open by the holder. Deleting or replacing ``<file>.lock`` (a cleanup script, a tmp reaper, an
  operator's ``rm *.lock``) therefore does not admit a second controller: the file it would trade on is
  still locked. flock and SQLite's own POSIX (fcntl) locks are independent on Linux; the fd is only closed
  by ``release()`` (which must come after the SQLite connection is closed) or at process exit.

``problem()`` re-checks that both paths still name the locked inodes; the controller calls it every cycle
and halts new risk (alert ``LOCK_LOST``) when a lock file was deleted or replaced under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from basisctl.errors import BasisctlError


class JournalLocked(BasisctlError):
    """Another live process holds the journal (or the simulated account)."""


class FileLock:
    """Exclusive, non-blocking lock on ``target`` and on ``<target>.lock``; ``release()`` or exit frees both.

    ``what``/``scope`` name the resource in messages. ``init``: builds a new ``target`` at a temporary path;
    a missing target is then created atomically (built aside, hard-linked into place), so the path never
    names a half-made file (an empty journal is refused, not taken for a fresh one). Without ``init`` a
    missing target is created empty.
    """

    def __init__(self, target: str | Path, what: str, scope: str, init: Callable[[Path], None] | None = None):
        self.target = Path(target)
        self.path = self.target.with_name(self.target.name + ".lock")
        self.what = what
        self.scope = scope
        self.init = init
        self.created = False
        self._fd: int | None = None
        self._tfd: int | None = None

    def _refuse(self, holder: str, why: str = "") -> JournalLocked:
        return JournalLocked(
            f"{self.target}: {self.what} is in use by another controller (PID {holder}, lock {self.path}{why}); "
            f"one controller per {self.scope} - stop that process first"
        )

    def _lock_file(self) -> int:
        """flock ``<target>.lock``; retried when the path was replaced between open and flock (then the lock
        would be on an orphaned inode)."""
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                finally:
                    os.close(fd)
                raise self._refuse(holder) from None
            if _same(self.path, fd):
                return fd
            os.close(fd)
        raise JournalLocked(f"{self.path}: lock file keeps being replaced; refusing to start")

    def acquire(self) -> FileLock:
        try:  # an unwritable lock folder (a read-only state dir) refuses the start in one line, never a traceback
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalLocked(f"{self.path.parent}: cannot create the {self.what} lock folder "
                                f"({type(e).__name__}: {e.strerror or e}); refusing to start") from None
        if self.target.is_dir():
            raise BasisctlError(f"{self.target}: is a directory; expected a {self.what} file")
        fd = self._lock_file()
        try:  # the protected file itself: its lock survives a deleted or replaced <target>.lock
            if self.init is not None and not self.target.exists():
                self._create()
            tfd = os.open(self.target, os.O_RDWR | (os.O_CREAT if self.init is None else 0), 0o644)
        except BaseException:
            os.close(fd)
            raise
        try:
            fcntl.flock(tfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(tfd)
            os.close(fd)  # our fresh <target>.lock stays (empty): unlinking lock files is the hazard itself
            raise self._refuse("unknown", f" was deleted or replaced while {self.target.name} stayed locked") from None
        if not _same(self.target, tfd):  # replaced between open and flock: we would guard an orphan
            os.close(tfd)
            os.close(fd)
            raise JournalLocked(f"{self.target}: was replaced while being locked; refusing to start (try again)")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd, self._tfd = fd, tfd
        return self

    def _create(self) -> None:
        assert self.init is not None
        tmp = self.target.with_name(f".{self.target.name}.new-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            self.init(tmp)
            os.link(tmp, self.target)
            self.created = True
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def problem(self) -> str | None:
        """None while both paths still name the locked files; else one line saying what changed."""
        if self._fd is None or self._tfd is None:
            return None
        for p, fd in ((self.path, self._fd), (self.target, self._tfd)):
            if not _same(p, fd):
                return (f"lock lost: {p} was deleted or replaced while this controller held it; no new risk "
                        "(restart to re-lock)")
        return None

    def release(self) -> None:
        """Free both locks (close the SQLite connection on ``target`` first: closing an fd on a file drops
        every POSIX lock this process holds on it)."""
        for fd in (self._tfd, self._fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        self._fd = self._tfd = None


def _same(path: Path, fd: int) -> bool:
    """Does ``path`` still name the file open on ``fd``?"""
    try:
        st = os.stat(path)
    except OSError:  # gone, or unreachable (its folder replaced by a file: a read-only state dir): lost, no crash
        return False
    want = os.fstat(fd)
    return (st.st_ino, st.st_dev) == (want.st_ino, want.st_dev)


class JournalLock(FileLock):
    """One controller per journal: ``<journal>.lock`` (PID) and the journal file itself."""

    def __init__(self, journal_path: str | Path):
        super().__init__(journal_path, "journal", "journal", init=_new_journal)
        self.journal = self.target


def _new_journal(path: Path) -> None:
    from basisctl.live.journal import Journal

    Journal(path).close()


class SimStateLock(FileLock):
    """One controller per simulated (paper) account: ``<sim.state_file>.lock`` and the state file itself."""

    def __init__(self, state_path: str | Path):
        super().__init__(state_path, "simulated account (sim.state_file)", "account")


class TradeLogLock(FileLock):
    """One writer per trade log (issue 19, N9: a second controller's rows were lost): ``<trades.csv>.lock`` and
    the CSV itself."""

    def __init__(self, path: str | Path):
        super().__init__(path, "trade log", "trade log")


class AccountLock(FileLock):
    """One controller per venue account (issue 19, N6): a lock file keyed by venue and account address in the
    user state dir (``$BASISCTL_STATE_DIR``, else ``$XDG_STATE_HOME/basisctl``, else ``~/.local/state/basisctl``),
    so two configs with their own journals cannot trade the same account from one machine."""

    def __init__(self, venue: str, account: str):
        super().__init__(account_lock_path(venue, account), f"{venue} account {account.lower()}", "account")


def state_dir() -> Path:
    """The user state dir of basisctl's account locks."""
    env = os.environ.get("BASISCTL_STATE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "basisctl"


def account_lock_path(venue: str, account: str) -> Path:
    return state_dir() / "accounts" / f"{venue}-{account.lower()}"
