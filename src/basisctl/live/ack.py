"""`basisctl ack`: an operator's acknowledgement of a persisted halt, appended to the journal.

It does not take the journal lock: it is one SQLite append (WAL, its own transaction) that the running
controller reads at the start of its next cycle (``Controller._check_ack``), or a later start reads.
"""

from __future__ import annotations

import getpass
import os
import time
import uuid

from basisctl.live.config import ConfigError, ControllerConfig
from basisctl.live.journal import Journal


def pending_halts(journal: Journal) -> list[dict[str, object]]:
    """Persisted halts after the last ack (oldest first)."""
    ctl = journal.entries("control")
    last_ack = max((e.seq for e in ctl if e.key.startswith("ack:")), default=-1)
    return [e.payload for e in ctl if e.key.startswith("halt:") and e.seq > last_ack]


def acknowledge(cfg: ControllerConfig, note: str = "") -> str:
    """Append an ack for the config's journal; returns a one-line summary. ConfigError when there is none."""
    path = cfg.resolve(cfg.journal)
    if not path.is_file():
        raise ConfigError(f"config field 'journal': {path} does not exist (nothing to acknowledge)")
    j = Journal(path)
    try:
        halts = pending_halts(j)
        if not halts:
            return f"{path}: no halt is waiting for an acknowledgement; nothing written"
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        now = int(time.time() * 1000)
        j.append("control", f"ack:{uuid.uuid4().hex}",
                 {"ack": True, "by": who, "pid": os.getpid(), "note": note, "halts": halts}, now)
        kinds = ", ".join(sorted({str(h.get("halt")) for h in halts}))
        return f"{path}: acknowledged {len(halts)} halt(s) ({kinds}); new risk is allowed from the next cycle"
    finally:
        j.close()
