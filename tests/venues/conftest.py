from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localhttp import fresh, serve_session

from .funding_server import FundingServer, series

N8, N4, N1 = 150, 120, 260  # 530 settlements: several pages on every paged venue


@pytest.fixture(scope="session")
def _funding_server() -> Iterator[FundingServer]:
    ts, rate, _ = series(N8, N4, N1)
    yield from serve_session(FundingServer(ts, rate))


@pytest.fixture
def fsrv(_funding_server: FundingServer) -> Iterator[FundingServer]:
    yield from fresh(_funding_server)
