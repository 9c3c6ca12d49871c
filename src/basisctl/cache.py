"""One result cache for expensive computations (report sections, GARCH fits): pickles under the user cache dir.

Where: ``$BASISCTL_CACHE_DIR`` if set, else ``<platform user cache dir>/basisctl/results``
(``platformdirs.user_cache_dir("basisctl")``). Delete the folder to empty it.

What makes an entry valid (all must hold, else the value is recomputed and the entry replaced):

- the **resolved parameters** (``params``: pass every default explicitly; they are canonicalised to JSON, so
  dataclasses, timestamps, tuples and paths are fine) and the entry's ``name``;
- a **hash of the package's source**: every ``*.py`` file of ``basisctl`` (the version string is always 0.1.0,
  so it cannot serve), plus the Python, numpy, pandas, scipy and numba versions;
- the data dirs searched (:func:`basisctl.data.locator.roots`);
- the **fingerprints of the input files actually read** by the computation, recorded while it ran
  (:func:`basisctl.data.locator.recording`, worker processes included): path, size, ``mtime_ns`` and a SHA-256
  of the content. A file counts as unchanged when path, size and content hash agree (a ``touch`` or a copy
  keeps the entry; an appended row does not). Every file lookup is recorded too, including the ones that found
  nothing, and must resolve to the same path now: a new file that shadows an old one, or a file that appears
  where there was none, invalidates the entry.

The first three form the entry's file name; the fingerprints are stored in the entry and checked on load,
because which files a computation reads is only known once it has run (the manifest scheme of build caches).

Substitution warnings made while computing are stored with the value and replayed on a hit (so ``--strict``
refuses a cached result exactly as a computed one), and the files read are reported to the locator (the
report's Data section lists them). A corrupt or unreadable entry is a one-line ``warning:`` on stderr and a
recomputation, never a crash; a value that cannot be stored is a warning too.

``set_enabled(False)`` (``basisctl report --no-cache``) recomputes everything and refreshes the entries.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from basisctl.data import locator
from basisctl.errors import BasisctlError

T = TypeVar("T")

ENV_CACHE_DIR = "BASISCTL_CACHE_DIR"
#: bump when the entry layout changes (old entries then count as corrupt and are recomputed)
FORMAT = 1
#: files larger than this are fingerprinted by path, size and mtime_ns only [bytes]
MAX_HASH_BYTES = 512 * 2**20

_enabled = True


def cache_dir() -> Path:
    """Root of the result cache: ``$BASISCTL_CACHE_DIR`` or ``<user cache dir>/basisctl/results``."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("basisctl")) / "results"


def set_enabled(on: bool) -> None:
    """False: every :func:`memoize` call recomputes (and refreshes its entry); True: hits are served again."""
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    return _enabled


@contextmanager
def disabled() -> Iterator[None]:
    """Recompute inside the block (``--no-cache``), restoring the previous setting afterwards."""
    before = _enabled
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(before)


# ---------------------------------------------------------------------------------------------- key parts
def tree_hash(root: Path) -> str:
    """SHA-256 over the relative paths and bytes of every ``*.py`` file under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 over every ``*.py`` file of the installed ``basisctl`` package (relative path + bytes) and the
    versions of the numerical stack."""
    h = hashlib.sha256(tree_hash(Path(__file__).resolve().parent).encode())
    # from the installed metadata, not by importing them (numpy, pandas, scipy and numba take ~1.3 s to import):
    # a cache hit must not load the numerical stack (docs/performance.md, "static end to end")
    versions = "|".join(_dist_version(d) for d in ("numpy", "pandas", "scipy", "numba"))
    h.update(f"{sys.version}|{versions}".encode())
    return h.hexdigest()


