"""JSON-over-HTTP client with retry/backoff and client-side rate limiting (the one I/O seam of the fetchers).

The network is injected by constructor (``transport``: any ``httpx.BaseTransport``; ``base_url``), and so are
``sleep`` and ``clock``, so tests run against a local server on 127.0.0.1 without real waiting.

Retry policy (one per caller, :class:`RetryPolicy`): HTTP 429 and 5xx and read timeouts are retried up to
``max_retries`` times. The wait is the server's ``Retry-After`` (seconds) when given, else exponential
``backoff_base_s * 2**attempt`` capped at ``backoff_max_s``, times (1 + U[0, jitter)) from a seeded RNG. Other 4xx
(bad symbol, bad parameters; Binance 418 = IP ban) fail at once with the server's message. A failure to connect
(DNS lookup, refused connection, TLS handshake, connect timeout of at most ``CONNECT_TIMEOUT_S``) is not retried
unless the policy says so: it raises :class:`ConnectFailed` at once, so an offline run fails in seconds, not
minutes (the downloads' policy, :data:`DOWNLOAD_RETRY`). The live controller does not use this client; its
start-up retries are ``basisctl.live.backoff``.

Rate limit: at least ``min_interval_s`` between the starts of consecutive requests (venue weight budgets
converted to a steady pace; see the venue clients for their defaults).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from basisctl._closing import Closing
from basisctl.errors import BasisctlError

RETRY_STATUS: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: Upper bound of the connect timeout [s] (DNS + TCP + TLS handshake); reads keep the longer ``timeout_s``.
CONNECT_TIMEOUT_S = 5.0


class FetchError(BasisctlError):
    """A download failed for good (non-retryable status, retries exhausted, or a non-JSON body)."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class ConnectFailed(FetchError):
    """The host could not be reached: DNS lookup, refused connection, TLS handshake or connect timeout. Nothing
    was exchanged with the venue, so retrying at once rarely helps (the machine is offline or the host blocked).
    ``cause`` is one of ``dns``, ``refused``, ``tls``, ``timeout``, ``connect``."""

    def __init__(self, message: str, url: str, cause: str) -> None:
        super().__init__(message, None, url)
        self.cause = cause


def connect_cause(e: httpx.TransportError) -> str:
    """Classify a connect-phase failure from its message (httpx maps DNS, refusal and TLS to ConnectError)."""
    if isinstance(e, httpx.ConnectTimeout):
        return "timeout"
    text = f"{e} {e.__cause__ or ''} {e.__context__ or ''}".lower()
    if any(k in text for k in ("name or service not known", "nodename nor servname", "name resolution",
                               "getaddrinfo", "no address associated", "errno -2", "errno -3", "errno -5")):
        return "dns"
    if "refused" in text:
        return "refused"
    if any(k in text for k in ("ssl", "tls", "certificate", "handshake")):
        return "tls"
    return "connect"


