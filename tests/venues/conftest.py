from __future__ import annotations

from collections.abc import Iterator

import pytest

from .funding_server import FundingServer, series

N8, N4, N1 = 150, 120, 260  # 530 settlements: several pages on every paged venue


@pytest.fixture(scope="session")
def _funding_server() -> Iterator[FundingServer]:
    ts, rate, _ = series(N8, N4, N1)
    srv = FundingServer(ts, rate).start()
    yield srv
    srv.stop()


@pytest.fixture
def fsrv(_funding_server: FundingServer) -> Iterator[FundingServer]:
    _funding_server.reset()
    yield _funding_server
    _funding_server.reset()
