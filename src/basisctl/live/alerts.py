"""The controller's alert sink (journal entry + alert log line + the recent list /state shows), then the
operators' channels (``live.notify``: apprise, after the alert is stored).

Failing storage fails safe (issue 19, N5): an alert that cannot be journaled or written to the alert log goes to
stderr instead, and ``failed`` names the first OS error; the controller completes its protective actions
(repair, unwind) and then halts new risk (STORAGE_FAILED). Raising an alert never raises.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.errors import BasisctlError
from basisctl.live.journal import Journal
from basisctl.redact import redact


@dataclass
class Alerts:
    """Alert sink: journal entry + one line in the alert log + the recent list shown by /state."""

    journal: Journal
    log_path: Path | None
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    counts: dict[str, int] = field(default_factory=dict)
    failed: str = ""  # the first storage error an alert met ('' while every alert was stored)
    notifier: Any = None  # live.notify.Notifier: operators are told AFTER the alert is stored (None: not set up)

    def raise_(self, kind: str, message: str, ts_ms: int, **extra: Any) -> None:
        message = redact(message)
        rec = {"kind": kind, "message": message, "ts_ms": ts_ms, **extra}
        self.recent.appendleft(rec)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        line = f"{pd.Timestamp(ts_ms, unit='ms', tz='UTC').isoformat()} {kind} {message}"
        errs = []
        try:
            self.journal.append("alert", f"alert:{uuid.uuid4().hex}", rec, ts_ms)
        except (OSError, sqlite3.Error, BasisctlError) as e:
            errs.append(f"journal {self.journal.path}: {_one_line(e)}")
        if self.log_path is not None:
            try:
                with open(self.log_path, "a") as fh:
                    fh.write(line + "\n")
            except OSError as e:
                errs.append(f"alert log {self.log_path}: {_one_line(e)}")
        if errs:
            self.failed = self.failed or "; ".join(errs)
            print(f"alert (not stored: {'; '.join(errs)}): {line}", file=sys.stderr, flush=True)
        if self.notifier is not None:
            try:  # queued for the notifier's own thread: never blocks, never raises into a cycle
                self.notifier.submit(kind, message, ts_ms)
            except Exception as e:  # pragma: no cover - Notifier.submit already catches everything
                print(f"warning: alert delivery: {_one_line(e)}", file=sys.stderr, flush=True)

    def delivery(self) -> dict[str, Any] | None:
        """The notifier's counters for /state and /health (None when no [alerts] urls are configured)."""
        return None if self.notifier is None else dict(self.notifier.snapshot())


def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}" if not isinstance(e, BasisctlError) else str(e)
    return " ".join(text.split())
