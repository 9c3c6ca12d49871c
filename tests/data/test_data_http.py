"""HttpClient retry/backoff/pacing against the local server (real HTTP over 127.0.0.1)."""

from __future__ import annotations

import httpx
import pytest

from basisctl.data.fetch.http import FetchError, HttpClient, RetryPolicy

from .venue_server import VenueServer

NO_JITTER = RetryPolicy(max_retries=3, backoff_base_s=0.5, backoff_max_s=4.0, jitter=0.0)
FUNDING_Q = {"symbol": "BTCUSDT", "startTime": 1577836800000, "limit": 3}


def client(venue: VenueServer, sleeps: list[float], **kw) -> HttpClient:
    kw.setdefault("retry", NO_JITTER)
    return HttpClient(venue.url, sleep=sleeps.append, **kw)


@pytest.mark.needs_data
def test_429_with_retry_after_is_honoured(venue: VenueServer) -> None:
    venue.inject(429, headers={"Retry-After": "7"}, body='{"code":-1003,"msg":"Too many requests"}')
    sleeps: list[float] = []
    rows = client(venue, sleeps).get_json("/fapi/v1/fundingRate", FUNDING_Q)
    assert len(rows) == 3 and rows[0]["fundingTime"] // 3_600_000 * 3_600_000 == 1577836800000
    assert sleeps == [7.0]
    assert len(venue.log) == 2


@pytest.mark.needs_data
def test_5xx_exponential_backoff_then_success(venue: VenueServer) -> None:
    venue.inject(503, times=2, body="busy")
    sleeps: list[float] = []
    c = client(venue, sleeps)
    assert len(c.get_json("/fapi/v1/fundingRate", FUNDING_Q)) == 3
    assert sleeps == [0.5, 1.0]  # base * 2**attempt
    assert c.requests == 3


@pytest.mark.needs_data
def test_backoff_is_capped_and_jitter_bounded(venue: VenueServer) -> None:
    venue.inject(500, times=5)
    sleeps: list[float] = []
    c = client(venue, sleeps, retry=RetryPolicy(max_retries=5, backoff_base_s=1.0, backoff_max_s=3.0, jitter=0.2))
    c.get_json("/fapi/v1/fundingRate", FUNDING_Q)
    bases = [1.0, 2.0, 3.0, 3.0, 3.0]
    assert len(sleeps) == 5
    assert all(b <= s < b * 1.2 for s, b in zip(sleeps, bases, strict=True))


def test_retries_exhausted_raise(venue: VenueServer) -> None:
    venue.inject(502, times=10, body="bad gateway")
    sleeps: list[float] = []
    with pytest.raises(FetchError, match=r"HTTP 502 .* after 4 attempts") as ei:
        client(venue, sleeps).get_json("/fapi/v1/fundingRate", FUNDING_Q)
    assert ei.value.status == 502 and len(sleeps) == 3


def test_client_error_is_not_retried(venue: VenueServer) -> None:
    sleeps: list[float] = []
    with pytest.raises(FetchError, match=r"HTTP 400 .*Invalid symbol") as ei:
        client(venue, sleeps).get_json("/fapi/v1/fundingRate", {"symbol": "NOPEUSDT"})
    assert ei.value.status == 400 and sleeps == [] and len(venue.log) == 1


def test_non_json_body(venue: VenueServer) -> None:
    venue.inject(200, body="<html>maintenance</html>")
    with pytest.raises(FetchError, match="expected a JSON body"):
        client(venue, []).get_json("/fapi/v1/fundingRate", FUNDING_Q)


def test_connect_errors_are_retried_only_when_the_policy_says_so() -> None:
    """Issue 20 changed the default deliberately: a refused connection used to be retried 5 times; now only a
    policy with ``retry_connect=True`` retries it (downloads fail fast offline; tests/data/test_offline.py)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=[1, 2])

    sleeps: list[float] = []
    retry = RetryPolicy(max_retries=3, backoff_base_s=0.5, backoff_max_s=4.0, jitter=0.0, retry_connect=True)
    c = HttpClient("http://127.0.0.1:9", transport=httpx.MockTransport(handler), retry=retry, sleep=sleeps.append)
    assert c.get_json("/x") == [1, 2]
    assert sleeps == [0.5, 1.0]


@pytest.mark.needs_data
def test_rate_limit_paces_requests(venue: VenueServer) -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    c = HttpClient(venue.url, retry=NO_JITTER, min_interval_s=1.5, sleep=sleep, clock=lambda: now[0])
    c.get_json("/fapi/v1/fundingRate", FUNDING_Q)
    now[0] += 0.5  # caller spends 0.5 s
    c.get_json("/fapi/v1/fundingRate", FUNDING_Q)
    c.get_json("/fapi/v1/fundingRate", FUNDING_Q)
    assert sleeps == pytest.approx([1.0, 1.5])
