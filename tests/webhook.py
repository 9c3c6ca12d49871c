"""A tiny webhook receiver on 127.0.0.1 for alert-delivery tests (apprise ``json://`` posts land here).

Use the ``webhook`` fixture (tests/conftest.py) or ``WebhookReceiver().start()``; point a channel at
``receiver.apprise_url("ops")`` (``json://127.0.0.1:PORT/ops``), then ``receiver.wait_for(n)`` and read
``receiver.received`` (dicts with ``path``, ``title``, ``message``, ``type``). ``status`` sets the HTTP status
answered (500: a failing receiver); ``stop()`` makes the port refuse connections (a receiver that is down).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records every JSON POST; answers ``status`` (200 by default)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self._cond = threading.Condition()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"raw": raw.decode(errors="replace")}
                with rec._cond:
                    rec.received.append({"path": self.path.split("?")[0], **body})
                    rec._cond.notify_all()
                self.send_response(rec.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._srv.daemon_threads = True
        self.port = int(self._srv.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._srv.shutdown()
            self._thread = None
        self._srv.server_close()

    def apprise_url(self, path: str = "alerts") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` posts arrived (or the timeout); returns what arrived."""
        end = time.monotonic() + timeout_s
        with self._cond:
            while len(self.received) < n and (left := end - time.monotonic()) > 0:
                self._cond.wait(left)
            return list(self.received)

    def kinds(self) -> list[str]:
        """The alert kinds received, from the title ``basisctl SEVERITY: KIND``."""
        return [str(r.get("title", "")).rsplit(": ", 1)[-1] for r in self.received]
