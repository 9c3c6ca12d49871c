"""Where a study's result lives for the report and notebooks: the one result cache (:mod:`basisctl.cache`, entry
``study/latest``: the summary and every (rule, path) row), and a Parquet of the rows for notebooks at
``<dir>/rows_<hash12>.parquet`` (``<dir>`` = ``$BASISCTL_STUDY_DIR``, else the result cache's ``study`` folder).

The entry's key holds the package's source hash (as every cache entry): a result computed by other code is not
served (the report then asks for a rerun), and ``basisctl report --no-cache`` still reads it (a stored result,
not a memo). The report reads this entry; the full study is one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl import cache

ENV_DIR: str = "BASISCTL_STUDY_DIR"
ENTRY: str = "study/latest"


def result_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    return cache.cache_dir() / "study"


def _params(directory: Path | None) -> dict[str, str]:
    return {"store": str(directory or result_dir())}


def save(summary: dict[str, Any], rows: pd.DataFrame, directory: Path | None = None,
         parquet: Path | None = None) -> tuple[Path, Path]:
    """Store the summary and the rows in the result cache and write the rows' Parquet; returns (cache dir,
    parquet path)."""
    d = directory or result_dir()
    pq = parquet or d / f"rows_{summary['study_hash'][:12]}.parquet"
    pq.parent.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(pq, index=False)
    cache.store_table(ENTRY, _params(directory), {"summary": {**summary, "rows_file": str(pq)}, "rows": rows})
    return cache.cache_dir(), pq


def load(directory: Path | None = None) -> tuple[dict[str, Any], pd.DataFrame | None] | None:
    """The stored summary and rows, or None when no study has been run (by this code)."""
    was = cache.enabled()
    cache.set_enabled(True)  # a stored result, not a memo: --no-cache does not hide it
    try:
        t = cache.load_table(ENTRY, _params(directory))
    finally:
        cache.set_enabled(was)
    if not t or "summary" not in t:
        return None
    rows = t.get("rows")
    return dict(t["summary"]), rows if isinstance(rows, pd.DataFrame) else None
