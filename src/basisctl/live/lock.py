"""One controller per journal: an OS-level exclusive lock (``fcntl.flock``) on ``<journal>.lock``.

The lock is held for the whole life of the process and released by the kernel when the process dies (also
on SIGKILL), so a crashed controller never leaves a stale lock behind. The holder's PID is written into the
lock file so that a refused second start can name it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from basisctl.errors import BasisctlError


class JournalLocked(BasisctlError):
    """Another live process holds the journal."""


class JournalLock:
    """Exclusive, non-blocking lock beside ``journal_path``; ``release()`` or process exit frees it."""

    def __init__(self, journal_path: str | Path):
        self.journal = Path(journal_path)
        self.path = self.journal.with_name(self.journal.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> JournalLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise JournalLocked(
                f"{self.journal}: journal is in use by another controller (PID {holder}, lock {self.path}); "
                "one controller per journal - stop that process first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
