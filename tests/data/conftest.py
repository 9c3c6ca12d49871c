from __future__ import annotations

from collections.abc import Iterator

import pytest

from .venue_server import VenueServer


@pytest.fixture(scope="session")
def _venue_server() -> Iterator[VenueServer]:
    srv = VenueServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def venue(_venue_server: VenueServer) -> Iterator[VenueServer]:
    """The local Binance/Hyperliquid server with a clean request log and no faults."""
    _venue_server.reset()
    yield _venue_server
    _venue_server.reset()
