"""Alerts to operators: severity routing, deduplication and rate limits in front of apprise, delivered by a
background thread through a bounded queue.

``Alerts.raise_`` journals and logs an alert first and then calls :meth:`Notifier.submit`, which only decides
(route, dedupe, rate limit) and enqueues: it never blocks on the network and never raises. The worker thread
sends each alert to the apprise URLs its severity routes to; a failed or timed-out delivery is counted
(``stats``: shown by /state and /health), never retried in a loop and never propagated into a cycle.

URLs carry tokens (a Telegram bot token, a Slack webhook path): they may be given as ``env:VAR`` and are never
printed, journaled or shown by /state (channels are named, not shown).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from basisctl.live.config import AlertsSection, ControllerConfig
from basisctl.redact import redact

SEVERITIES = ("critical", "warning", "info")

#: default severity of every alert kind the controller raises (docs/operations.md, "Alerts to operators");
#: ``[alerts] severity`` overrides per kind. critical = new risk halted or a position at risk; warning = a
#: cycle skipped / an order refused / a condition to watch; info = a resolution or a routine event.
DEFAULT_SEVERITY: dict[str, str] = {
    **dict.fromkeys((
        "POSITION_MISMATCH", "ONE_LEGGED_ESCALATION", "ONE_LEGGED_TIMEOUT", "EXTERNAL_POSITION_CHANGE",
        "UNWIND_BLOCKED", "EMERGENCY_REBALANCE", "LOCK_LOST", "STORAGE_FAILED", "FOREIGN_CONTROLLER",
        "UNEXPLAINED_CHANGE", "DRAWDOWN", "FLATTENED", "LIQ_PRICE_DRIFT", "BACKUP_FAILED", "POSITION_ABSENT",
        "UNEXPLAINED_CHANGE_PARTLY_EXPLAINED", "CYCLE_ERROR",
    ), "critical"),
    **dict.fromkeys((
        "KILL_SWITCH", "STALE_DATA", "RECONCILE_WAIT", "ONE_LEGGED", "ORDER_REJECTED", "TRANSFER_REJECTED",
        "VENUE_UNAVAILABLE", "SPOT_ROUTE_REFUSED", "STATE_UNKNOWN", "VENUE_ERROR", "REPAIR_REFUSED",
        "ORDER_CAPPED", "CLOCK_SKEW", "RECALIBRATION_FAILED", "FLOOR_ABOVE_ALPHA", "UNSTABLE_READ",
        "GENESIS_UNKNOWN", "PRICE_INSANE", "UNEXPLAINED_CHANGE_PENDING", "FUNDING_MISMATCH", "FUNDING_UNCHECKED",
        "BOOK_LIMIT", "REGIME_OUT",
    ), "warning"),
    **dict.fromkeys((
        "ACKNOWLEDGED", "RECALIBRATED", "RECALIBRATION_INTERRUPTED", "BOOK_MOVED", "UNEXPLAINED_CHANGE_EXPLAINED",
        "MISMATCH_RESOLVED", "REGIME_IN",
    ), "info"),
}
#: a kind missing from the table (a new alert nobody classified) is a warning, never silently info
UNKNOWN_KIND_SEVERITY = "warning"

_APPRISE_TYPE = {"critical": "failure", "warning": "warning", "info": "info"}


def severity_of(kind: str, overrides: Mapping[str, str] | None = None) -> str:
    """The severity of alert ``kind``: the config's override, else the default table, else 'warning'."""
    if overrides and kind in overrides:
        return overrides[kind]
    return DEFAULT_SEVERITY.get(kind, UNKNOWN_KIND_SEVERITY)


#: sends one message to the given URLs; True when every URL accepted it
Sender = Callable[[list[str], str, str, str], bool]