def _dist_version(dist: str) -> str:
    """The installed version of distribution ``dist`` ('-' when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:  # pragma: no cover - all four are base dependencies
        return "-"


def canonical(obj: Any) -> Any:
    """A JSON-able, order-stable form of ``obj`` (dataclasses, mappings, sequences, timestamps, paths, numbers).

    Raises TypeError for anything else: a parameter the key cannot see must not be silently dropped."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return repr(obj)  # exact: 0.1 and 0.1000000001 differ, nan is stable
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__dc__": type(obj).__qualname__,
                **{f.name: canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, dict):
        return {"__map__": sorted((json.dumps(canonical(k), sort_keys=True), canonical(v)) for k, v in obj.items())}
    if isinstance(obj, (list, tuple)):
        return [canonical(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(json.dumps(canonical(x), sort_keys=True) for x in obj)
    if isinstance(obj, Path):
        return {"__path__": str(obj)}
    if isinstance(obj, (_dt.datetime, _dt.date)):  # pandas Timestamp included
        return {"__time__": obj.isoformat()}
    if isinstance(obj, _dt.timedelta):
        return {"__delta__": obj.total_seconds()}
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return canonical(obj.item())
        if isinstance(obj, np.ndarray):
            return {"__array__": str(obj.dtype), "shape": list(obj.shape),
                    "sha256": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()}
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cache key: cannot canonicalise a {type(obj).__name__} ({obj!r:.80})")


def entry_key(name: str, params: Any) -> str:
    """File-name key of an entry: name, resolved parameters, source hash and the data dirs searched."""
    payload = {"name": name, "params": canonical(params), "source": source_hash(),
               "roots": [str(r.path) for r in locator.roots()], "format": FORMAT}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class FileFingerprint:
    """One input file: dataset label, path, size [bytes], mtime_ns and SHA-256 of the content ('' when skipped)."""

    label: str
    path: str
    size: int
    mtime_ns: int
    sha256: str

    def matches(self, other: FileFingerprint) -> bool:
        """Same file: same path and size and, when both have one, the same content hash (else the same mtime)."""
        if self.path != other.path or self.size != other.size:
            return False
        if self.sha256 and other.sha256:
            return self.sha256 == other.sha256
        return self.mtime_ns == other.mtime_ns


_hash_memo: dict[tuple[str, int, int], str] = {}


def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    key = (path, size, mtime_ns)
    if key not in _hash_memo:
        if size > MAX_HASH_BYTES:
            return ""
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _hash_memo[key] = h.hexdigest()
    return _hash_memo[key]


def fingerprint(label: str, path: str | Path) -> FileFingerprint:
    """The file's fingerprint now (OSError when it cannot be read)."""
    st = os.stat(path)
    return FileFingerprint(label, str(path), st.st_size, st.st_mtime_ns,
                           _content_hash(str(path), st.st_size, st.st_mtime_ns))


# ---------------------------------------------------------------------------------------------- entries
@dataclass
class Entry:
    """What one cache file holds."""

    format: int
    name: str
    params: Any
    files: list[FileFingerprint]
    probes: dict[str, str | None]
    warnings: list[tuple[str, str]]
    value: Any


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A memoised value with how it was obtained: ``hit`` (served from the cache) and the input files it read."""

    value: T
    hit: bool
    files: tuple[FileFingerprint, ...] = field(default=())

    @property
    def status(self) -> str:
        return "cached" if self.hit else "computed"


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: cache: {message}\n")
    sys.stderr.flush()


def _entry_path(name: str, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return cache_dir() / safe / f"{key}.pkl"


def _load(path: Path, name: str) -> Entry | None:
    """The stored entry, or None when absent or stale; a corrupt one is a warning (then recomputed)."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
        if not isinstance(entry, Entry) or entry.format != FORMAT or entry.name != name:
            raise ValueError("not a basisctl cache entry of this format")
    except Exception as e:  # any unreadable entry (truncated, foreign, old classes) is recomputed
        _warn(f"unreadable entry {path} ({type(e).__name__}: {str(e)[:120]}); recomputing")
        return None
    return entry if _valid(entry) else None


def _valid(entry: Entry) -> bool:
    """Every recorded lookup resolves alike and every input file is unchanged."""
    try:
        for key, was in entry.probes.items():
            if locator.resolve_probe(key) != was:
                return False
        return all(fingerprint(fp.label, fp.path).matches(fp) for fp in entry.files)
    except (OSError, ValueError, BasisctlError):
        return False


def _store(path: Path, entry: Entry) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # atomic: a reader sees the old entry or the new one, never half of one
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception as e:  # a full disk or an unpicklable value must not fail the computation
        _warn(f"could not store {path} ({type(e).__name__}: {str(e)[:120]})")


def _fingerprints(reads: locator.Reads) -> list[FileFingerprint] | None:
    """Fingerprints of the files read; None when a file changed while the computation ran (then not stored)."""
    out = []
    for label, p in sorted(reads.files.items()):
        try:
            fp = fingerprint(label, p)
        except OSError:
            return None
        at_read = reads.stats.get(p)
        if at_read is not None and at_read != (fp.mtime_ns, fp.size):
            return None
        out.append(fp)
    return out


def memoize(name: str, params: Any, compute: Callable[[], T]) -> Outcome[T]:
    """``compute()``'s value from the cache when the entry for (``name``, ``params``) is valid, else computed,
    stored and returned. ``params`` must hold every input that is not a data-dir file (defaults resolved)."""
    from basisctl.warnings import collecting, substitute

    path = _entry_path(name, entry_key(name, params))
    if _enabled:
        entry = _load(path, name)
        if entry is not None:
            locator.note_reads(locator.Reads(files={fp.label: fp.path for fp in entry.files},
                                             probes=dict(entry.probes)))
            for kind, msg in entry.warnings:
                substitute(kind, msg)  # type: ignore[arg-type]
            return Outcome(entry.value, True, tuple(entry.files))
    with locator.recording() as reads, collecting() as col:
        value = compute()
    for s in col.items:  # without an outer collector these become Python warnings, as on a hit (else a no-op)
        substitute(s.kind, s.message)
    fps = _fingerprints(reads)
    if fps is None:
        _warn(f"{name}: an input file changed while computing; result not cached")
        return Outcome(value, False)
    _store(path, Entry(FORMAT, name, canonical(params), fps, dict(reads.probes),
                       [(s.kind, s.message) for s in col.items], value))
    return Outcome(value, False, tuple(fps))


def load_table(name: str, params: Any) -> dict[str, Any]:
    """A persistent lookup table for many small results whose own keys are content hashes of their inputs (the
    GARCH fits of a study: one entry per price series instead of one file per fit). Empty when absent, corrupt
    (a warning) or when the cache is disabled. The entry key is (name, params, source hash, data dirs) as for
    :func:`memoize`; no file fingerprints, because every row's key already hashes the data it was computed from."""
    if not _enabled:
        return {}
    entry = _load(_entry_path(name, entry_key(name, params)), name)
    return dict(entry.value) if entry is not None and isinstance(entry.value, dict) else {}


def store_table(name: str, params: Any, table: dict[str, Any]) -> None:
    """Write ``table`` as the entry of (name, params) (replacing it; a failure is a warning)."""
    _store(_entry_path(name, entry_key(name, params)), Entry(FORMAT, name, canonical(params), [], {}, [], table))


def parsed_frame(kind: str, path: str, args: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """A data file's parsed, validated frame (``compute()``) through the cache, keyed by the file's path, size and
    SHA-256 and the reader's arguments (and, as every entry, the package source): a second process skips the CSV
    parse and validation (docs/performance.md, "static end to end"). The validation warnings are stored and
    replayed; a file that fails validation raises and stores nothing. Files too large to hash are not stored."""
    fp = fingerprint(kind, path)
    if not fp.sha256:
        return compute()
    params = {"kind": kind, "path": str(path), "size": fp.size, "sha256": fp.sha256, "args": list(args)}
    return memoize(f"data/parsed {kind}", params, compute).value


def clear(name: str | None = None) -> int:
    """Delete every entry (or those of ``name``); returns how many files were removed."""
    base = cache_dir() if name is None else _entry_path(name, "x").parent
    n = 0
    if base.is_dir():
        for p in base.rglob("*.pkl"):
            p.unlink(missing_ok=True)
            n += 1
    return n


__all__ = ["ENV_CACHE_DIR", "FileFingerprint", "Outcome", "cache_dir", "canonical", "clear", "disabled",
           "enabled", "entry_key", "fingerprint", "load_table", "memoize", "parsed_frame", "set_enabled",
           "source_hash", "store_table", "tree_hash"]

locator.set_frame_store(parsed_frame)  # every process that imports the cache reads parsed data files from it
