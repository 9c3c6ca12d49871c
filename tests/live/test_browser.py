"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from basisctl.live.api import serve_in_thread
from basisctl.live.controller import Controller
from basisctl.live.runner import build
from basisctl.live.sim_venue import SimVenue
from tests.skips import CHROMIUM, CHROMIUM_REASON

from .conftest import fixed_config
from .test_api import free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=CHROMIUM_REASON),
]


def test_dashboard_updates_live(tmp_path: Path, sim: SimVenue) -> None:
    from playwright import sync_api
    band = {"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45}
    b = build(fixed_config(tmp_path, band=band), venue=sim)
    ctl = Controller(b.controller.cfg, sim, b.journal, b.controller.policy, sleep=sim.advance)
    port = free_port()
    srv = serve_in_thread(ctl, port)
    stop = threading.Event()

    def loop() -> None:
        ctl.start()
        while not stop.is_set():
            ctl.cycle()
            sim.advance(3600)
            time.sleep(0.15)

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.querySelector('#alpha-line') !== null", timeout=15_000)
            first = int(page.locator("#cycles").inner_text().split()[-1])
            n_first = len(page.locator("#alpha-line").get_attribute("points").split())
            page.wait_for_function(
                f"Number(document.querySelector('#cycles').textContent.split(' ').pop()) > {first + 2}", timeout=15_000
            )
            n_later = len(page.locator("#alpha-line").get_attribute("points").split())
            assert n_later > n_first  # the chart grows as cycles arrive (live, no reload)
            for line in ("#l-lower", "#l-target", "#l-upper"):
                assert page.locator(line).count() == 1
            assert page.locator("#status").inner_text() == "running"
            assert "raise_collateral" in page.locator("#decisions").inner_text()
            assert "sell-basis" in page.locator("#trades").inner_text()
            assert page.locator("#costs .trade-dot").count() >= 1  # realised vs target scatter
            alpha_txt = float(page.locator("#k-alpha").inner_text())
            assert 0.0 < alpha_txt < 1.0
            page.screenshot(path=str(tmp_path / "dashboard.png"))
            assert not failed  # everything is served locally: no CDN, works offline
            browser.close()
    finally:
        stop.set()
        th.join(timeout=10)
        srv.stop()
