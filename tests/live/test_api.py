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
