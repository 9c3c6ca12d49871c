"""Issue 20 item 2: with no market data, ``report`` downloads only when told. At a terminal the prompt says what
will be downloaded, how big it is and how long it should take; with no terminal it downloads only with
``--download``, else exits 2 naming both ways out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from basisctl.cli import backtest_cmds, data_cmds
from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.venues.pull import CHUNK_MS, Series, default_set
from basisctl.venues.pull_estimate import estimate_pull, estimate_series

runner = CliRunner()


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("BASISCTL_DATA_DIR", raising=False)  # else the shared data dir is searched too
    (tmp_path / "data").mkdir()
    yield ["--data-dir", str(tmp_path / "data"), "report", "--out", str(tmp_path / "r")]
    locator.set_data_dir(None)


@pytest.fixture
def pulls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    called: list[str] = []

    def fake_pull(assets: str) -> None:
        called.append(assets)
        raise typer.Exit(3)  # stop before the report runs on no data

    monkeypatch.setattr(data_cmds, "pull_cmd", fake_pull)
    return called


def test_no_terminal_no_flag_exits_2_and_downloads_nothing(empty: list[str], pulls: list[str]) -> None:
    r = runner.invoke(app, empty)
    assert r.exit_code == 2 and pulls == []
    assert "no market data found" in r.output and "--download" in r.output and "data pull" in r.output


def test_download_flag_downloads_without_asking(empty: list[str], pulls: list[str]) -> None:
    r = runner.invoke(app, [*empty, "--download", "--assets", "BTC"])
    assert r.exit_code == 3 and pulls == ["BTC"] and "Download the default" not in r.output


def test_terminal_prompt_says_what_how_big_how_long(empty: list[str], pulls: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backtest_cmds, "_interactive", lambda: True)
    r = runner.invoke(app, [*empty, "--assets", "BTC,ETH"], input="n\n")
    assert r.exit_code == 2 and pulls == []
    est = estimate_pull(default_set(("BTC", "ETH")))
    assert "Binance USD-M funding" in r.output and "BTC, ETH" in r.output and est.describe() in r.output
    assert " MB on disk" in r.output and " min at the venues' rate limits" in r.output
    r = runner.invoke(app, [*empty, "--assets", "BTC"], input="y\n")
    assert r.exit_code == 3 and pulls == ["BTC"]


def test_estimate_matches_the_paging_by_hand() -> None:
    now = pd.Timestamp("2026-03-10", tz="UTC")
    start = "2025-03-10"  # 365 days = 7 chunks of 60 days (the last one partial)
    chunks = -(-365 * 86_400_000 // CHUNK_MS)
    assert chunks == 7
    # Binance funding 8 h: 180 rows per 60-day chunk, one page of 1000 each; 365 * 3 rows
    assert estimate_series(Series("binance", "funding", "BTC", None, start), int(now.value // 10**6))[:2] == \
        (365 * 3, chunks)
    # Hyperliquid funding 1 h: 1440 rows per chunk, pages of 500 -> 3 requests per chunk
    assert estimate_series(Series("hyperliquid", "funding", "BTC", None, start), int(now.value // 10**6))[:2] == \
        (365 * 24, 3 * chunks)
    # Hyperliquid candles: only the last 5000 are served
    assert estimate_series(Series("hyperliquid", "candles", "BTC", "1h", start), int(now.value // 10**6))[0] == 5000
    est = estimate_pull(default_set(("BTC",), start), now)
    assert est.series == 6 and est.seconds > est.requests * 0.6
