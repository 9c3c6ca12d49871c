"""One place that decides what a test does when a real data file is missing: skip with one reason, or fail
when ``BASISCTL_REQUIRE_DATA=1`` (CI). Tests call :func:`require` instead of skipping on their own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NO_DATA_REASON = ("needs market data: set BASISCTL_DATA_DIR to a folder in the shared layout (e.g. ../shared/data) "
                  "or run `basisctl data pull`; BASISCTL_REQUIRE_DATA=1 turns this skip into a failure")


def require_data_mode() -> bool:
    return os.environ.get("BASISCTL_REQUIRE_DATA", "") not in ("", "0")


def data_dir() -> Path | None:
    """The data dir of this run (``BASISCTL_DATA_DIR``, set by tests/conftest.py), if it holds funding data."""
    env = os.environ.get("BASISCTL_DATA_DIR")
    d = Path(env) if env else None
    return d if d is not None and (d / "funding").is_dir() else None


def require(path: Path | None, what: str = "the data dir") -> Path:
    """``path`` if it exists; else skip this test with one reason (fail under ``BASISCTL_REQUIRE_DATA=1``)."""
    if path is not None and path.exists():
        return path
    reason = f"{what} not found ({path}): {NO_DATA_REASON}"
    if require_data_mode():
        pytest.fail(reason)
    pytest.skip(reason)
