"""Fixtures for issue 10 (trustworthy inputs, CLI edges): the real files of ../shared/data, read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """``$BASISCTL_DATA_DIR``, else ``<repo>/../shared/data`` (or one level up for a worktree under wt/)."""
    env = os.environ.get("BASISCTL_DATA_DIR")
    cands = [Path(env)] if env else []
    cands += [_REPO.parent / "shared" / "data", _REPO.parent.parent / "shared" / "data"]
    return next((c for c in cands if (c / "funding").is_dir()), None)


@pytest.fixture(scope="session")
def real() -> Path:
    d = data_dir()
    if d is None:
        pytest.skip("real market data (../shared/data or BASISCTL_DATA_DIR) not available")
    return d
