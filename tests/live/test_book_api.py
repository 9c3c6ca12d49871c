"""A book end to end: `allocate --out` writes a book file, `run --book --serve` runs it, and the API on 127.0.0.1
answers /positions (one entry per position), /metrics (per-position labels, book totals) and POST /kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from basisctl.errors import BasisctlError
from basisctl.live.book.config import load_book
from basisctl.live.book.write import book_toml, write_book
from tests.simrun import stop_process

pytestmark = pytest.mark.needs_data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_write_book_weights_from_capital(tmp_path: Path) -> None:
    rows = [{"asset": "BTC", "venue": "hyperliquid", "capital_usd": 600_000.0},
            {"asset": "eth", "venue": "Binance", "capital_usd": 400_000.0},
            {"asset": "LINK", "venue": "hyperliquid", "capital_usd": 0.0}]
    book = write_book(tmp_path / "b.toml", rows, 1_000_000.0, "gbm", header="test")
    assert [(p.id, p.asset, p.venue, p.weight) for p in book.positions] == [
        ("btc-hyperliquid", "BTC", "hyperliquid", 0.6), ("eth-binance", "ETH", "binance", 0.4)]
    assert book.capital(book.positions[1]) == pytest.approx(400_000.0)
    assert "LINK/hyperliquid: allocated $0.00" in (tmp_path / "b.toml").read_text()
    with pytest.raises(BasisctlError, match="no position with capital"):
        book_toml(rows[2:], 1e6)


def test_allocate_out_then_run_book_serves_three_positions(tmp_path: Path) -> None:
    env = dict(os.environ, BASISCTL_DISABLE_JIT="1")
    exe = [sys.executable, "-m", "basisctl.cli.main"]
    r = subprocess.run([*exe, "allocate", "--capital-usd", "3000000", "--assets", "BTC,ETH", "--venues",
                        "hyperliquid,binance", "--risk-model", "gbm", "--max-venue-share", "0.7",
                        "--max-asset-share", "0.7", "--out", str(tmp_path / "book.toml")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    book = load_book(tmp_path / "book.toml")
    assert len(book.positions) == 3 and sum(p.weight or 0 for p in book.positions) == pytest.approx(1.0)
    port = _free_port()
    proc = subprocess.Popen([*exe, "run", "--book", str(tmp_path / "book.toml"), "--max-cycles", "4", "--serve",
                             "--port", str(port), "--quiet"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        rows = None
        t0 = time.time()
        while time.time() - t0 < 300:
            try:
                got = httpx.get(f"http://127.0.0.1:{port}/positions", timeout=5).json()
                if len(got) == 3 and all(x["cycles"] == 4 for x in got):
                    rows = got
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.5)
        assert rows is not None, "the book never reached 4 cycles"
        assert {x["id"] for x in rows} == {p.id for p in book.positions}
        for x in rows:
            b = x["band"]
            assert set(x) >= {"id", "asset", "venue", "alpha", "band", "hedge_gap_usd", "halted", "last_cycle"}
            assert b["alpha_lower"] < b["alpha_target"] < b["alpha_upper"] and 0 < x["alpha"] < 1
            assert x["hedge_gap_usd"] <= 50.0 and x["halted"] is False and x["last_cycle"]["ts_ms"] > 0
        m = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        for x in rows:
            assert f'basisctl_alpha{{position="{x["id"]}",asset="{x["asset"]}",venue="{x["venue"]}"}}' in m
        assert "basisctl_book_positions 3.0" in m and "basisctl_book_halted_positions 0.0" in m
        total = sum(float(ln.split()[-1]) for ln in m.splitlines() if ln.startswith("basisctl_equity_usd{"))
        book_eq = next(float(ln.split()[-1]) for ln in m.splitlines() if ln.startswith("basisctl_book_equity_usd "))
        assert book_eq == pytest.approx(total)
        k = httpx.post(f"http://127.0.0.1:{port}/kill", timeout=5).json()
        assert k["killed"] and Path(k["kill_file"]).exists()
        st = httpx.get(f"http://127.0.0.1:{port}/state", timeout=5).json()
        assert st["totals"]["killed"] is True and len(st["positions"]) == 3
        bad_host = httpx.get(f"http://127.0.0.1:{port}/positions", headers={"Host": "evil.example"}, timeout=5)
        assert bad_host.status_code == 400
    finally:
        stop_process(proc, signal.SIGINT, timeout=20)
