"""The durable journal: an append-only SQLite log with idempotency keys.

Guarantees
----------
* WAL mode, ``synchronous=FULL``: a committed append survives a process kill or power loss.
* One transaction per append; every entry has a unique ``key``; appending an existing key is a no-op that
  returns ``False`` (that is what makes fill, funding and transfer ingestion idempotent).
* Write-ahead discipline (enforced by the controller): an order/transfer *intent* - with its cloid/nonce and
  expiry - is committed here BEFORE the request leaves the process; its *result* is appended after.
* Nonces are allocated inside the same transaction that records the intent: strictly increasing across
  restarts (max(clock ms, last + 1)).

Entry kinds: genesis, cycle, decision, intent, result, fill, funding, transfer, alert, trade, control.
Secrets never reach this file: payloads are plain dicts built by the controller from public data only.

Books (``live/book``): one journal file holds every position. :meth:`Journal.scoped` returns a view of the same
file whose keys and kinds carry the position's prefix (``"<id>/"``, stored as ``<id>/fill`` etc.), so every
position keeps its own genesis, intents, fills and halts while sharing the file, its lock and its nonce stream.
A journal written by a single controller has no prefixed rows and reads exactly as before; the unscoped view
never returns a position's rows.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from basisctl.errors import BasisctlError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries(seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, "
    "kind TEXT NOT NULL, ts_ms INTEGER NOT NULL, wall_ms INTEGER NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_kind ON entries(kind, seq)",
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


class JournalError(BasisctlError):
    pass


class JournalWriteError(JournalError):
    """An append could not be committed (disk full, read-only file, I/O error): the real error, one line."""


def _rollback(db: sqlite3.Connection) -> None:
    """ROLLBACK if a transaction is still open (SQLite ends it itself on SQLITE_FULL / I/O errors; the old
    unconditional ROLLBACK then raised 'cannot rollback' and hid the real error)."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _write_error(path: str, e: sqlite3.Error) -> JournalWriteError:
    return JournalWriteError(f"{path}: journal write failed ({' '.join(str(e).split())}); no new risk")


@dataclass(frozen=True)
class Entry:
    seq: int
    key: str
    kind: str
    ts_ms: int
    wall_ms: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class DerivedPosition:
    """Balances implied by genesis + every journaled fill, funding payment and transfer [base units / USDC]."""

    spot_base: float
    spot_usdc: float
    perp_size: float
    perp_cash: float

    def to_dict(self) -> dict[str, float]:
        """The four balances by field name (the names of :class:`~basisctl.venues.protocol.VenueState`)."""
        return asdict(self)


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_existing(path: Path) -> bool:
    """True when ``path`` exists and looks like a SQLite file; JournalError for an empty or foreign file."""
    if not path.exists():
        return False
    if path.is_dir():
        raise JournalError(f"{path}: is a directory; expected a journal file")
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise JournalError(f"{path}: journal file exists but is empty (0 bytes); refusing to start a fresh journal "
                           "over it (its history is lost: restore it from a backup, or delete the file to start anew)")
    if head != _SQLITE_MAGIC:
        raise JournalError(f"{path}: not a basisctl journal (not a SQLite file); refusing to use it")
    return True


ENTRY_COLUMNS = ("seq", "key", "kind", "ts_ms", "wall_ms", "payload")


def missing_columns(db: sqlite3.Connection) -> list[str]:
    """Columns of the journal's ``entries`` table that ``db`` lacks (a foreign table of the same name)."""
    have = {str(r[1]) for r in db.execute("PRAGMA table_info(entries)").fetchall()}
    return [c for c in ENTRY_COLUMNS if c not in have]


#: entry kinds that move the journal-derived balances (genesis aside)
_DERIVING_KINDS = ("fill", "funding", "transfer", "adopt")


def _genesis_balances(g: Entry, path: str = "journal") -> dict[str, float]:
    try:
        return {k: _num(g.payload, k) for k in ("spot_base", "spot_usdc", "perp_size", "perp_cash")}
    except ValueError as e:
        raise JournalError(f"{path}: entry seq {g.seq} (genesis) is damaged ({e}); refusing to derive the position "
                           "from it - restore the journal from a backup") from None


def _num(p: dict[str, Any], k: str, default: float | None = None) -> float:
    """A finite number from a journal payload (``default`` when absent); ValueError otherwise."""
    v = p.get(k, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"field '{k}': expected a finite number (got {v!r})")
    return float(v)


