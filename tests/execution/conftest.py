"""A local HTTP server on 127.0.0.1 whose answers a test scripts (no network, real HTTP)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

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

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            u = urlparse(self.path)
            req = Request(u.path, {k: v[-1] for k, v in parse_qs(u.query).items()},
                          {k.lower(): v for k, v in self.headers.items()})
            state.requests.append(req)
            status, headers, body = state.handler(req)
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{srv.server_address[1]}"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()
