"""A scripted JSON server on 127.0.0.1 for client tests (real HTTP, no network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

#: respond(path, query (last value per key), headers (lower-case keys)) -> (status, headers, JSON body or str)
Respond = Callable[[str, dict[str, str], dict[str, str]], tuple[int, dict[str, str], Any]]


@contextmanager
def json_get_server(respond: Respond) -> Iterator[str]:
    """Serve GET requests with ``respond`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            u = urlparse(self.path)
            status, headers, body = respond(u.path, {k: v[-1] for k, v in parse_qs(u.query).items()},
                                            {k.lower(): v for k, v in self.headers.items()})
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
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


#: respond_post(path, query (last value per key), headers (lower-case keys), raw body) -> (status, headers, body)
RespondPost = Callable[[str, dict[str, str], dict[str, str], bytes], tuple[int, dict[str, str], Any]]


@contextmanager
def json_post_server(respond: RespondPost) -> Iterator[str]:
    """Serve POST requests with ``respond`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            u = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body = respond(u.path, {k: v[-1] for k, v in parse_qs(u.query).items()},
                                            {k.lower(): v for k, v in self.headers.items()}, raw)
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
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