def _fold(bal: dict[str, float], rows: Iterable[tuple[int, str, str]], n_pfx: int, last: int,
          path: str = "journal") -> int:
    """Apply fill / funding / transfer / adopt rows (seq order) to ``bal`` in place; returns the last seq seen.
    A damaged row (not JSON, a missing or non-numeric field) is a JournalError naming the file, seq and field:
    the derived position is never computed from a guess."""
    for seq, kind, body in rows:
        try:
            _fold_row(bal, str(kind)[n_pfx:], json.loads(body))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            why = f"field {e}" if isinstance(e, KeyError) else " ".join(str(e).split())
            raise JournalError(f"{path}: entry seq {seq} ({kind}) is damaged ({why}); refusing to derive the "
                               "position from it - restore the journal from a backup") from None
        last = int(seq)
    return last


def _fold_row(bal: dict[str, float], k: str, p: Any) -> None:
    if not isinstance(p, dict):
        raise ValueError(f"payload is not a JSON object (got {type(p).__name__})")
    if k == "fill":
        if p.get("side") not in ("buy", "sell") or p.get("market") not in ("spot", "perp"):
            raise ValueError(f"field 'side'/'market': expected buy|sell and spot|perp (got {p.get('side')!r}, "
                             f"{p.get('market')!r})")
        sgn = 1.0 if p["side"] == "buy" else -1.0
        size, px, fee = _num(p, "size"), _num(p, "px"), _num(p, "fee_usd")
        if p["market"] == "spot":
            bal["spot_base"] += sgn * size - _num(p, "fee_base", 0.0)
            bal["spot_usdc"] -= sgn * size * px + fee
        else:
            bal["perp_size"] += sgn * size
            bal["perp_cash"] -= sgn * size * px + fee
    elif k == "funding":
        bal["perp_cash"] += _num(p, "amount_usd")
    elif k == "transfer":
        a = _num(p, "amount_usd")
        sgn = 1.0 if p["to_perp"] else -1.0
        bal["spot_usdc"] -= sgn * a
        bal["perp_cash"] += sgn * a
    else:  # adopt: venue truth adopted after an unexplained change (and its reversals)
        delta = p["delta"]
        if not isinstance(delta, dict) or not set(delta) <= set(bal):
            raise ValueError(f"field 'delta': expected balances by name (got {delta!r})")
        for name in delta:
            bal[name] += _num(delta, name)


