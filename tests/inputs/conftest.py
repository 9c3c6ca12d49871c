"""Fixtures for issue 10 (trustworthy inputs, CLI edges): the real files of the data dir, read in place.

The data dir is the one tests/conftest.py resolves (``BASISCTL_DATA_DIR``, default ``../shared/data``); the same
folder the data locator reads, so corrupted copies made in ``tmp_path`` are compared with what commands see.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def data_dir() -> Path | None:
    env = os.environ.get("BASISCTL_DATA_DIR")
    d = Path(env) if env else None
    return d if d is not None and (d / "funding").is_dir() else None


@pytest.fixture(scope="session")
def real() -> Path:
    d = data_dir()
    if d is None:
        pytest.skip("no market data: set BASISCTL_DATA_DIR to a folder in the shared layout (e.g. ../shared/data)")
    return d
