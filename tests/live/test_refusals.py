"""Findings 2, 3 and 9 of the fault audit at the command line: one controller per journal (an OS lock), a
venue down at start-up does not end the process, and configuration that must be refused gives one line naming
the key and exit code 2 (no traceback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from tests.simrun import SIM_HEADER
from tests.skips import extra_reason

from .conftest import START, have_sdk

pytestmark = pytest.mark.needs_data  # the simulated venue replays market data from the data dir

runner = CliRunner()

#: the fixed band and flat costs both configs below run with
BAND_AND_COSTS = """[band]
mode = "fixed"
alpha_target = 0.30
alpha_lower = 0.25
alpha_upper = 0.40
kappa_fix = 0.5
[costs]
model = "flat"
"""

PAPER = "\n" + SIM_HEADER + f"""{BAND_AND_COSTS}[limits]
stale_after_seconds = 7200
"""


def _cfg(tmp: Path, extra: str = "", text: str = PAPER) -> Path:
    p = tmp / "c.toml"
    p.write_text(text + extra)
    return p


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output


def _one_line_refusal(code: int, out: str, key: str) -> None:
    assert code == 2, out
    assert key in out and "Traceback" not in out, out


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[limits]\nhedge_tolerance_usd = inf\n", "limits.hedge_tolerance_usd"),
        ("[limits]\nmax_unhedged_usd = inf\n", "limits.max_unhedged_usd"),
        ('[safety]\nflatten_on_kill = "yes"\n', "safety.flatten_on_kill"),
    ],
)
def test_config_refusals_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    text = PAPER.replace("[limits]\nstale_after_seconds = 7200\n", "")
    code, out = _run("run", "--config", str(_cfg(tmp_path, extra, text)), "--max-cycles", "1")
    _one_line_refusal(code, out, key)


@pytest.mark.parametrize(("old", "new", "key"), [
    (f'start = "{START}"', 'start = "yesterday"', "sim.start"),
    ('mode = "fixed"', 'mode = "fixed"\nasof = "notadate"', "band.asof"),
])
def test_dates_that_are_not_dates_are_refused(tmp_path: Path, old: str, new: str, key: str) -> None:
    code, out = _run("run", "--config", str(_cfg(tmp_path, text=PAPER.replace(old, new))), "--max-cycles", "1")
    _one_line_refusal(code, out, key)


def test_journal_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "jdir").mkdir()
    code, out = _run("run", "--config", str(_cfg(tmp_path, text='journal = "jdir"\n' + PAPER)), "--max-cycles", "1")
    _one_line_refusal(code, out, "journal")


def test_changed_sim_section_on_resume_is_refused_unless_forced(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    assert _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet")[0] == 0
    cfg.write_text(PAPER.replace('clock = "manual"', 'clock = "manual"\ncapital_usd = 2000000.0'))
    code, out = _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet")
    _one_line_refusal(code, out, "sim.capital_usd")
    assert "--force-config" in out
    code, out = _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet", "--force-config")
    assert code == 0 and "warning: --force-config" in out
    assert _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet")[0] == 0  # accepted from now on


LIVE = f"""
mode = "live"
account = "0x0000000000000000000000000000000000000001"
cadence_seconds = 1
[venue]
kind = "hyperliquid"
base_url = "http://127.0.0.1:9"
secret_env = "BASISCTL_TEST_NO_SUCH_KEY"
http_timeout_secs = 0.2
{BAND_AND_COSTS}"""


@pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))
def test_live_without_keys_creates_no_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASISCTL_TEST_NO_SUCH_KEY", raising=False)
    code, out = _run("run", "--config", str(_cfg(tmp_path, text=LIVE)), "--live", "--max-cycles", "1")
    _one_line_refusal(code, out, "BASISCTL_TEST_NO_SUCH_KEY")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no journal, no lock file


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    path = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": path, "BASISCTL_DISABLE_JIT": "1"}


@pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))
def test_live_start_against_a_dead_venue_keeps_retrying(tmp_path: Path) -> None:
    """`--live` pointed at http://127.0.0.1:9 (nothing listens): the old code exited at once; now it retries with
    backoff (one warning line per retry) until SIGTERM."""
    from basisctl.venues.hyperliquid.keys import test_private_key, test_wallet_address

    # the account is the key's own address (issue 19 N12: an agent key that is not the account is refused)
    cfg = _cfg(tmp_path, text=LIVE.replace("BASISCTL_TEST_NO_SUCH_KEY", "BASISCTL_TEST_HL_KEY").replace(
        "0x0000000000000000000000000000000000000001", test_wallet_address()))
    env = {**_env(), "BASISCTL_TEST_HL_KEY": test_private_key()}
    p = subprocess.Popen([sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(cfg), "--live"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8.0)  # interpreter start-up + several retries
        assert p.poll() is None, p.communicate()[1]
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    assert err.count("retrying in") >= 2 and "Traceback" not in err, err


def test_second_controller_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(cfg), "--pace", "0.2", "--quiet",
         "--max-cycles", "100000"],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "journal.sqlite.lock"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            assert holder.poll() is None, holder.communicate()[1]
            time.sleep(0.2)
        assert lock.read_text().strip() == str(holder.pid)
        t0 = time.monotonic()
        code, out = _run("run", "--config", str(cfg), "--max-cycles", "1")
        elapsed = time.monotonic() - t0
        assert code == 2 and elapsed < 5.0, (elapsed, out)
        line = " ".join(out.split())
        assert str(tmp_path / "journal.sqlite") in line.replace(" ", "") or "journal.sqlite" in line
        assert f"PID {holder.pid}" in line
        # and as a separate process (interpreter start-up included)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(cfg)], env=_env(),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and f"PID {holder.pid}" in " ".join(r.stderr.split()), r.stderr
        print(f"second start refused in {time.monotonic() - t0:.2f}s (separate process)")
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=60)
    # the holder is gone: the lock is free again (the kernel released it)
    assert _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet")[0] == 0


def test_dashboard_on_a_non_loopback_host_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASISCTL_API_TOKEN", raising=False)
    code, out = _run("run", "--config", str(_cfg(tmp_path)), "--serve", "--host", "0.0.0.0", "--max-cycles", "1")
    _one_line_refusal(code, out, "BASISCTL_API_TOKEN")
    assert not (tmp_path / "journal.sqlite").exists()


def test_ack_lifts_an_external_change_halt(tmp_path: Path) -> None:
    """`basisctl ack --config F`: an external liquidation halts new risk across restarts until acknowledged."""
    import json

    from basisctl.live.sim_venue import SimVenue

    cfg = _cfg(tmp_path)
    assert _run("run", "--config", str(cfg), "--max-cycles", "1", "--quiet")[0] == 0
    assert "no halt is waiting" in _run("ack", "--config", str(cfg))[1]
    sim = SimVenue(tmp_path / "sim-venue.sqlite")
    sim.external_fill("perp", "buy", 0.5, "liquidation")
    sim.close()
    for _ in range(2):  # halted, and still halted after a restart
        code, out = _run("run", "--config", str(cfg), "--max-cycles", "1", "--json")
        s = json.loads(out[out.index("{"):])
        assert code == 0 and s["halted"] and "not from a journaled order (liquidation)" in s["halt_reason"]
        assert s["state"]["unhedged_usd"] <= 50.0
    code, out = _run("ack", "--config", str(cfg), "--note", "checked on the venue")
    assert code == 0 and "acknowledged 1 halt(s) (EXTERNAL_POSITION_CHANGE)" in " ".join(out.split())
    code, out = _run("run", "--config", str(cfg), "--max-cycles", "1", "--json")
    assert code == 0 and not json.loads(out[out.index("{"):])["halted"]
    code, out = _run("ack", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in out