class Journal:
    """Append-only journal in one SQLite file (``:memory:`` for throwaway use)."""

    def __init__(self, path: str | Path):
        """Open (or create) the journal. A path that does not exist is a fresh journal; an EXISTING file must be
        a readable basisctl journal: an empty (0-byte) file, a file that is not SQLite, a corrupt database or
        one without the journal's table is refused (JournalError naming the file), never silently re-created.
        (The journal lock creates a new journal atomically: built aside, then linked into place.)
        """
        self.path = str(path)
        self.scope = ""  # '' = the unscoped journal; a book position's view: its id (see :meth:`scoped`)
        self._pfx = ""
        self._owner = True  # only the object that opened the connection closes it
        #: derived_position's fold so far: (genesis seq, last seq folded, balances); per object and scope
        self._derived_cache: tuple[int, int, dict[str, float]] | None = None
        existing = False
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            existing = _check_existing(Path(self.path))
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            if existing:
                self._verify()
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if self.path != ":memory:" and str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: could not enable WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous=FULL")
            for stmt in _SCHEMA:
                self._db.execute(stmt)
        except sqlite3.DatabaseError as e:
            raise JournalError(f"{self.path}: journal is not readable ({e}); refusing to start - restore it from "
                               "a backup (a fresh journal would forget every order, fill and halt)") from None

    def scoped(self, scope: str) -> Journal:
        """A view of this journal for one book position: same file and connection, keys and kinds prefixed with
        ``scope + '/'`` (``scope``: letters, digits, '_' and '-'). Closing the view leaves the connection open."""
        import copy
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", scope):
            raise JournalError(f"journal scope {scope!r}: expected letters, digits, '_' or '-' (at most 64)")
        view = copy.copy(self)
        view.scope, view._pfx, view._owner = scope, scope + "/", False
        view._derived_cache = None  # the parent's fold is of other rows
        return view

    def _kind_sql(self) -> tuple[str, tuple[str, ...]]:
        """WHERE clause selecting this view's rows when no kind is given."""
        if self._pfx:
            return " WHERE kind >= ? AND kind < ?", (self._pfx, self.scope + "0")  # '0' follows '/' in ASCII
        return " WHERE instr(kind, '/') = 0", ()

    def _verify(self) -> None:
        """An existing file: SQLite's quick_check must pass and the 'entries' table must be there."""
        rows = [str(r[0]) for r in self._db.execute("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            raise JournalError(f"{self.path}: journal is corrupt (SQLite quick_check: {'; '.join(rows)[:120]}); "
                               "refusing to start - restore it from a backup")
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='entries'").fetchone() is None:
            raise JournalError(f"{self.path}: not a basisctl journal (no 'entries' table); refusing to use it")
        if missing := missing_columns(self._db):
            raise JournalError(f"{self.path}: not a basisctl journal (table 'entries' lacks {', '.join(missing)}); "
                               "refusing to use it")

    # ------------------------------------------------------------------ writes
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT). Any error rolls it back; an SQLite error (disk
        full, read-only file) surfaces as one :class:`JournalWriteError` line."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            _rollback(self._db)
            raise _write_error(self.path, e) from None
        except BaseException:
            _rollback(self._db)
            raise

    @staticmethod
    def _bump_nonce(db: sqlite3.Connection) -> int:
        """Allocate the next nonce inside an open transaction: strictly above the last one, at least now [ms]."""
        last = db.execute("SELECT value FROM counters WHERE name='nonce'").fetchone()
        nonce = max(int(time.time() * 1000), (int(last[0]) + 1) if last else 0)
        db.execute(
            "INSERT INTO counters(name, value) VALUES('nonce', ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (nonce,),
        )
        return nonce

    def append(self, kind: str, key: str, payload: dict[str, Any], ts_ms: int) -> bool:
        """Append one entry in its own transaction; False (and nothing written) if ``key`` already exists."""
        body = json.dumps(payload, sort_keys=True, allow_nan=True)
        key, kind = self._pfx + key, self._pfx + kind
        with self._transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO entries(key, kind, ts_ms, wall_ms, payload) VALUES(?,?,?,?,?)",
                (key, kind, int(ts_ms), int(time.time() * 1000), body),
            )
        return cur.rowcount == 1

    def append_intent(self, key: str, payload: dict[str, Any], ts_ms: int, need_nonce: bool = False) -> dict[str, Any]:
        """Record an intent (idempotent by key). With ``need_nonce`` a fresh monotonic nonce [ms-like integer]
        is allocated in the same transaction and stored in the payload. Returns the stored payload."""
        key = self._pfx + key
        with self._transaction() as db:
            row = db.execute("SELECT payload FROM entries WHERE key=?", (key,)).fetchone()
            if row is not None:
                return dict(json.loads(row[0]))
            body = dict(payload)
            if need_nonce:
                body["nonce"] = self._bump_nonce(db)
            db.execute(
                "INSERT INTO entries(key, kind, ts_ms, wall_ms, payload) VALUES(?,?,?,?,?)",
                (key, self._pfx + "intent", int(ts_ms), int(time.time() * 1000), json.dumps(body, sort_keys=True)),
            )
        return body

    def cloid_prefix(self) -> str:
        """This journal's client-order-id prefix: 8 hex digits drawn once and kept in the journal (issue 19, N6).
        Every order this journal sends carries it; a fill with a cloid this journal never sent is a second
        controller on the account."""
        name = self._pfx + "cloid_prefix"
        row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        if row is not None:
            return f"{int(row[0]):08x}"
        import secrets

        v = secrets.randbits(32)
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO counters(name, value) VALUES(?, ?)", (name, v))
        row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return f"{int(row[0]):08x}"

    def next_nonce(self) -> int:
        """A fresh nonce for an action that is not an intent (e.g. scheduleCancel)."""
        with self._transaction() as db:
            return self._bump_nonce(db)

    # ------------------------------------------------------------------ reads
    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> Iterator[Entry]:
        n = len(self._pfx)
        for r in self._db.execute(sql, args):
            try:
                payload = json.loads(r[5])
            except (TypeError, ValueError):
                payload = None
            if not isinstance(payload, dict):
                raise JournalError(f"{self.path}: entry seq {r[0]} ({r[2]}) is damaged (payload is not a JSON "
                                   "object); refusing to use it - restore the journal from a backup")
            yield Entry(int(r[0]), str(r[1])[n:], str(r[2])[n:], int(r[3]), int(r[4]), payload)

    def get(self, key: str) -> Entry | None:
        return next(self._rows("SELECT seq, key, kind, ts_ms, wall_ms, payload FROM entries WHERE key=?",
                               (self._pfx + key,)), None)

    def has(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM entries WHERE key=?", (self._pfx + key,)).fetchone() is not None

    def entries(self, kind: str | None = None, limit: int | None = None, newest_first: bool = False,
                after_ts_ms: int | None = None) -> list[Entry]:
        """Entries (of ``kind``; with ``after_ts_ms``: only those with ts_ms > it [ms], filtered in SQLite)."""
        order = "DESC" if newest_first else "ASC"
        sql = "SELECT seq, key, kind, ts_ms, wall_ms, payload FROM entries"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql += " WHERE kind=?"
            args = (self._pfx + kind,)
            if after_ts_ms is not None:
                sql += " AND ts_ms > ?"
                args += (int(after_ts_ms),)
        elif after_ts_ms is not None:
            raise ValueError("entries(after_ts_ms=...) needs a kind")
        else:
            where, args = self._kind_sql()
            sql += where
        sql += f" ORDER BY seq {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return list(self._rows(sql, args))

    def open_intents(self) -> list[Entry]:
        """Intents with no result entry yet (in flight when the process stopped), oldest first."""
        p = self._pfx
        return list(
            self._rows(
                "SELECT i.seq, i.key, i.kind, i.ts_ms, i.wall_ms, i.payload FROM entries i WHERE i.kind=? "
                "AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.key = ? || 'result:' || substr(i.key, ?)) "
                "ORDER BY i.seq", (p + "intent", p, len(p) + 8)
            )
        )

    def sum_payload(self, kind: str, name: str) -> float:
        """Sum of the numeric payload field ``name`` over entries of ``kind`` (0.0 when none), summed in SQLite
        without decoding each payload."""
        row = self._db.execute("SELECT TOTAL(json_extract(payload, ?)) FROM entries WHERE kind=?",
                               ("$." + name, self._pfx + kind)).fetchone()
        return float(row[0])

    def max_ts(self, kind: str) -> int | None:
        """Newest ``ts_ms`` among entries of ``kind`` [ms], None when there are none."""
        row = self._db.execute("SELECT MAX(ts_ms) FROM entries WHERE kind=?", (self._pfx + kind,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def count(self, kind: str) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries WHERE kind=?", (self._pfx + kind,)).fetchone()[0])

    def genesis(self) -> Entry | None:
        return self.get("genesis")

    def derived_position(self) -> DerivedPosition:
        """Balances from genesis plus all journaled fills, funding and transfers (fees in USDC, or in the base
        token where the venue charged it there: ``fee_base``) and adopted venue truth, folded in journal order.

        Incremental: the fold is kept up to the last row it saw (per journal object and scope) and resumed from
        there, reading only newer rows - the journal is append-only and SQLite assigns ``seq`` under its write
        lock, so a row committed later always has a higher ``seq``. The result is exactly the full rescan's
        (:meth:`derived_position_rescan`, same fold, same order)."""
        g = self.genesis()
        if g is None:
            raise JournalError(f"{self.path}: journal has no genesis entry (never started)")
        cache = self._derived_cache
        if cache is None or cache[0] != g.seq:
            cache = (g.seq, 0, _genesis_balances(g, self.path))
        gseq, last, bal = cache
        bal = dict(bal)
        last = _fold(bal, self._db.execute(
            "SELECT seq, kind, payload FROM entries WHERE kind IN (?,?,?,?) AND seq > ? ORDER BY seq",
            (*(self._pfx + k for k in _DERIVING_KINDS), last)), len(self._pfx), last, self.path)
        self._derived_cache = (gseq, last, bal)
        return DerivedPosition(bal["spot_base"], bal["spot_usdc"], bal["perp_size"], bal["perp_cash"])

    def derived_position_rescan(self) -> DerivedPosition:
        """:meth:`derived_position` from scratch (no cache): the reference the incremental fold must equal."""
        g = self.genesis()
        if g is None:
            raise JournalError(f"{self.path}: journal has no genesis entry (never started)")
        bal = _genesis_balances(g, self.path)
        _fold(bal, self._db.execute(
            "SELECT seq, kind, payload FROM entries WHERE kind IN (?,?,?,?) ORDER BY seq",
            tuple(self._pfx + k for k in _DERIVING_KINDS)), len(self._pfx), 0, self.path)
        return DerivedPosition(bal["spot_base"], bal["spot_usdc"], bal["perp_size"], bal["perp_cash"])

    def close(self) -> None:
        if self._owner:  # a scoped view shares its parent's connection
            self._db.close()
