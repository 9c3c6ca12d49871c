"""A read-only view of a controller journal for attribution: opened with SQLite ``mode=ro`` so that reading a
running controller's journal (the dashboard's /pnl, ``basisctl pnl``) never writes to it or takes a write lock."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basisctl.errors import BasisctlError


@dataclass(frozen=True)
class ReadEntry:
    seq: int
    key: str
    kind: str
    ts_ms: int
    payload: dict[str, Any]


class JournalReader:
    """``entries(kind)`` and ``path`` of a journal file, read-only (BasisctlError for a missing / foreign file)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if not Path(self.path).is_file():
            raise BasisctlError(f"{self.path}: no such journal file")
        try:
            self._db = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, timeout=30.0,
                                       check_same_thread=False)
            self._db.execute("SELECT seq, key, kind, ts_ms, payload FROM entries LIMIT 1").fetchall()
        except sqlite3.DatabaseError as e:
            raise BasisctlError(f"{self.path}: not a readable basisctl journal ({e})") from None

    def _read(self, sql: str, args: tuple[str, ...]) -> list[ReadEntry]:
        """Rows as entries; BasisctlError naming the file (and the row) for a damaged database or payload."""
        try:
            rows = self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise BasisctlError(f"{self.path}: not a readable basisctl journal ({e})") from None
        out = []
        for r in rows:
            try:
                payload = json.loads(r[4])
            except (TypeError, ValueError):
                payload = None
            if not isinstance(payload, dict):
                raise BasisctlError(f"{self.path}: entry seq {r[0]} ({r[2]}): payload is not a JSON object "
                                    f"(got {str(r[4])[:60]!r}); the journal is damaged")
            out.append(ReadEntry(int(r[0]), str(r[1]), str(r[2]), int(r[3]), payload))
        return out

    def entries(self, kind: str) -> list[ReadEntry]:
        return self._read("SELECT seq, key, kind, ts_ms, payload FROM entries WHERE kind=? ORDER BY seq", (kind,))

    def all_entries(self, kinds: tuple[str, ...] | None = None) -> list[ReadEntry]:
        """Every row of these kinds, oldest first, a book journal's position rows (kind ``"<id>/<kind>"``)
        included; kinds as stored."""
        sql = "SELECT seq, key, kind, ts_ms, payload FROM entries"
        args: tuple[str, ...] = ()
        if kinds:
            sql += f" WHERE substr(kind, instr(kind, '/') + 1) IN ({','.join('?' * len(kinds))})"
            args = tuple(kinds)
        return self._read(sql + " ORDER BY seq", args)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
