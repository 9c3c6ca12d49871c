"""The controller's alert sink (journal entry + alert log line + the recent list /state shows)."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.live.journal import Journal


@dataclass
class Alerts:
    """Alert sink: journal entry + one line in the alert log + the recent list shown by /state."""

    journal: Journal
    log_path: Path | None
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    counts: dict[str, int] = field(default_factory=dict)

    def raise_(self, kind: str, message: str, ts_ms: int, **extra: Any) -> None:
        rec = {"kind": kind, "message": message, "ts_ms": ts_ms, **extra}
        self.recent.appendleft(rec)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.journal.append("alert", f"alert:{uuid.uuid4().hex}", rec, ts_ms)
        if self.log_path is not None:
            with open(self.log_path, "a") as fh:
                fh.write(f"{pd.Timestamp(ts_ms, unit='ms', tz='UTC').isoformat()} {kind} {message}\n")
