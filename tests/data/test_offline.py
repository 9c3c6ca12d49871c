"""Issue 20 item 2: offline fails fast. A DNS failure, refused connection, TLS error or connect timeout is not
retried by the downloads' policy and ends ``data pull`` / ``data fetch`` at once with one line (exit 2); 429, 5xx
and read timeouts are still retried. No test touches the internet: a closed port on 127.0.0.1 refuses, and a
``.invalid`` name (RFC 6761) fails in the resolver."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from basisctl.data.fetch.http import CONNECT_TIMEOUT_S, DOWNLOAD_RETRY, ConnectFailed, FetchError, HttpClient
from basisctl.data.store import ParquetStore
from basisctl.venues.pull import Clients, Series, pull


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _handler(fail: type[Exception], calls: list[str]):
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        raise fail("boom", request=request)  # type: ignore[call-arg]

    return handler


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_connect_failures_are_not_retried(error: type[Exception]) -> None:
    calls: list[str] = []
    sleeps: list[float] = []
    c = HttpClient("http://127.0.0.1:9", transport=httpx.MockTransport(_handler(error, calls)), sleep=sleeps.append)
    with pytest.raises(ConnectFailed, match=r"cannot reach http://127\.0\.0\.1:9"):
        c.get_json("/x")
    assert len(calls) == 1 and sleeps == [] and c.answered == 0


def test_read_timeouts_429_and_5xx_are_retried() -> None:
    script = [httpx.ReadTimeout, 429, 503, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        step = script.pop(0)
        if isinstance(step, type):
            raise step("slow", request=request)
        return httpx.Response(step, json=[7] if step == 200 else {"msg": "later"})

    sleeps: list[float] = []
    c = HttpClient("http://h", transport=httpx.MockTransport(handler), sleep=sleeps.append)
    assert c.get_json("/x") == [7] and len(sleeps) == 3 and c.answered == 3
    # a reset mid-response is not in the list: it fails the request at once
    c2 = HttpClient("http://h", transport=httpx.MockTransport(_handler(httpx.RemoteProtocolError, [])),
                    sleep=sleeps.append)
    with pytest.raises(FetchError, match="RemoteProtocolError"):
        c2.get_json("/x")
    assert DOWNLOAD_RETRY.max_retries == 5 and not DOWNLOAD_RETRY.retry_connect


def test_connect_timeout_is_at_most_5_s() -> None:
    assert CONNECT_TIMEOUT_S <= 5.0
    for kw in ({}, {"timeout_s": 60.0}, {"connect_timeout_s": 30.0}):
        t = HttpClient("http://h", **kw)._client.timeout  # type: ignore[arg-type]
        assert t.connect is not None and t.connect <= 5.0
    assert HttpClient("http://h", timeout_s=60.0)._client.timeout.read == 60.0


def test_real_refused_and_dns_failures_are_classified() -> None:
    with pytest.raises(ConnectFailed) as refused:
        HttpClient(f"http://127.0.0.1:{closed_port()}").get_json("/x")
    assert refused.value.cause == "refused" and "connection refused" in str(refused.value)
    with pytest.raises(ConnectFailed) as dns:
        HttpClient("http://nonexistent.invalid").get_json("/x")
    assert dns.value.cause in ("dns", "connect") and "nonexistent.invalid" in str(dns.value)


def test_first_request_that_cannot_connect_ends_the_pull(tmp_path: Path) -> None:
    calls: list[str] = []
    clients = Clients(binance_url="http://bn", hyperliquid_url="http://hl",
                      options={"transport": httpx.MockTransport(_handler(httpx.ConnectError, calls)),
                               "sleep": lambda s: None, "min_interval_s": 0.0})
    series = [Series("binance", "funding", a, None, "2026-01-01") for a in ("BTC", "ETH")]
    with pytest.raises(ConnectFailed):
        pull(ParquetStore(tmp_path), series, clients)
    assert len(calls) == 1  # the second series is never tried


def test_one_unreachable_venue_after_the_network_answered_skips_only_its_series(tmp_path: Path) -> None:
    hl_calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hl":
            hl_calls.append(str(request.url))
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(200, json=[])  # Binance: an empty page (nothing new)

    clients = Clients(binance_url="http://bn", hyperliquid_url="http://hl",
                      options={"transport": httpx.MockTransport(handler), "sleep": lambda s: None,
                               "min_interval_s": 0.0})
    series = [Series("binance", "funding", "BTC", None, "2026-03-01"),
              Series("hyperliquid", "funding", "BTC", None, "2026-03-01"),
              Series("hyperliquid", "funding", "ETH", None, "2026-03-01")]
    rows = pull(ParquetStore(tmp_path), series, clients)
    assert [r["ok"] for r in rows] == [True, False, False]
    assert len(hl_calls) == 1 and "connection refused" in rows[2]["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "nonexistent.invalid"])
@pytest.mark.parametrize("command", ["pull", "fetch"])
def test_offline_cli_exits_2_fast_with_one_line(tmp_path: Path, host: str, command: str) -> None:
    url = "http://" + host.format(port=closed_port())
    args = (["pull", "--binance-url", url, "--hyperliquid-url", url] if command == "pull"
            else ["fetch", "--venue", "binance", "--asset", "BTC", "--from", "2026-01-01", "--base-url", url])
    env = {**os.environ, "COLUMNS": "300"}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "data", *args, "--store", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=30, env=env)
    elapsed = time.monotonic() - t0
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach"), r.stderr
    assert elapsed < 30
