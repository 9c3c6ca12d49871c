"""Issue 20 p: ``--asof`` defaults to the midnight after the last UTC day complete in the files a command reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.calibration.asof import complete_candle_days, complete_funding_days, data_asof
from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.errors import DataCoverageError

runner = CliRunner()
D = pd.Timestamp


def _candles(start: str, hours: int, bar: int = 1, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    ts = pd.date_range(start, periods=hours // bar, freq=f"{bar}h", tz="UTC")
    keep = np.setdiff1d(np.arange(len(ts)), drop)
    close = np.exp(np.linspace(0.0, 0.01, len(ts)))[keep]
    return pd.DataFrame({"ts": ts[keep], "open": close, "high": close, "low": close, "close": close})


def test_candle_day_is_complete_only_with_all_its_bars() -> None:
    c = _candles("2026-01-01", 24 * 3 - 1)  # 3 days less the last bar: day 3 lacks 23:00
    assert complete_candle_days(c, 1.0) == {D("2026-01-01", tz="UTC"), D("2026-01-02", tz="UTC")}
    c = _candles("2026-01-01", 24 * 3, drop=(30,))  # a gap on day 2
    assert complete_candle_days(c, 1.0) == {D("2026-01-01", tz="UTC"), D("2026-01-03", tz="UTC")}
    assert complete_candle_days(_candles("2026-01-01", 48, bar=4), 4.0) == {D("2026-01-01", tz="UTC"),
                                                                          D("2026-01-02", tz="UTC")}


def test_funding_day_is_closed_by_the_next_midnight_settlement() -> None:
    ts = pd.date_range("2026-01-01 08:00", "2026-01-03 00:00", freq="8h", tz="UTC")  # 08, 16, 00, ... 00
    f = pd.DataFrame({"ts": ts, "rate": 1e-4, "interval_hours": 8.0})
    # 01-01 is paid by 08:00, 16:00 and 01-02 00:00; 01-02 by 08, 16 and 01-03 00:00
    assert complete_funding_days(f) == {D("2026-01-01", tz="UTC"), D("2026-01-02", tz="UTC")}
    assert complete_funding_days(f.iloc[:-1]) == {D("2026-01-01", tz="UTC")}  # 01-03 00:00 missing
    hourly = pd.DataFrame({"ts": pd.date_range("2026-01-01 01:00", periods=23, freq="h", tz="UTC"), "rate": 0.0,
                           "interval_hours": 1.0})
    assert complete_funding_days(hourly) == set()  # 01:00..23:00 pay 23 h of the day
    assert complete_funding_days(pd.concat([hourly, pd.DataFrame(
        {"ts": [D("2026-01-02", tz="UTC")], "rate": [0.0], "interval_hours": [1.0]})])) == {D("2026-01-01", tz="UTC")}


def _ms(ts) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(pd.Timestamp(t).timestamp() * 1000) for t in ts]


def _write_dir(root: Path, candle_hours: int, funding_end: str) -> None:
    (root / "prices" / "binance_perp").mkdir(parents=True, exist_ok=True)
    (root / "funding" / "binance").mkdir(parents=True, exist_ok=True)
    c = _candles("2025-01-01", candle_hours)
    pd.DataFrame({"timestamp": c.ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), "ts_ms": _ms(c.ts),
                  "open": c.close, "high": c.close, "low": c.close, "close": c.close, "volume": 1.0,
                  "source": "T"}).to_csv(root / "prices" / "binance_perp" / "BTC_1h.csv", index=False)
    ts = pd.date_range("2025-01-01 08:00", funding_end, freq="8h", tz="UTC")
    rate = 1e-4 * (1 + 0.5 * np.sin(np.arange(len(ts))))
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "ts_ms": _ms(ts),
                  "rate": rate, "interval_hours": 8, "source": "T"}).to_csv(
        root / "funding" / "binance" / "BTC.csv", index=False)


@pytest.fixture
def data_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    yield tmp_path
    locator.set_data_dir(None)


def test_asof_is_the_last_day_complete_in_every_file_and_moves_with_new_data(data_dir: Path) -> None:
    _write_dir(data_dir, 24 * 200 + 12, "2025-09-01 00:00")  # candles: 200 full days + half of 2025-07-20
    locator.set_data_dir(data_dir)
    assert data_asof(["binance"], ["BTC"]) == D("2025-07-20", tz="UTC")  # candles end first
    assert data_asof(["binance"], ["BTC"], candles=False) == D("2025-09-01", tz="UTC")
    assert data_asof(["binance"], ["BTC"], funding=False) == D("2025-07-20", tz="UTC")
    assert data_asof(["okx"], ["BTC"], candles=False) == D("2026-03-10", tz="UTC")  # no file read: the paper's

    # the CLI default is that as-of, and new data moves it without a flag
    args = ["--data-dir", str(data_dir), "funding-stats", "--venue", "binance", "--asset", "BTC", "--windows", "30",
            "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["asof"].startswith("2025-09-01")
    _write_dir(data_dir, 24 * 200 + 12, "2025-10-01 00:00")
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["asof"].startswith("2025-10-01")
    pinned = runner.invoke(app, [*args, "--asof", "2025-09-01"])
    assert json.loads(pinned.stdout)["asof"].startswith("2025-09-01")

    s = runner.invoke(app, ["--data-dir", str(data_dir), "static", "--venue", "binance", "--asset", "BTC",
                            "--lookback-days", "30", "--json"])
    assert s.exit_code == 0, s.output
    assert json.loads(s.stdout)["asof"].startswith("2025-07-20")  # candles and funding: the earlier end


def test_no_common_complete_day_is_an_error_naming_the_spans(data_dir: Path) -> None:
    _write_dir(data_dir, 24 * 10, "2025-01-05 00:00")
    (data_dir / "funding" / "binance" / "BTC.csv").write_text(
        "timestamp,ts_ms,rate,interval_hours,source\n2026-02-01T08:00:00Z,1769932800000,0.0001,8,T\n"
        "2026-02-01T16:00:00Z,1769961600000,0.0001,8,T\n2026-02-02T00:00:00Z,1769990400000,0.0001,8,T\n")
    locator.set_data_dir(data_dir)
    with pytest.raises(DataCoverageError, match=r"no UTC day is complete.*2025-01-01 to 2025-01-10.*"
                                                r"2026-02-01 to 2026-02-01.*pass --asof"):
        data_asof(["binance"], ["BTC"])


@pytest.mark.parametrize("cmd", [["static"], ["static-grid"], ["funding-stats"], ["bands"], ["venues"],
                                 ["allocate"], ["pi-liq"], ["simulate", "upper-grid"], ["simulate", "lower-grid"]])
def test_every_defaulting_asof_says_it_comes_from_the_data(cmd: list[str]) -> None:
    r = runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "400"})
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "last UTC day complete" in text and "2026-03-10" in text, text
