"""/health, /state and /metrics over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from basisctl.live.api import serve_in_thread
from basisctl.live.controller import Controller
from basisctl.live.runner import build
from basisctl.live.sim_venue import SimVenue

from .conftest import fixed_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def served(tmp_path: Path, sim: SimVenue):  # type: ignore[no-untyped-def]
    b = build(fixed_config(tmp_path, band={"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45}), venue=sim)
    ctl = Controller(b.controller.cfg, sim, b.journal, b.controller.policy, sleep=sim.advance)
    port = free_port()
    srv = serve_in_thread(ctl, port)
    yield ctl, f"http://127.0.0.1:{port}"
    srv.stop()


def test_health_state_metrics(served) -> None:  # type: ignore[no-untyped-def]
    ctl, url = served
    code, body = get(url + "/health")
    assert code == 503 and json.loads(body)["reason"] == "no cycle yet"
    ctl.start()
    ctl.cycle()
    code, body = get(url + "/health")
    assert code == 200 and json.loads(body)["status"] == "ok"
    code, body = get(url + "/state")
    s = json.loads(body)
    assert code == 200 and s["cycles"] == 1 and s["band"]["alpha_target"] == 0.35
    assert s["state"]["alpha"] == pytest.approx(0.35, abs=2e-4) and len(s["trades"]) == 1
    assert s["decisions"][0]["action"] == "raise_collateral" and "alpha_L" in s["decisions"][0]["reason"]
    code, text = get(url + "/metrics")
    assert code == 200
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    pat = re.compile(r'^[a-z_]+(\{[a-z_]+="[A-Za-z_]+"\})? (-?[0-9.e+-]+|NaN)$')
    assert samples and all(pat.match(ln) for ln in samples), samples
    vals = {ln.split(" ")[0]: float(ln.split(" ")[1]) for ln in samples}
    assert vals["basisctl_alpha"] == pytest.approx(s["state"]["alpha"])
    assert vals['basisctl_band{bound="alpha_lower"}'] == 0.33 and vals["basisctl_halted"] == 0.0
    assert "# TYPE basisctl_cycles_total counter" in text


def test_health_degrades_when_halted(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctl, url = served
    ctl.start()
    (tmp_path / "basisctl.kill").write_text("")
    ctl.cycle()
    code, body = get(url + "/health")
    assert code == 503 and "halted" in json.loads(body)["reason"]
    assert "basisctl_halted 1.0" in get(url + "/metrics")[1]


def _req(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    r = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_foreign_host_header_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    """Finding 10: a DNS-rebinding page reaches 127.0.0.1 with its own Host header; the old server answered 200."""
    ctl, url = served
    ctl.start()
    ctl.cycle()
    assert _req(url + "/state", headers={"Host": "evil.example"})[0] == 400
    assert _req(url + "/state", headers={"Host": "attacker.test:8787"})[0] == 400
    for host in ("localhost", "127.0.0.1"):
        assert _req(url + "/state", headers={"Host": host})[0] == 200


def test_head_works_and_openapi_is_off(served) -> None:  # type: ignore[no-untyped-def]
    _ctl, url = served
    for path in ("/health", "/state", "/metrics", "/"):
        code, body = _req(url + path, method="HEAD")
        assert code in (200, 503) and body == b"", path
    assert _req(url + "/openapi.json")[0] == 404 and _req(url + "/docs")[0] == 404


def test_bearer_token_on_every_route(served, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from basisctl.errors import BasisctlError
    from basisctl.live.api import ServerThread, create_app

    ctl, _ = served
    monkeypatch.delenv("BASISCTL_API_TOKEN", raising=False)
    with pytest.raises(BasisctlError, match="BASISCTL_API_TOKEN"):
        ServerThread(ctl, free_port(), host="0.0.0.0")  # not loopback and no token: refused before binding
    port = free_port()
    app = create_app(ctl, allowed_hosts=["*"], token="s3cret")  # what a non-loopback bind serves
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    import threading
    import time

    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    while not srv.started:
        time.sleep(0.02)
    try:
        base = f"http://127.0.0.1:{port}"
        for path in ("/health", "/state", "/metrics", "/"):
            assert _req(base + path)[0] == 401, path
            assert _req(base + path, headers={"Authorization": "Bearer wrong"})[0] == 401
        code, _ = _req(base + "/state", headers={"Authorization": "Bearer s3cret", "Host": "box.lan"})
        assert code == 200
    finally:
        srv.should_exit = True
        t.join(timeout=5)
