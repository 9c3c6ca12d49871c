"""Read the recorded Hyperliquid info responses in place (``../shared/fixtures/hyperliquid``, vcrpy cassettes) and
replay them from a 127.0.0.1 server. Third-party files: never copied into the repository."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.skips import need_fixtures

REPO = Path(__file__).resolve().parents[2]


def fixtures_dir() -> Path:
    env = os.environ.get("BASISCTL_HL_FIXTURES")
    if env:
        return Path(env)
    data = os.environ.get("BASISCTL_DATA_DIR")
    candidates = [Path(data).parent] if data else []
    candidates += [REPO.parent / "shared", REPO.parent.parent / "shared"]  # checkout, or a worktree under wt/
    for base in candidates:
        if (base / "fixtures" / "hyperliquid" / "INDEX.md").exists():
            return base / "fixtures" / "hyperliquid"
    return candidates[0] / "fixtures" / "hyperliquid"


@cache
def recorded() -> dict[str, list[tuple[str, dict[str, Any], Any]]]:
    """request type -> [(cassette path, request body, decoded response)], HEAD cassettes first, then _history."""
    root = fixtures_dir()
    if not (root / "INDEX.md").exists():
        need_fixtures(root)
    out: dict[str, list[tuple[str, dict[str, Any], Any]]] = {}
    files = sorted((root / "tests").rglob("*.yaml")) + sorted((root / "_history").rglob("*.yaml"))
    for f in files:
        for it in yaml.safe_load(f.read_text())["interactions"]:
            if it["response"]["status"]["code"] != 200:
                continue
            req = json.loads(it["request"]["body"])
            out.setdefault(req["type"], []).append((str(f.relative_to(root)), req, json.loads(
                it["response"]["body"]["string"])))
    return out


def response(kind: str, name_part: str = "") -> Any:
    for path, _, body in recorded()[kind]:
        if name_part in path:
            return body
    raise KeyError(f"no recorded {kind} response in a cassette matching {name_part!r}")


@contextmanager
def replay_server(answers: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """POST /info answered from ``answers`` (request type -> body, or a callable(request) -> body)."""
    log: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            log.append(req)
            ans = answers.get(req.get("type"))
            status, body = (422, "Failed to deserialize the JSON body") if ans is None else (
                200, ans(req) if callable(ans) else ans)
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", log
    finally:
        srv.shutdown()
        srv.server_close()


def shape(x: Any) -> Any:
    """Key sets and JSON types, recursively (lists by their first element; numbers as 'number')."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in sorted(x.items())}
    if isinstance(x, list):
        return [shape(x[0])] if x else []
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int | float):
        return "number"
    if x is None:
        return "null"
    return type(x).__name__
