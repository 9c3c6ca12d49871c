"""Issue 17 item 6: `compare-rules --prices-file` with 4h bars uses that file and never looks for 1h bars
elsewhere; the one rule that needs 1h bars (optimal_boot) is named with the --rules that drops it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator

runner = CliRunner()
pytestmark = pytest.mark.needs_data  # slices of the shared 4h bars and funding, written to tmp_path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(4h prices file, funding file, a data dir holding only the Hyperliquid margin tables: no bars at all)."""
    from tests.conftest import DATA_DIR

    assert DATA_DIR is not None
    px = pd.read_csv(DATA_DIR / "prices" / "binance_perp" / "BTC_4h.csv")
    ts = pd.to_datetime(px["timestamp"], utc=True)
    prices = tmp_path / "BTC_4h.csv"
    px[(ts >= "2021-05-01") & (ts < "2023-08-01")].to_csv(prices, index=False)
    fu = pd.read_csv(DATA_DIR / "funding" / "binance" / "BTC.csv")
    ft = pd.to_datetime(fu["timestamp"], utc=True)
    funding = tmp_path / "BTC_funding.csv"
    fu[(ft >= "2021-05-01") & (ft < "2023-08-02")].to_csv(funding, index=False)
    empty = tmp_path / "data"
    empty.mkdir()
    (empty / "hyperliquid").symlink_to(DATA_DIR / "hyperliquid")
    return prices, funding, empty


def _run(data_dir: Path, *args: str) -> object:
    r = runner.invoke(app, ["--data-dir", str(data_dir), "compare-rules", "--asset", "BTC", "--from", "2023-06-01",
                            "--to", "2023-08-01", *args])
    locator.set_data_dir(None)
    return r


def test_4h_prices_file_names_the_1h_rule_and_how_to_drop_it(files: tuple[Path, Path, Path]) -> None:
    prices, funding, empty = files
    r = _run(empty, "--prices-file", str(prices), "--funding-file", str(funding), "--json")
    assert r.exit_code == 2  # type: ignore[attr-defined]
    out = r.output  # type: ignore[attr-defined]
    assert "optimal_boot" in out and "4h" in out and "--rules paper,optimal,hold,fixed_leverage,periodic" in out
    assert "binance_perp" not in out  # never the data dir's 1h series


def test_4h_prices_file_runs_on_the_file_alone(files: tuple[Path, Path, Path]) -> None:
    prices, funding, empty = files
    r = _run(empty, "--prices-file", str(prices), "--funding-file", str(funding), "--rules",
             "paper,optimal,hold,fixed_leverage,periodic", "--json")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    rows = json.loads(r.stdout)["rows"]  # type: ignore[attr-defined]
    assert {x["rule"] for x in rows} == {"paper", "optimal", "hold", "fixed_leverage", "periodic"}
