"""Test-wide setup: where market data comes from, and an isolated user store.

Data-dependent tests read the shared data folder in place (``BASISCTL_DATA_DIR``; default: ``../shared/data``
beside the checkout, as in development and CI). Without it they skip with one reason; with
``BASISCTL_REQUIRE_DATA=1`` (CI) a missing data dir fails the run instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DEFAULT_SHARED = REPO.parent / "shared" / "data"
if not os.environ.get("BASISCTL_DATA_DIR") and _DEFAULT_SHARED.is_dir():
    os.environ["BASISCTL_DATA_DIR"] = str(_DEFAULT_SHARED)
DATA_DIR = Path(os.environ["BASISCTL_DATA_DIR"]) if os.environ.get("BASISCTL_DATA_DIR") else None
HAVE_DATA = DATA_DIR is not None and (DATA_DIR / "funding").is_dir() and (DATA_DIR / "prices").is_dir()
REQUIRE_DATA = os.environ.get("BASISCTL_REQUIRE_DATA", "") not in ("", "0")
NO_DATA_REASON = ("no market data: set BASISCTL_DATA_DIR to a folder in the shared layout (e.g. ../shared/data) "
                  "or run `basisctl data pull`; BASISCTL_REQUIRE_DATA=1 turns this skip into a failure")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_data: reads market data from the data dir (skips without it)")
    if REQUIRE_DATA and not HAVE_DATA:
        raise pytest.UsageError(f"BASISCTL_REQUIRE_DATA=1 but no usable data dir ({DATA_DIR}): {NO_DATA_REASON}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"basisctl data dir: {DATA_DIR if HAVE_DATA else 'none (data-dependent tests skip)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_DATA:
        return
    skip = pytest.mark.skip(reason=NO_DATA_REASON)
    for item in items:
        if item.get_closest_marker("needs_data"):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A developer's real user store never leaks into tests."""
    os.environ["BASISCTL_STORE"] = str(tmp_path_factory.mktemp("user-store"))
