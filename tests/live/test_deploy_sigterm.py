"""Graceful SIGTERM (issue 22 item 5: images cannot be built offline, so the stop a service manager or a
container runtime sends is tested in-process): `basisctl run --paper` as a subprocess, SIGTERM mid-run ->
exit 0, locks released, journal consistent (no open intent, the last cycle completed or not started), the
KILL_SWITCH alert delivered before exit, /health served while running; the deploy/ files say what the tests
assume."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from basisctl.live.journal import Journal
from basisctl.live.lock import JournalLock, SimStateLock
from tests.simrun import FLAT_COSTS, SIM_HEADER
from tests.webhook import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]

CONFIG = SIM_HEADER + """capital_usd = 1000000.0
[band]
mode = "fixed"
alpha_target = 0.35
alpha_lower = 0.345
alpha_upper = 0.355
kappa_fix = 0.5
k_reb_fix_bps = 5
""" + FLAT_COSTS + """q_min_usd = 100
[limits]
stale_after_seconds = 7200
[alerts]
urls = {{ops = "{url}"}}
[backup]
every_hours = 1
keep = 3
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count(journal: Path, kind: str) -> int:
    try:
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM entries WHERE kind=?", (kind,)).fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start(tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(tmp / "c.toml"), "--paper", "--quiet",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def assert_consistent(journal: Path) -> None:
    """No open intent, no cycle half-written: the last 'decision' is followed by its 'cycle' record."""
    j = Journal(journal)  # quick_check + schema on open
    try:
        assert j.open_intents() == []
        last_cycle = j.entries("cycle", limit=1, newest_first=True)[0].seq
        last_dec = j.entries("decision", limit=1, newest_first=True)[0].seq
        assert last_dec < last_cycle, "a decision without its cycle record: the last cycle was cut in half"
        assert j.count("decision") == j.count("cycle")  # every cycle decided once (equity > 0)
        for e in j.entries("intent"):
            assert j.has("result:" + e.key.removeprefix("intent:")), e.key
    finally:
        j.close()


def test_sigterm_mid_run_stops_cleanly_and_resumes(tmp_path: Path, webhook: WebhookReceiver) -> None:
    (tmp_path / "c.toml").write_text(CONFIG.format(url=webhook.apprise_url("ops")))
    journal = tmp_path / "journal.sqlite"
    port = free_port()
    p = start(tmp_path, "--pace", "0.05", "--serve", "--port", str(port))
    try:
        t0 = time.monotonic()
        while count(journal, "cycle") < 8:
            assert p.poll() is None, p.communicate()[1][-2000:]
            assert time.monotonic() - t0 < 180, "no cycles"
            time.sleep(0.05)
        code, body = get(f"http://127.0.0.1:{port}/health")
        assert code == 200 and body["lock"]["held"] and body["status"] == "ok", body
        assert body["alert_delivery"]["failing"] is False and body["backup"]["every_hours"] == 1.0
        n_fills = count(journal, "fill")
        p.send_signal(signal.SIGTERM)
        _out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert n_fills >= 2  # the narrow band traded before the stop
    # locks released: a new holder gets both at once
    JournalLock(journal).acquire().release()
    SimStateLock(tmp_path / "sim-venue.sqlite").acquire().release()
    assert_consistent(journal)
    # the stop was announced and delivered before exit; the backup schedule ran once (due at start)
    assert "KILL_SWITCH" in webhook.kinds()
    assert len(list((tmp_path / "backups").glob("journal-*Z.sqlite"))) == 1
    # resume: the same journal and simulated account, no mismatch
    r = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(tmp_path / "c.toml"),
                        "--paper", "--quiet", "--max-cycles", "3", "--json"],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout)
    assert not res["halted"] and not {"POSITION_MISMATCH", "FOREIGN_CONTROLLER", "UNEXPLAINED_CHANGE"} & set(
        res["alert_counts"]), res["alert_counts"]
    assert_consistent(journal)


def test_deploy_files_match_what_is_tested() -> None:
    unit = (ROOT / "deploy" / "basisctl.service").read_text()
    for line in ("Restart=on-failure", "KillSignal=SIGTERM", "TimeoutStopSec=", "ExecStart=", "ReadWritePaths="):
        assert line in unit, line
    cf = (ROOT / "deploy" / "Containerfile").read_text()
    for word in ("USER basisctl", "VOLUME", "HEALTHCHECK", "/health", "STOPSIGNAL SIGTERM"):
        assert word in cf, word
    timer = (ROOT / "deploy" / "basisctl-watchdog.timer").read_text()
    assert "OnUnitActiveSec=" in timer


