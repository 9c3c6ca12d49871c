"""A new venue is one folder plus one registry line: the fixture folder tests/venues/fixture_venue/ (row, downloader,
local server) joins with ``register(...)`` and works end to end: registry lookup, margin rule, funding download
from 127.0.0.1 into a store, ``basisctl funding-stats`` on that data, and the locator's download hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.data.store import ParquetStore
from basisctl.errors import BasisctlError
from basisctl.venues import registry
from tests.venues.fixture_venue.server import RATES, TIMES, fixture_server


@pytest.fixture
def fixturex() -> Iterator[registry.VenueSpec]:
    spec = registry.register("tests.venues.fixture_venue")  # the one line a new venue adds
    yield spec
    registry.REGISTRY.pop(spec.name)
    locator._DOWNLOADS["funding"].discard(spec.name)


def test_registry_lookup_and_margin_rule(fixturex: registry.VenueSpec) -> None:
    assert registry.get_venue("FixtureX") is fixturex and "fixturex" in registry.venue_names()
    assert fixturex.theta_f(40.0) == 0.5 / 40.0  # theta_F = 1/(2 L_max), by hand: 1.25 %
    assert registry.downloaders("funding")[-1] == "fixturex"
    assert locator.fetch_command("funding", "fixturex", "BTC") is not None
    with pytest.raises(BasisctlError, match="registered twice"):
        registry.register(type("M", (), {"SPEC": registry.VenueSpec("fixturex", "other", (1.0,), "", 1.0, "x:y",
                                                                    "", "", 0.0), "__name__": "m"})())


def test_funding_download_and_funding_stats_on_its_data(fixturex: registry.VenueSpec, tmp_path: Path) -> None:
    with fixture_server() as url:
        client = fixturex.client(base_url=url)
        try:
            f = client.funding_history("BTC", int(TIMES[0]), int(TIMES[-1]) + 1)
        finally:
            client.close()
    assert len(f) == len(TIMES) and np.array_equal(f["rate"].to_numpy(), RATES)
    assert (f["interval_hours"] == 8.0).all() and (f["source"] == "fixturex_api").all()
    store = ParquetStore(tmp_path)
    store.append(f, "funding", "fixturex", "BTC")
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "funding-stats", "--venue", "fixturex",
                                   "--asset", "BTC", "--asof", "2024-04-30", "--windows", "30", "--json"])
    assert res.exit_code == 0, res.output
    import json

    w = json.loads(res.output)["windows"][0]
    assert w["window_days"] == 30
    assert w["mean"] == pytest.approx(np.mean(RATES[-90:]) * 3 * 365, rel=0.2)  # 3 settlements/day, as APY


def test_builtin_folders_agree_with_the_model_margin_tables() -> None:
    from basisctl.model.margin import ALL_VENUES, MAINTENANCE_MULTIPLIER

    builtin = {n: s for n, s in registry.REGISTRY.items() if n != "fixturex"}
    assert set(builtin) == set(ALL_VENUES)
    assert all(s.maintenance_multiplier == MAINTENANCE_MULTIPLIER.get(n) for n, s in builtin.items())
    # what `basisctl data fetch` serves, as declared by the folders (the table data/fetch held before issue 21)
    assert {k: set(registry.downloaders(k)) - {"fixturex"} for k in ("funding", "candles", "mark", "meta")} == {
        "funding": {"binance", "hyperliquid", "bybit", "okx", "dydx", "kraken"}, "candles": {"binance", "hyperliquid"},
        "mark": {"binance"}, "meta": {"hyperliquid"}}
