"""Operator commands on a book's journal: acknowledge one position's persisted halt; the book kill switch."""

from __future__ import annotations

import getpass
import os
import time
import uuid
from pathlib import Path

from basisctl.live.ack import pending_halts
from basisctl.live.book.config import load_book
from basisctl.live.config import ConfigError
from basisctl.live.journal import Journal


def acknowledge_position(book_path: Path, position: str, note: str = "") -> str:
    """Append an ack to ``position``'s rows of the book's journal; a one-line summary. The running book (or its
    next start) lifts that position's halt; the other positions are untouched."""
    book = load_book(book_path)
    ids = [p.id for p in book.positions]
    if position not in ids:
        raise ConfigError(f"{book_path}: no position '{position}' (positions: {', '.join(ids)})")
    path = book.resolve(book.journal)
    if not path.is_file():
        raise ConfigError(f"{book_path}: field 'journal': {path} does not exist (nothing to acknowledge)")
    root = Journal(path)
    try:
        j = root.scoped(position)
        halts = pending_halts(j)
        if not halts:
            return f"{path} [{position}]: no halt is waiting for an acknowledgement; nothing written"
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        j.append("control", f"ack:{uuid.uuid4().hex}",
                 {"ack": True, "by": who, "pid": os.getpid(), "note": note, "halts": halts}, int(time.time() * 1000))
        kinds = ", ".join(sorted({str(h.get("halt")) for h in halts}))
        return (f"{path} [{position}]: acknowledged {len(halts)} halt(s) ({kinds}); new risk is allowed from the "
                "position's next cycle")
    finally:
        root.close()


def kill_book(book_path: Path, note: str = "") -> Path:
    """Create the book's kill file: every position halts new risk at its next cycle (and flattens with
    ``kill.flatten = true``). Remove the file to allow new risk after a restart."""
    book = load_book(book_path)
    f = book.resolve(book.kill.file)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {note}\n")
    return f
