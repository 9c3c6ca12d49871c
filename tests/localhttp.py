"""A scripted JSON server on 127.0.0.1 for client tests (real HTTP, no network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlparse

#: respond(path, query (last value per key), headers (lower-case keys)) -> (status, headers, JSON body or str)
Respond = Callable[[str, dict[str, str], dict[str, str]], tuple[int, dict[str, str], Any]]


def send_json(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: Any) -> None:
    """Write one JSON (or raw string) response with its status and extra headers."""
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


def query_of(path: str) -> tuple[str, dict[str, str]]:
    """(path, query with the last value per key) of a request line's target."""
    u = urlparse(path)
    return u.path, {k: v[-1] for k, v in parse_qs(u.query).items()}


def start_in_thread(srv: ThreadingHTTPServer) -> Callable[[], None]:
    """Serve ``srv`` from a daemon thread; returns ``stop`` (ends the serving loop, then closes the socket)."""
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop() -> None:
        srv.shutdown()
        srv.server_close()

    return stop


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run ``handler`` on a free port of 127.0.0.1 in a thread; yields the base URL, shuts down on exit."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    stop = start_in_thread(srv)
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        stop()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def json_get_server(respond: Respond) -> Iterator[str]:
    """Serve GET requests with ``respond`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            path, q = query_of(self.path)
            send_json(self, *respond(path, q, {k.lower(): v for k, v in self.headers.items()}))

    with serve(Handler) as url:
        yield url


#: respond_post(path, query (last value per key), headers (lower-case keys), raw body) -> (status, headers, body)
RespondPost = Callable[[str, dict[str, str], dict[str, str], bytes], tuple[int, dict[str, str], Any]]


@contextmanager
def json_post_server(respond: RespondPost) -> Iterator[str]:
    """Serve POST requests with ``respond`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(_Quiet):
        def do_POST(self) -> None:
            path, q = query_of(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            send_json(self, *respond(path, q, {k.lower(): v for k, v in self.headers.items()}, raw))

    with serve(Handler) as url:
        yield url


class _Server(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def reset(self) -> None: ...


S = TypeVar("S", bound=_Server)


def serve_session(server: S) -> Iterator[S]:
    """Body of a session fixture: ``server`` started for the session, stopped after its last test."""
    server.start()
    yield server
    server.stop()


def fresh(server: S) -> Iterator[S]:
    """Body of a per-test fixture: the session's ``server`` with its request log and faults cleared before and
    after the test."""
    server.reset()
    yield server
    server.reset()