@pytest.mark.parametrize("scenario", ["ok", "stale", "down"])
def test_watchdog_script(tmp_path: Path, webhook: WebhookReceiver, scenario: str) -> None:
    """deploy/watchdog.py (stdlib only, runs outside the controller): a fresh /health passes silently; a
    stale last cycle or a dead controller exits 1 and posts one alert to the webhook."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    age = {"ok": 5.0, "stale": 900.0}.get(scenario)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            return None

        def do_GET(self) -> None:
            body = json.dumps({"status": "ok", "reason": "ok", "reasons": [], "last_cycle_age_s": age}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    if scenario == "down":
        srv.shutdown()
        srv.server_close()
    hook = f"http://127.0.0.1:{webhook.port}/watchdog"
    r = subprocess.run([sys.executable, str(ROOT / "deploy" / "watchdog.py"), "--url",
                        f"http://127.0.0.1:{port}/health", "--max-age", "300", "--webhook", hook,
                        "--state-file", str(tmp_path / "wd.state")], capture_output=True, text=True, timeout=60)
    if scenario != "down":
        srv.shutdown()
        srv.server_close()
    if scenario == "ok":
        assert r.returncode == 0 and webhook.received == []
        return
    assert r.returncode == 1, r.stderr
    got = webhook.wait_for(1)
    assert len(got) == 1 and got[0]["path"] == "/watchdog"
    assert ("900" in got[0]["message"]) if scenario == "stale" else ("unreachable" in got[0]["message"])
    # a second failing run does not repeat the alert (the state file remembers); exit stays 1
    r = subprocess.run([sys.executable, str(ROOT / "deploy" / "watchdog.py"), "--url",
                        f"http://127.0.0.1:{port}/health", "--max-age", "300", "--webhook", hook,
                        "--state-file", str(tmp_path / "wd.state")], capture_output=True, text=True, timeout=60)
    if scenario == "down":
        assert r.returncode == 1 and len(webhook.wait_for(2, timeout_s=1.0)) == 1


def test_health_rule(tmp_path: Path) -> None:
    """/health is 200 only when every check passes: a cycle within max_silence_s, not halted, every lock held and
    intact, alert delivery not failing (tested in test_notify); else 503 listing every failing reason."""
    from basisctl.live.api import health
    from basisctl.live.runner import _HELD, build

    from .conftest import fixed_config, make_sim

    sim = make_sim(tmp_path / "venue.sqlite")
    b = build(fixed_config(tmp_path), venue=sim)
    ctl = b.controller
    try:
        code, body = health(ctl)
        assert code == 503 and body["reasons"] == ["no cycle yet"] and body["lock"]["held"]
        ctl.start()
        ctl.cycle()
        code, body = health(ctl)
        assert code == 200 and body["reasons"] == [] and body["alert_delivery"] is None and body["backup"] is None
        code, body = health(ctl, max_silence_s=0.0)
        assert code == 503 and body["reasons"][0].startswith("no cycle for")
        (tmp_path / "journal.sqlite.lock").unlink()  # a cleanup script removed the lock file
        code, body = health(ctl)
        assert code == 503 and not body["lock"]["held"] and "lock lost" in body["reasons"][0]
        ctl.halted, ctl.halt_reason = True, "test halt"
        code, body = health(ctl, max_silence_s=0.0)
        assert code == 503 and len(body["reasons"]) == 3 and body["reason"].startswith("no cycle for")
    finally:
        b.journal.close()
        for k in list(_HELD):
            _HELD.pop(k).release()
        sim.close()


def test_example_deploy_config_loads_and_passes_the_config_check() -> None:
    from basisctl.live.config import load_config
    from basisctl.live.doctor import check_config

    cfg = load_config(ROOT / "deploy" / "controller.example.toml")
    assert cfg.mode == "live" and cfg.backup.every_hours == 6 and set(cfg.alerts.urls) == {"pager", "chat"}
    c = check_config(cfg)
    assert c.ok, c.line()
