"""`basisctl doctor` (issue 22 item 4): one line per check, OK or the fix; exit 0 only when all pass. Against
the local Hyperliquid server on 127.0.0.1 and with a paper config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.live.config import ControllerConfig, parse_config
from basisctl.live.doctor import Check, check_margin, run_doctor
from basisctl.live.lock import JournalLock
from basisctl.live.sim_venue import SimVenue
from tests.skips import extra_reason
from tests.webhook import WebhookReceiver

from .conftest import fixed_config, have_sdk

KEY_ENV = "BASISCTL_TEST_DOCTOR_KEY"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_paper_config_passes(tmp_path: Path) -> None:
    checks = run_doctor(fixed_config(tmp_path))
    bad = [c.line() for c in checks if not c.ok]
    assert not bad, bad
    names = [c.name for c in checks]
    for n in ("config", "alerts", "keys", "venue", "clock", "path journal", "path trade_log", "path safety.alert_log",
              "path sim.state_file", "lock journal", "lock sim.state_file", "margin"):
        assert n in names, n
    assert all(c.line().startswith("OK    ") for c in checks)


def test_config_ranges_and_paths_fail_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    cfg = fixed_config(tmp_path, limits={"max_order_usd": 5e6, "max_position_usd": 1e6},
                       journal="afile/journal.sqlite")
    c = by_name(run_doctor(cfg))
    assert not c["config"].ok and "max_order_usd (5e+06) <= max_position_usd (1e+06)" in c["config"].text
    assert "fix:" in c["config"].text
    assert not c["path journal"].ok and "is a file, not a folder" in c["path journal"].text
    assert c["path trade_log"].ok


def test_lock_status_names_the_holder(tmp_path: Path) -> None:
    cfg = fixed_config(tmp_path)
    lk = JournalLock(cfg.resolve(cfg.journal)).acquire()
    try:
        c = by_name(run_doctor(cfg))["lock journal"]
        assert c.ok and f"held by PID {os.getpid()}" in c.text
    finally:
        lk.release()
    c = by_name(run_doctor(cfg))["lock journal"]
    assert c.ok and "free (no controller runs on it)" in c.text
    JournalLock(cfg.resolve(cfg.journal)).acquire().release()  # the probe left no lock behind


@pytest.mark.parametrize(("mode", "book", "ok", "word"), [
    (None, False, False, "unknown"), ("isolated", True, True, "isolated"), ("cross", False, True, "refused for a book"),
    ("cross", True, False, "sub-account per position"), ("unified", False, False, "spot balances count"),
    ("portfolio", True, False, "spot balances count"), ("sub-account", True, True, "sub-account"),
    ("something", False, False, "unrecognised"),
])
def test_margin_rules(mode: str | None, book: bool, ok: bool, word: str) -> None:
    c = check_margin(mode, book, "hyperliquid BTC")
    assert c.ok is ok and word in c.text and (ok or "fix:" in c.text)


def test_cli_exit_codes(tmp_path: Path) -> None:
    ok_dir, bad_dir = tmp_path / "ok", tmp_path / "bad"
    ok_dir.mkdir()
    bad_dir.mkdir()
    (ok_dir / "c.toml").write_text('cadence_seconds = 3600\n[band]\nmode = "fixed"\nalpha_target = 0.3\n'
                                   'alpha_lower = 0.25\nalpha_upper = 0.4\nkappa_fix = 0.5\n')
    (bad_dir / "c.toml").write_text('[limits]\nhedge_tolerance_usd = 900000\n')
    r = CliRunner().invoke(app, ["doctor", "--config", str(ok_dir / "c.toml")])
    assert r.exit_code == 0, r.output
    assert len(r.output.strip().splitlines()) >= 12 and "FAIL" not in r.output
    r = CliRunner().invoke(app, ["doctor", "--config", str(bad_dir / "c.toml")])
    assert r.exit_code == 1 and "FAIL  config" in r.output and "can never fire" in r.output
    r = CliRunner().invoke(app, ["doctor", "--config", str(ok_dir / "c.toml"), "--for-book", "--json"])
    assert r.exit_code == 0 and '"ok": true' in r.output  # paper: a simulated account per position
    r = CliRunner().invoke(app, ["doctor", "--config", str(tmp_path / "missing.toml")])
    assert r.exit_code == 2 and "config file not found" in r.output


# ------------------------------------------------------------------------------ local Hyperliquid server
needs_sdk = pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))


@pytest.fixture
def server(sim: SimVenue):
    from basisctl.venues.hyperliquid.keys import test_wallet_address
    from basisctl.venues.hyperliquid.server import HLServer

    srv = HLServer(sim, test_wallet_address()).start()
    yield srv
    srv.stop()


def live_cfg(tmp: Path, url: str, **over: Any) -> ControllerConfig:
    from basisctl.venues.hyperliquid.keys import test_wallet_address

    data: dict[str, Any] = {
        "mode": "live", "account": test_wallet_address().lower(), "cadence_seconds": 60,
        "venue": {"kind": "hyperliquid", "base_url": url, "secret_env": KEY_ENV},
        "band": {"mode": "fixed", "alpha_target": 0.3, "alpha_lower": 0.25, "alpha_upper": 0.4, "kappa_fix": 0.5},
        "backup": {"every_hours": 6},
        **over,
    }
    return parse_config(data, "live.toml", tmp)


class _Margin:
    def __init__(self, mode: str | None) -> None:
        self.mode = mode

    def margin_mode(self) -> str | None:
        return self.mode


@needs_sdk
def test_local_server_all_pass_key_never_printed(tmp_path: Path, server: Any, webhook: WebhookReceiver,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.venues.hyperliquid.keys import test_private_key

    monkeypatch.setenv(KEY_ENV, test_private_key())
    monkeypatch.setenv("BASISCTL_STATE_DIR", str(tmp_path / "state"))
    cfg = live_cfg(tmp_path, server.url, alerts={"urls": {"ops": webhook.apprise_url()}})
    checks = run_doctor(cfg, book=True, venue_factory=lambda c: _Margin("isolated"))
    bad = [c.line() for c in checks if not c.ok]
    assert not bad, bad
    text = "\n".join(c.line() for c in checks)
    assert test_private_key()[2:] not in text.lower() and test_private_key()[2:12] not in text.lower()
    c = by_name(checks)
    assert "main key of account" in c["keys"].text and "value not shown" in c["keys"].text
    assert "BTC perp and UBTC/USDC spot listed" in c["venue"].text
    assert "venue's clock" in c["clock"].text and "isolated" in c["margin"].text
    assert "lock account" in c and "path state dir" in c and "path backup.dir" in c
    # the adapter's own margin-mode read (issue 22: s22truth) when present, else 'unknown' is a failure line
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue

    m = by_name(run_doctor(cfg, book=True))["margin"]
    if not hasattr(HyperliquidVenue, "margin_mode"):
        assert not m.ok and "unknown" in m.text
    # cross margin refused for a book
    m = by_name(run_doctor(cfg, book=True, venue_factory=lambda c: _Margin("cross")))["margin"]
    assert not m.ok and "cross margin" in m.text


@needs_sdk
def test_local_server_failures(tmp_path: Path, server: Any, sim: SimVenue, monkeypatch: pytest.MonkeyPatch) -> None:
    from eth_account import Account

    from basisctl.venues.hyperliquid.keys import test_private_key

    monkeypatch.setenv("BASISCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv(KEY_ENV, raising=False)
    cfg = live_cfg(tmp_path, server.url, backup={"every_hours": 0})
    c = by_name(run_doctor(cfg))
    assert not c["keys"].ok and f"set the environment variable {KEY_ENV}" in c["keys"].text
    assert not c["alerts"].ok and "nobody is told" in c["alerts"].text
    assert not c["config"].ok and "no journal backups" in c["config"].text
    assert not c["margin"].ok and "not read" in c["margin"].text
    agent = Account.create().key.hex()
    monkeypatch.setenv(KEY_ENV, agent)
    c = by_name(run_doctor(cfg))
    assert not c["keys"].ok and "agent/API key" in c["keys"].text and "MAIN key" in c["keys"].text
    assert agent.removeprefix("0x")[:16] not in c["keys"].line().lower()
    monkeypatch.setenv(KEY_ENV, test_private_key())
    # clock skew measured from the Date header (the server's Date is the simulated venue clock)
    venue_s = sim.now_ms() / 1000.0
    c = by_name(run_doctor(cfg, clock_mode="local", local_clock=lambda: venue_s + 12.0))
    import re

    off = float(re.search(r"local clock ([+-][0-9.]+) s off", c["clock"].text).group(1))  # type: ignore[union-attr]
    assert not c["clock"].ok and abs(off - 12.0) <= 1.0 and "NTP" in c["clock"].text  # Date: 1 s resolution
    c = by_name(run_doctor(cfg, clock_mode="local", local_clock=lambda: venue_s))
    assert c["clock"].ok and "skew" in c["clock"].text
    # a wrong asset, then a venue that does not answer
    c = by_name(run_doctor(live_cfg(tmp_path, server.url, venue={"kind": "hyperliquid", "base_url": server.url,
                                                                  "secret_env": KEY_ENV, "asset": "NOPE"})))
    assert not c["venue"].ok and "perp NOPE not in the venue's universe" in c["venue"].text
    server.stop()
    c = by_name(run_doctor(cfg))
    assert not c["venue"].ok and "not reachable" in c["venue"].text and not c["clock"].ok and not c["margin"].ok