_CAUSE_TEXT = {"dns": "DNS lookup failed", "refused": "connection refused", "tls": "TLS handshake failed",
               "timeout": "connect timeout", "connect": "could not connect"}


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` [count], ``backoff_base_s``/``backoff_max_s`` [s], ``jitter`` [fraction of the wait];
    ``retry_after_max_s`` [s]: a server that asks for a longer ``Retry-After`` fails the request at once (a
    download never stalls silently for hours). ``retry_connect``: also retry connect-phase failures (DNS, refused,
    TLS, connect timeout); off by default, so an offline machine fails fast."""

    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    jitter: float = 0.1
    seed: int = 0
    retry_after_max_s: float = 300.0
    retry_connect: bool = False


#: ``data pull`` / ``data fetch`` and the venue downloaders: 429, 5xx and read timeouts, 5 retries; connect
#: failures end the request at once.
DOWNLOAD_RETRY = RetryPolicy()


class HttpClient(Closing):
    """GET/POST JSON with retries and pacing. ``sleeps`` records every wait [s] (for logs and tests)."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 15.0,
        retry: RetryPolicy | None = None,
        min_interval_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = "basisctl",
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, CONNECT_TIMEOUT_S, timeout_s))
        self._client = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout, headers={"User-Agent": user_agent}
        )
        self.retry = retry or DOWNLOAD_RETRY
        self.min_interval_s = min_interval_s
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random(self.retry.seed)
        self._last_start: float | None = None
        self.sleeps: list[float] = []
        self.requests = 0
        #: requests answered by the server (any status): 0 means this client never reached its host
        self.answered = 0

    def close(self) -> None:
        self._client.close()

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(seconds)
            self._sleep(seconds)

    def _pace(self) -> None:
        if self._last_start is not None and self.min_interval_s > 0:
            elapsed = self._clock() - self._last_start
            if elapsed < self.min_interval_s:
                self._wait(self.min_interval_s - elapsed)
        self._last_start = self._clock()

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass  # HTTP-date form: fall back to exponential backoff
        base = min(self.retry.backoff_max_s, self.retry.backoff_base_s * 2**attempt)
        return base * (1.0 + self.retry.jitter * self._rng.random())

    def request_json(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """Send one request (with retries) and return the decoded JSON body."""
        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.retry.max_retries + 1):
            self._pace()
            self.requests += 1
            try:
                resp = self._client.request(method, path, params=params, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                if self.retry.retry_connect and attempt < self.retry.max_retries:
                    last = f"{type(e).__name__}: {e}"
                    self._wait(self._backoff(attempt, None))
                    continue
                cause = connect_cause(e)
                raise ConnectFailed(f"cannot reach {self.base_url}: {_CAUSE_TEXT[cause]} ({e or type(e).__name__}); "
                                    "check the network, or read data from a folder with --data-dir",
                                    url, cause) from e
            except httpx.ReadTimeout as e:
                last = f"read timeout: {e}"
                if attempt < self.retry.max_retries:
                    self._wait(self._backoff(attempt, None))
                    continue
                raise FetchError(f"{method} {url}: {last} after {attempt + 1} attempts", None, url) from e
            except httpx.TransportError as e:
                raise FetchError(f"{method} {url}: {type(e).__name__}: {e}", None, url) from e
            self.answered += 1
            if resp.status_code in RETRY_STATUS:
                last = f"HTTP {resp.status_code} {resp.text[:200]!r}"
                if attempt < self.retry.max_retries:
                    wait = self._backoff(attempt, resp.headers.get("Retry-After"))
                    if wait > self.retry.retry_after_max_s:
                        raise FetchError(f"{method} {url}: {last}; the venue asks to wait {wait:g} s (Retry-After), "
                                         f"more than {self.retry.retry_after_max_s:g} s: try again later",
                                         resp.status_code, url)
                    self._wait(wait)
                    continue
                raise FetchError(f"{method} {url}: {last} after {attempt + 1} attempts", resp.status_code, url)
            if resp.status_code >= 400:
                raise FetchError(
                    f"{method} {url} (params {params or body}): HTTP {resp.status_code} {_reason(resp)}",
                    resp.status_code,
                    url,
                )
            try:
                return resp.json()
            except (json.JSONDecodeError, ValueError) as e:
                raise FetchError(f"{method} {url}: expected a JSON body, got {resp.text[:200]!r}", None, url) from e
        raise FetchError(f"{method} {url}: {last}", None, url)  # pragma: no cover - loop always returns/raises

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request_json("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> Any:
        return self.request_json("POST", path, body=body)


def _reason(resp: httpx.Response) -> str:
    """The venue's error message (Binance ``{"code", "msg"}``) or the start of the body."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and "msg" in data:
        return f"{data['msg']} (code {data.get('code')})"
    return repr(resp.text[:300])


class VenueClient:
    """Base of the market-data clients: ``http`` (or ``transport``/``base_url``) is the one I/O seam;
    ``sleep`` and ``now_ms`` are injectable so tests never wait or depend on the wall clock."""

    default_base_url: str = ""
    default_min_interval_s: float = 0.0

    def __init__(
        self,
        http: HttpClient | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        min_interval_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.http = http or HttpClient(
            base_url or self.default_base_url,
            transport=transport,
            retry=retry,
            min_interval_s=self.default_min_interval_s if min_interval_s is None else min_interval_s,
            sleep=sleep,
        )
        self._now_ms = now_ms

    def close(self) -> None:
        self.http.close()
