"""Where a study's result lives for the report and notebooks: ``<dir>/latest.json`` (the summary) and
``<dir>/rows_<hash12>.parquet`` (every (rule, path) row). ``<dir>`` = ``$BASISCTL_STUDY_DIR``, else the user
cache dir's ``study`` folder. (The report reads the cached result; the full study is one command.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

ENV_DIR: str = "BASISCTL_STUDY_DIR"


def result_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("basisctl")) / "study"


def save(summary: dict[str, Any], rows: pd.DataFrame, directory: Path | None = None,
         parquet: Path | None = None) -> tuple[Path, Path]:
    """Write the summary and the rows; returns (json path, parquet path)."""
    d = directory or result_dir()
    d.mkdir(parents=True, exist_ok=True)
    pq = parquet or d / f"rows_{summary['study_hash'][:12]}.parquet"
    pq.parent.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(pq, index=False)
    js = d / "latest.json"
    tmp = js.with_suffix(".tmp")
    tmp.write_text(json.dumps({**summary, "rows_file": str(pq)}, default=float, indent=1))
    tmp.replace(js)
    return js, pq


def load(directory: Path | None = None) -> tuple[dict[str, Any], pd.DataFrame | None] | None:
    """The cached summary and rows, or None when no study has been run."""
    js = (directory or result_dir()) / "latest.json"
    if not js.is_file():
        return None
    s = json.loads(js.read_text())
    pq = Path(s.get("rows_file", ""))
    return s, (pd.read_parquet(pq) if pq.is_file() else None)
