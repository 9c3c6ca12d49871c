from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localhttp import fresh, serve_session

from .venue_server import VenueServer


@pytest.fixture(scope="session")
def _venue_server() -> Iterator[VenueServer]:
    yield from serve_session(VenueServer())


@pytest.fixture
def venue(_venue_server: VenueServer) -> Iterator[VenueServer]:
    """The local Binance/Hyperliquid server with a clean request log and no faults."""
    yield from fresh(_venue_server)
