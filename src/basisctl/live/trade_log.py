"""The trade log (``trades.csv``, the schema ``basisctl exec-report`` reads), kept exactly once per trade.

The journal's ``trade`` entries are the truth; the CSV is written from them in journal order, so the first n
journal trades are the n rows the CSV holds. After a kill the CSV is caught up (a line torn by the kill is
dropped and rewritten); a deleted CSV is rebuilt whole.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from basisctl.live.journal import Journal

TRADE_LOG_COLUMNS = ("timestamp", "side", "notional_usd", "target_bps", "realized_bps")


def sync_trade_log(journal: Journal, path: Path) -> int:
    """Append to the CSV at ``path`` the journaled trades it lacks; returns rows written."""
    rows = [e.payload for e in journal.entries("trade")]
    have = 0
    if path.exists():
        text = path.read_text()
        if text and not text.endswith("\n"):  # a write torn by a kill: drop the partial line
            text = text[: text.rfind("\n") + 1]
            path.write_text(text)
        have = max(len(text.splitlines()) - 1, 0)
    if have >= len(rows):
        return 0
    new = not path.exists() or path.stat().st_size == 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TRADE_LOG_COLUMNS)
        if new:
            w.writeheader()
        for row in rows[have:]:
            w.writerow({k: row[k] for k in TRADE_LOG_COLUMNS})
        fh.flush()
        os.fsync(fh.fileno())
    return len(rows) - have
