"""The book's operating surface on 127.0.0.1: /health, /state, /positions, /metrics (Prometheus, per-position
labels and book totals), POST /kill (the book kill switch) and the single-position dashboard per position at
/position/{id}/state. Same exposure rules as ``live/api.py`` (loopback Host names; a bearer token off loopback).
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from basisctl.errors import BasisctlError
from basisctl.live.api import (
    LOOPBACK_HOSTS,
    TOKEN_ENV,
    ServerThread,
    _clean,
    allowed_host_names,
    bind_socket,
    health,
    is_loopback,
    metrics_text,
    token_ok,
)
from basisctl.live.book.runner import Book

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (.*)$")


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def book_metrics_text(book: Book) -> str:
    """Prometheus text: every single-position metric with ``position``, ``asset`` and ``venue`` labels, plus the
    book totals (``basisctl_book_*``)."""
    helps: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for bp in book.positions:
        lab = (f'position="{_esc(bp.spec.id)}",asset="{_esc(bp.spec.asset)}",venue="{_esc(bp.spec.venue)}"')
        for line in metrics_text(bp.ctl).splitlines():
            if line.startswith("# "):
                name = line.split()[2]
                helps.setdefault(name, [])
                if len(helps[name]) < 2:
                    helps[name].append(line)
                continue
            m = _SAMPLE.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2), m.group(3)
            inner = lab + ("," + labels[1:-1] if labels and labels != "{}" else "")
            samples.setdefault(name, []).append(f"{name}{{{inner}}} {value}")
    out: list[str] = []
    for name, rows in samples.items():
        out += helps.get(name, [])
        out += rows
    t = book.totals()

    def g(name: str, help_: str, v: Any) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} gauge")
        out.append(f"{name} {float(v)!r}" if v is not None else f"{name} NaN")

    g("basisctl_book_positions", "positions in the book", t["positions"])
    g("basisctl_book_halted_positions", "positions whose new risk is halted", t["halted_positions"])
    g("basisctl_book_gross_notional_usd", "sum of |spot| + |perp| notional over positions [USD]",
      t["gross_notional_usd"])
    g("basisctl_book_unhedged_usd", "sum of |spot + perp| x price over positions [USD]", t["unhedged_usd"])
    g("basisctl_book_equity_usd", "sum of position capital V_t [USD]", t["equity_usd"])
    g("basisctl_book_killed", "1 while the book kill file is present", 1.0 if t["killed"] else 0.0)
    return "\n".join(out) + "\n"


def book_health(book: Book) -> tuple[int, dict[str, Any]]:
    """200 when every position cycled recently and none is halted; 503 otherwise, naming the positions."""
    per = {bp.spec.id: health(bp.ctl) for bp in book.positions}
    bad = {k: v[1]["reason"] for k, v in per.items() if v[0] != 200}
    body = {"status": "ok" if not bad else "degraded", "reason": "ok" if not bad else
            "; ".join(f"{k}: {r}" for k, r in bad.items()), "positions": {k: v[1] for k, v in per.items()},
            "cycles": book.cycles}
    return (200 if not bad else 503), body


def create_book_app(book: Book, allowed_hosts: list[str] | None = None, token: str | None = None) -> FastAPI:
    """The book API (see the module docstring)."""
    app = FastAPI(title="basisctl book", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)
    if token:

        @app.middleware("http")
        async def _bearer(request: Request, call_next: Any) -> Response:
            if not token_ok(request.headers.get("authorization", ""), token):
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
            return await call_next(request)

    @app.api_route("/health", methods=["GET", "HEAD"])
    def _health() -> JSONResponse:
        code, body = book_health(book)
        return JSONResponse(_clean(body), status_code=code)

    @app.api_route("/positions", methods=["GET", "HEAD"])
    def _positions() -> JSONResponse:
        return JSONResponse(_clean(book.position_rows()))

    @app.api_route("/state", methods=["GET", "HEAD"])
    def _state() -> JSONResponse:
        return JSONResponse(_clean({"totals": book.totals(), "positions": book.position_rows()}))

    @app.api_route("/position/{pid}/state", methods=["GET", "HEAD"])
    def _position_state(pid: str) -> JSONResponse:
        for bp in book.positions:
            if bp.spec.id == pid:
                return JSONResponse(_clean(bp.ctl.public_state()))
        return JSONResponse({"error": f"no position '{pid}'"}, status_code=404)

    @app.api_route("/metrics", methods=["GET", "HEAD"])
    def _metrics() -> PlainTextResponse:
        return PlainTextResponse(book_metrics_text(book), media_type="text/plain; version=0.0.4")

    @app.post("/kill")
    def _kill() -> JSONResponse:
        path = book.kill(note="POST /kill")
        return JSONResponse({"killed": True, "kill_file": str(path),
                             "effect": "every position halts new risk at its next cycle"
                             + (" and flattens" if book.book.kill.flatten else "")})

    return app


class BookServerThread(ServerThread):
    """uvicorn serving the book API in a daemon thread (loopback unless a token is set)."""

    def __init__(self, book: Book, port: int, host: str = "127.0.0.1", sock: socket.socket | None = None):
        import threading

        token = os.environ.get(TOKEN_ENV) or None
        allowed = allowed_host_names(host)
        if not is_loopback(host):
            if not token:
                raise BasisctlError(
                    f"--host {host} is not loopback: set a bearer token in {TOKEN_ENV} (required on every route)")
            allowed = ["*"]
        self.config = uvicorn.Config(create_book_app(book, allowed, token), host=host, port=port, log_level="warning")
        self.server = uvicorn.Server(self.config)
        self.sock = sock if sock is not None else bind_socket(host, port)
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[self.sock]), daemon=True)


def serve_book_in_thread(book: Book, port: int, host: str = "127.0.0.1",
                         sock: socket.socket | None = None) -> BookServerThread:
    s = BookServerThread(book, port, host, sock)
    s.start()
    return s
