"""A local HTTP server on 127.0.0.1 whose answers a test scripts (no network, real HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.localhttp import json_get_server

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or str)


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class LocalServer:
    base_url: str
    requests: list[Request] = field(default_factory=list)
    handler: Callable[[Request], Reply] = lambda r: (404, {}, {"error": "no handler"})


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    state = LocalServer("")

    def respond(path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        req = Request(path, query, headers)
        state.requests.append(req)
        return state.handler(req)

    with json_get_server(respond) as url:
        state.base_url = url
        yield state
