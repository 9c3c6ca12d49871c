"""Alerts to operators (issue 22 item 4): apprise json:// deliveries to a webhook receiver on 127.0.0.1 -
delivered, deduplicated, rate-limited, routed by severity; a receiver that is down or slow never blocks or
crashes a cycle, and its failures are counted in /state and /health."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from basisctl.live.alerts import Alerts
from basisctl.live.api import health
from basisctl.live.config import AlertsSection, parse_config
from basisctl.live.journal import Journal
from basisctl.live.notify import DEFAULT_SEVERITY, Notifier, build_notifier, severity_of
from basisctl.live.runner import build
from basisctl.live.sim_venue import SimVenue
from tests.webhook import WebhookReceiver

from .conftest import fixed_config


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(section: dict[str, Any], urls: dict[str, str], clock: Clock | None = None) -> Notifier:
    from basisctl.live.notify import apprise_sender

    sec = AlertsSection.model_validate({"urls": urls, **section})
    return Notifier(sec, urls, apprise_sender(2.0), clock or time.monotonic)


def test_delivered_after_journaling(tmp_path: Path, webhook: WebhookReceiver) -> None:
    j = Journal(tmp_path / "j.sqlite")
    n = make({}, {"ops": webhook.apprise_url("ops")})
    a = Alerts(j, tmp_path / "alerts.log", notifier=n)
    a.raise_("POSITION_MISMATCH", "journal 1.0 BTC vs venue 0.9 BTC", 1_741_305_600_000)
    got = webhook.wait_for(1)
    assert len(got) == 1 and got[0]["path"] == "/ops"
    assert got[0]["title"] == "basisctl CRITICAL: POSITION_MISMATCH" and got[0]["type"] == "failure"
    assert got[0]["message"] == "2025-03-07 00:00:00Z journal 1.0 BTC vs venue 0.9 BTC"
    assert j.count("alert") == 1 and "POSITION_MISMATCH" in (tmp_path / "alerts.log").read_text()
    assert n.close(5.0)
    snap = a.delivery()
    assert snap is not None and snap["delivered"] == 1 and snap["failed"] == 0 and snap["channels"] == ["ops"]
    assert str(webhook.port) not in json.dumps(snap)  # the URL (a token in real life) is never shown


def test_deduplicated_within_the_window(webhook: WebhookReceiver) -> None:
    clk = Clock()
    n = make({"dedupe_seconds": 600}, {"ops": webhook.apprise_url()}, clk)
    assert n.submit("STALE_DATA", "price 40 s old", 0) == "queued"
    assert n.submit("STALE_DATA", "price 40 s old", 0) == "deduplicated"
    assert n.submit("STALE_DATA", "price 41 s old", 0) == "queued"  # another message is news
    clk.t += 599
    assert n.submit("STALE_DATA", "price 40 s old", 0) == "deduplicated"
    clk.t += 2  # 601 s after the first: the window has passed
    assert n.submit("STALE_DATA", "price 40 s old", 0) == "queued"
    n.close(10.0)
    assert len(webhook.wait_for(3)) == 3 and n.stats.deduplicated == 2


def test_rate_limited_per_kind_and_globally(webhook: WebhookReceiver) -> None:
    clk = Clock()
    n = make({"dedupe_seconds": 0, "max_per_kind": 2, "max_total": 3, "rate_window_seconds": 60},
             {"ops": webhook.apprise_url()}, clk)
    out = [n.submit("VENUE_UNAVAILABLE", f"timeout {i}", 0) for i in range(4)]
    assert out == ["queued", "queued", "rate_limited", "rate_limited"]
    assert n.submit("ORDER_REJECTED", "no match", 0) == "queued"  # another kind: its own budget
    assert n.submit("CLOCK_SKEW", "9 s", 0) == "rate_limited"  # the global budget (3 per window) is spent
    clk.t += 60  # the window has passed: the next one says how many were held back
    assert n.submit("VENUE_UNAVAILABLE", "timeout 9", 0) == "queued"
    n.close(10.0)
    got = webhook.wait_for(4)
    assert len(got) == 4 and n.stats.rate_limited == 3
    assert got[-1]["message"].endswith("timeout 9 (+2 more VENUE_UNAVAILABLE alert(s) held back by the rate limit; "
                                       "see the alert log)")


def test_severity_routing(webhook: WebhookReceiver) -> None:
    urls = {"pager": webhook.apprise_url("pager"), "chat": webhook.apprise_url("chat")}
    n = make({"routes": {"critical": ["pager", "chat"], "warning": ["chat"]},
              "severity": {"CLOCK_SKEW": "critical"}}, urls)
    assert n.submit("LOCK_LOST", "lock file deleted", 0) == "queued"  # critical -> pager + chat
    assert n.submit("ONE_LEGGED", "gap 80 USD", 0) == "queued"  # warning -> chat
    assert n.submit("RECALIBRATED", "new band", 0) == "unrouted"  # info -> nowhere (not configured)
    assert n.submit("CLOCK_SKEW", "7 s", 0) == "queued"  # overridden to critical
    n.close(10.0)
    got = webhook.wait_for(5)
    by_path = sorted((r["path"], r["title"].rsplit(": ", 1)[-1]) for r in got)
    assert by_path == [("/chat", "CLOCK_SKEW"), ("/chat", "LOCK_LOST"), ("/chat", "ONE_LEGGED"),
                       ("/pager", "CLOCK_SKEW"), ("/pager", "LOCK_LOST")]
    assert n.stats.unrouted == 1


def test_severity_table_covers_every_raised_kind() -> None:
    """Every alert kind raised in the source has a severity (a new kind must be classified, docs table too)."""
    import re

    src = Path(__file__).resolve().parents[2] / "src" / "basisctl"
    kinds: set[str] = set()
    for p in src.rglob("*.py"):
        text = p.read_text()
        kinds |= set(re.findall(r'raise_\(\s*"([A-Z_]+)"', text))
        kinds |= set(re.findall(r'_halt\(\s*"([A-Z_]+)"', text))
    missing = sorted(k for k in kinds if k not in DEFAULT_SEVERITY)
    assert not missing, missing
    assert severity_of("SOMETHING_NEW") == "warning"  # unclassified is never silently info
    docs = (src.parents[1] / "docs" / "operations.md").read_text()
    assert all(f"`{k}`" in docs for k in DEFAULT_SEVERITY), [k for k in DEFAULT_SEVERITY if f"`{k}`" not in docs]


def test_receiver_down_never_blocks_or_crashes(tmp_path: Path) -> None:
    rec = WebhookReceiver()
    url = rec.apprise_url()
    rec.stop()  # nothing listens on that port any more
    j = Journal(tmp_path / "j.sqlite")
    n = make({"dedupe_seconds": 0, "health_fail_after": 2}, {"ops": url})
    a = Alerts(j, tmp_path / "alerts.log", notifier=n)
    t0 = time.monotonic()
    for i in range(3):
        a.raise_("ONE_LEGGED", f"gap {i}", 0)
    assert time.monotonic() - t0 < 0.5  # queued, not sent inline
    n.flush(10.0)
    s = a.delivery()
    assert s is not None and s["failed"] == 3 and s["delivered"] == 0 and s["failing"]
    assert s["by_channel_failed"] == {"ops": 3} and "failed" in s["last_error"]
    assert j.count("alert") == 3  # the alerts themselves are stored


def test_slow_receiver_does_not_block_and_full_queue_drops() -> None:
    release = threading.Event()
    sent: list[str] = []

    def slow(urls: list[str], title: str, body: str, sev: str) -> bool:
        release.wait(10)
        sent.append(title)
        return True

    sec = AlertsSection.model_validate({"urls": {"ops": "json://127.0.0.1:9/x"}, "dedupe_seconds": 0,
                                        "queue_size": 2, "max_per_kind": 100})
    n = Notifier(sec, {"ops": "json://127.0.0.1:9/x"}, slow)
    t0 = time.monotonic()
    out = [n.submit("ONE_LEGGED", f"gap {i}", 0) for i in range(6)]
    assert time.monotonic() - t0 < 0.5
    # one in the worker's hands, two in the queue, the rest dropped (the first may not be taken yet: 2 or 3 queued)
    assert out.count("dropped") in (3, 4) and out[:2] == ["queued", "queued"]
    release.set()
    assert n.close(10.0)
    assert n.stats.dropped == out.count("dropped") and len(sent) == 6 - n.stats.dropped


def test_apprise_missing_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import basisctl.live.notify as notify

    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise -> ImportError
    monkeypatch.setattr(notify, "_WARNED", set())
    cfg = fixed_config(tmp_path, alerts={"urls": {"ops": "json://127.0.0.1:9/x"}})
    assert build_notifier(cfg) is None and build_notifier(cfg) is None
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "apprise is not installed" in err and "journal" in err


def test_env_url_and_missing_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], webhook: WebhookReceiver) -> None:
    import basisctl.live.notify as notify

    monkeypatch.setattr(notify, "_WARNED", set())
    monkeypatch.setenv("OPS_URL", webhook.apprise_url("ops"))
    monkeypatch.delenv("PAGER_URL", raising=False)
    cfg = fixed_config(tmp_path, alerts={"urls": {"ops": "env:OPS_URL", "pager": "env:PAGER_URL"}})
    n = build_notifier(cfg)
    assert n is not None and n.channels("critical") == ["ops"]
    assert "PAGER_URL is empty or unset" in capsys.readouterr().err
    n.submit("DRAWDOWN", "12 % below peak", 0)
    assert n.close(10.0) and webhook.wait_for(1)[0]["path"] == "/ops"


def test_config_refuses_bad_routes() -> None:
    from basisctl.live.config import ConfigError

    with pytest.raises(ConfigError, match=r"alerts\.routes\.critical names channel"):
        parse_config({"alerts": {"urls": {"a": "json://x"}, "routes": {"critical": ["b"]}}}, "t.toml")
    with pytest.raises(ConfigError, match=r"alerts\.severity"):
        parse_config({"alerts": {"severity": {"LOCK_LOST": "loud"}}}, "t.toml")
    with pytest.raises(ConfigError, match="expected an apprise URL"):
        parse_config({"alerts": {"urls": {"a": "hooks.slack.com/x"}}}, "t.toml")


def test_paper_run_alert_reaches_receiver_and_health(tmp_path: Path, sim: SimVenue, webhook: WebhookReceiver) -> None:
    """End to end: a paper controller built by the runner; the kill file's KILL_SWITCH alert reaches the receiver,
    /state shows the delivery counters without the URL; a dead receiver turns /health 503 (alerts check)."""
    cfg = fixed_config(tmp_path, alerts={"urls": {"ops": webhook.apprise_url("ops")}, "health_fail_after": 1,
                                         "dedupe_seconds": 0})
    b = build(cfg, venue=sim)
    ctl = b.controller
    ctl.start()
    ctl.cycle()
    (tmp_path / "basisctl.kill").write_text("")
    ctl.cycle()
    got = webhook.wait_for(1)
    assert "KILL_SWITCH" in [r["title"].rsplit(": ", 1)[-1] for r in got]
    ctl.alerts.notifier.flush(10.0)
    st = ctl.public_state()
    assert st["alert_delivery"]["delivered"] >= 1 and str(webhook.port) not in json.dumps(st["alert_delivery"])
    code, body = health(ctl)
    assert code == 503 and body["lock"]["held"] and body["alert_delivery"]["failing"] is False
    assert body["reasons"] == ["halted: kill file present: no new risk"] or body["reasons"][0].startswith("halted")
    webhook.stop()
    ctl.alerts.raise_("ONE_LEGGED", "gap 99", ctl._now())
    ctl.alerts.notifier.flush(10.0)
    code, body = health(ctl)
    assert code == 503 and body["alert_delivery"]["failing"] and any("alert delivery failing" in r
                                                                    for r in body["reasons"])
    ctl.alerts.notifier.close(1.0)