def apprise_sender(timeout_s: float) -> Sender:
    """A :data:`Sender` through apprise (one ``Apprise`` object per delivery: no state shared across calls).
    ``timeout_s`` is passed as apprise's connect/read timeout (``cto``/``rto``) on http-based URLs."""
    import apprise

    def send(urls: list[str], title: str, body: str, severity: str) -> bool:
        ap = apprise.Apprise()
        for u in urls:
            sep = "&" if "?" in u else "?"
            ap.add(f"{u}{sep}cto={timeout_s:g}&rto={timeout_s:g}" if "cto=" not in u else u)
        if len(ap) == 0:
            return False  # no URL was understood by apprise
        return bool(ap.notify(title=title, body=body, notify_type=_APPRISE_TYPE[severity]))

    return send


@dataclass
class NotifyStats:
    """Delivery counters since the process started (JSON-safe via :meth:`to_dict`)."""

    submitted: int = 0
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    consecutive_failures: int = 0
    deduplicated: int = 0
    rate_limited: int = 0
    unrouted: int = 0
    dropped: int = 0  # queue full
    last_error: str = ""
    last_delivered_wall: float | None = None
    by_channel_failed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


class Notifier:
    """Routes, deduplicates and rate-limits alerts, and delivers them from a daemon thread.

    ``urls``: channel name -> resolved URL; ``send``: the transport (default apprise); ``clock``: monotonic
    seconds (injectable in tests). :meth:`submit` returns what happened to the alert: ``queued``,
    ``deduplicated``, ``rate_limited``, ``unrouted`` or ``dropped``.
    """

    def __init__(self, section: AlertsSection, urls: dict[str, str], send: Sender,
                 clock: Callable[[], float] = time.monotonic):
        self.section = section
        self.urls = dict(urls)
        self.send = send
        self.clock = clock
        self.stats = NotifyStats()
        self._seen: dict[tuple[str, str], float] = {}  # (kind, message) -> clock of its last send
        self._kind_times: dict[str, deque[float]] = {}
        self._all_times: deque[float] = deque()
        self._suppressed: dict[str, int] = {}  # kind -> alerts held back by a rate limit since its last send
        self._q: queue.Queue[tuple[list[str], str, str, str, list[str]] | None] = queue.Queue(section.queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._work, name="basisctl-notify", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ decisions (caller's thread)
    def channels(self, severity: str) -> list[str]:
        names = self.section.routes.get(severity, [])  # type: ignore[call-overload]
        out = list(self.urls) if "*" in names else [n for n in names if n in self.urls]
        return sorted(set(out), key=out.index)

    def submit(self, kind: str, message: str, ts_ms: int) -> str:
        """Decide and enqueue one alert (never blocks, never raises)."""
        try:
            return self._submit(kind, message, ts_ms)
        except Exception as e:  # pragma: no cover - defensive: delivery must never take a cycle down
            with self._lock:
                self.stats.failed += 1
                self.stats.last_error = f"submit: {type(e).__name__}: {e}"
            return "failed"

    def _submit(self, kind: str, message: str, ts_ms: int) -> str:
        sev = severity_of(kind, self.section.severity)
        now = self.clock()
        with self._lock:
            self.stats.submitted += 1
            chans = self.channels(sev)
            if not chans:
                self.stats.unrouted += 1
                return "unrouted"
            key = (kind, message)
            last = self._seen.get(key)
            if last is not None and now - last < self.section.dedupe_seconds:
                self.stats.deduplicated += 1
                return "deduplicated"
            win = self.section.rate_window_seconds
            kt = self._kind_times.setdefault(kind, deque())
            for d in (kt, self._all_times):
                while d and now - d[0] >= win:
                    d.popleft()
            if len(kt) >= self.section.max_per_kind or len(self._all_times) >= self.section.max_total:
                self.stats.rate_limited += 1
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return "rate_limited"
            held = self._suppressed.pop(kind, 0)
            body = redact(message)
            if held:
                body += f" (+{held} more {kind} alert(s) held back by the rate limit; see the alert log)"
            import pandas as pd

            stamp = pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%SZ")
            title = f"basisctl {sev.upper()}: {kind}"
            item = ([self.urls[c] for c in chans], title, f"{stamp} {body}", sev, chans)
            try:
                self._q.put_nowait(item)
            except queue.Full:
                self.stats.dropped += 1
                self._suppressed[kind] = held + 1  # named with the next alert of this kind that goes out
                return "dropped"
            self._seen[key] = now
            kt.append(now)
            self._all_times.append(now)
            self.stats.queued += 1
            self._idle.clear()
            return "queued"

    # ------------------------------------------------------------------ delivery (worker thread)
    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                self._q.task_done()
                return
            urls, title, body, sev, chans = item
            try:
                ok = self.send(urls, title, body, sev)
                err = "" if ok else f"delivery to {', '.join(chans)} failed (receiver refused or unreachable)"
            except Exception as e:  # a broken plugin or network stack must not kill the worker
                ok, err = False, f"delivery to {', '.join(chans)} raised {type(e).__name__}: {' '.join(str(e).split())}"
            with self._lock:
                if ok:
                    self.stats.delivered += 1
                    self.stats.consecutive_failures = 0
                    self.stats.last_delivered_wall = time.time()
                else:
                    self.stats.failed += 1
                    self.stats.consecutive_failures += 1
                    self.stats.last_error = redact(err)
                    for c in chans:
                        self.stats.by_channel_failed[c] = self.stats.by_channel_failed.get(c, 0) + 1
            self._q.task_done()
            if self._q.unfinished_tasks == 0:
                self._idle.set()

    def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the queue to drain; True when it did."""
        return self._idle.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> bool:
        """Deliver what is queued (up to ``timeout_s``), then stop the worker. True when everything went out."""
        drained = self.flush(timeout_s)
        with contextlib.suppress(queue.Full):
            self._q.put_nowait(None)
        self._thread.join(timeout=0.5 if not drained else timeout_s)
        return drained

    def snapshot(self) -> dict[str, Any]:
        """Counters and channel names for /state and /health (never the URLs)."""
        with self._lock:
            d = self.stats.to_dict()
        d["channels"] = sorted(self.urls)
        d["pending"] = self._q.qsize()
        d["failing"] = self.stats.consecutive_failures >= self.section.health_fail_after
        return d


_WARNED: set[str] = set()


def resolve_urls(section: AlertsSection) -> dict[str, str]:
    """Channel name -> URL with ``env:VAR`` read from the environment. A missing variable drops the channel with
    one ``warning:`` line (the controller still runs: alerts stay in the journal and the alert log)."""
    out: dict[str, str] = {}
    for name, url in section.urls.items():
        if url.startswith("env:"):
            val = os.environ.get(url[4:], "").strip()
            if not val:
                _warn_once(f"alerts.urls.{name}: environment variable {url[4:]} is empty or unset; channel "
                           f"'{name}' gets no alerts")
                continue
            url = val
        out[name] = url
    return out


def _warn_once(msg: str) -> None:
    if msg not in _WARNED:
        _WARNED.add(msg)
        print(f"warning: {msg}", file=sys.stderr, flush=True)


def build_notifier(cfg: ControllerConfig, send: Sender | None = None) -> Notifier | None:
    """The notifier for ``cfg`` (None when ``[alerts] urls`` is empty). Without apprise installed: one
    ``warning:`` line and None - alerts then go to the journal and the alert log only."""
    sec = cfg.alerts
    if not sec.urls:
        return None
    if send is None:
        try:
            send = apprise_sender(sec.timeout_seconds)
        except ImportError:
            _warn_once("[alerts] urls are configured but apprise is not installed (pip install 'basisctl[alerts]'); "
                       "alerts go to the journal and the alert log only")
            return None
    urls = resolve_urls(sec)
    if not urls:
        return None
    return Notifier(sec, urls, send)
