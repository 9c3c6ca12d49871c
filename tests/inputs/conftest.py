"""Fixtures for issue 10 (trustworthy inputs, CLI edges): the real files of the data dir, read in place.

The data dir is the one tests/conftest.py resolves (``BASISCTL_DATA_DIR``, default ``../shared/data``); the same
folder the data locator reads, so corrupted copies made in ``tmp_path`` are compared with what commands see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datadir import data_dir, require


@pytest.fixture(scope="session")
def real() -> Path:
    return require(data_dir())
