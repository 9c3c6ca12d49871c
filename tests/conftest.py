"""Test-wide setup: where market data comes from, and an isolated user store.

Data-dependent tests read the shared data folder in place (``BASISCTL_DATA_DIR``; default: ``../shared/data``
beside the checkout, as in development and CI). Without it they skip with one reason; with
``BASISCTL_REQUIRE_DATA=1`` (CI) a missing data dir fails the run instead of skipping.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.datadir import NO_DATA_REASON, require_data_mode

# A developer's real user store never leaks into tests (set before collection: parametrisations read data).
os.environ["BASISCTL_STORE"] = tempfile.mkdtemp(prefix="basisctl-test-store-")
os.environ["BASISCTL_STATE_DIR"] = tempfile.mkdtemp(prefix="basisctl-test-state-")  # account locks (issue 19)
# ... nor the developer's result cache (module-scoped fixtures use this one; each test gets its own below).
os.environ["BASISCTL_CACHE_DIR"] = tempfile.mkdtemp(prefix="basisctl-test-cache-")

REPO = Path(__file__).resolve().parents[1]
_DEFAULT_SHARED = REPO.parent / "shared" / "data"
if not os.environ.get("BASISCTL_DATA_DIR") and _DEFAULT_SHARED.is_dir():
    os.environ["BASISCTL_DATA_DIR"] = str(_DEFAULT_SHARED)
DATA_DIR = Path(os.environ["BASISCTL_DATA_DIR"]) if os.environ.get("BASISCTL_DATA_DIR") else None
HAVE_DATA = DATA_DIR is not None and (DATA_DIR / "funding").is_dir() and (DATA_DIR / "prices").is_dir()
REQUIRE_DATA = require_data_mode()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_data: reads market data from the data dir (skips without it)")
    if REQUIRE_DATA and not HAVE_DATA:
        raise pytest.UsageError(f"BASISCTL_REQUIRE_DATA=1 but no usable data dir ({DATA_DIR}): {NO_DATA_REASON}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"basisctl data dir: {DATA_DIR if HAVE_DATA else 'none (data-dependent tests skip)'}"


#: Fixtures that replay real history (the simulated venue, the local venue API server): tests using them need data.
DATA_FIXTURES = frozenset({"sim", "venue", "_venue_server", "gappy_hourly_data_dir"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_DATA:
        return
    skip = pytest.mark.skip(reason=NO_DATA_REASON)
    for item in items:
        if item.get_closest_marker("needs_data") or DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)




@pytest.fixture
def gappy_hourly_data_dir(tmp_path: Path) -> object:
    """A data dir like ../shared/data but with the BTC 1h Binance perp bars removed for 2024-06-16 13:00 ->
    2025-03-06 11:00 (the hole the old data had), so the 4h fallback can be tested. Other files are symlinked
    (read in place); the holed file is written to tmp_path only."""
    if not HAVE_DATA:
        pytest.skip(NO_DATA_REASON)
    from basisctl.data import locator
    from basisctl.data.io import write_frame

    assert DATA_DIR is not None
    root = tmp_path / "gappy"
    for rel in ("prices/binance_perp/BTC_4h.csv", "funding/hyperliquid/BTC.csv", "funding/binance/BTC.csv",
                "hyperliquid/metaAndAssetCtxs_2026-03-10.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(DATA_DIR / rel)
    c = locator.load_candles("binance_perp", "BTC", "1h")
    hole = (c["ts"] >= "2024-06-16 13:00") & (c["ts"] <= "2025-03-06 11:00")
    write_frame(c[~hole].reset_index(drop=True), root / "prices/binance_perp/BTC_1h.parquet")
    locator.set_data_dir(root)
    yield root
    locator.set_data_dir(None)


@pytest.fixture(autouse=True)
def _isolated_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with an empty result cache of its own (never the developer's, never another test's: a
    test that stubs a computation must not be served a real result cached by an earlier test)."""
    monkeypatch.setenv("BASISCTL_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
    from basisctl import cache

    monkeypatch.setattr(cache, "_enabled", True)


@pytest.fixture
def webhook():  # type: ignore[no-untyped-def]
    """A webhook receiver on 127.0.0.1 (tests/webhook.py): apprise ``json://`` alert posts are recorded."""
    from tests.webhook import WebhookReceiver

    rec = WebhookReceiver().start()
    yield rec
    rec.stop()
