"""Calibrating the controller's band at start from the operator's own data files (e.g. `basisctl data fetch`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from basisctl.data import locator
from basisctl.data.io import write_frame
from basisctl.errors import DataValidationError
from basisctl.live.runner import calibrate_band

from .conftest import fixed_config

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

ASOF = pd.Timestamp("2026-03-10", tz="UTC")
CALIBRATE = {"mode": "calibrate", "alpha_target": None, "alpha_lower": None, "alpha_upper": None,
             "kappa_fix": None}


def _files(tmp: Path) -> tuple[str, str]:
    write_frame(locator.load_candles("binance_perp", "BTC", "1h"), tmp / "btc_1h.parquet")
    write_frame(locator.load_funding("hyperliquid", "BTC"), tmp / "btc_funding.csv")
    return "btc_1h.parquet", "btc_funding.csv"  # relative to the config's folder


def test_band_from_files_equals_the_shipped_calibration(tmp_path: Path) -> None:
    prices, funding = _files(tmp_path)
    shipped_cfg = fixed_config(tmp_path, band=CALIBRATE)
    file_cfg = fixed_config(tmp_path, band={**CALIBRATE, "prices_file": prices, "funding_file": funding})
    ref, _ = calibrate_band(shipped_cfg, ASOF, 1e6)
    got, info = calibrate_band(file_cfg, ASOF, 1e6)
    assert got == ref  # same series -> the identical frozen band
    assert info["prices_file"].endswith(prices) and info["funding_file"].endswith(funding)


def test_band_from_files_ends_where_the_files_end(tmp_path: Path) -> None:
    prices, funding = _files(tmp_path)
    cfg = fixed_config(tmp_path, band={**CALIBRATE, "prices_file": prices, "funding_file": funding})
    _, info = calibrate_band(cfg, pd.Timestamp("2027-01-01", tz="UTC"), 1e6)  # 'now' beyond the files
    last_close = locator.load_candles("binance_perp", "BTC", "1h")["ts"].max() + pd.Timedelta(hours=1)
    assert pd.Timestamp(info["asof"]) == last_close  # last bar close (the funding file runs longer)


def test_a_corrupt_band_file_stops_the_start_with_file_and_row(tmp_path: Path) -> None:
    c = locator.load_candles("binance_perp", "BTC", "1h").tail(5000).reset_index(drop=True)
    c.loc[42, "close"] = -1.0
    write_frame(c, tmp_path / "bad.csv")
    cfg = fixed_config(tmp_path, band={**CALIBRATE, "prices_file": "bad.csv"})
    with pytest.raises(DataValidationError, match=r"bad\.csv.*row 42"):
        calibrate_band(cfg, ASOF, 1e6)
