"""Validation against the real data dir and deliberately corrupted copies of it."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.data import locator
from basisctl.data.io import check_file, read_candles, read_funding, write_frame
from basisctl.data.validate import check_candles, check_funding, validate_funding
from basisctl.errors import DataValidationError
from tests.datadir import data_dir, require

INTERVAL_H = {"1h": 1.0, "4h": 4.0, "1d": 24.0}

# Missing-bar counts published in ../shared/data/README.md ("Validation summary"), computed by the data
# curators independently of this code.
README_MISSING_BARS = {
    ("binance_perp", "BTC", "1h"): 0,
    ("binance_perp", "ETH", "1h"): 7,
    ("binance_perp", "DOGE", "1h"): 7,
    ("binance_perp", "LINK", "1h"): 7,
    ("binance_perp", "BTC", "4h"): 0,
    ("binance_perp", "LINK", "1d"): 0,
    ("binance_spot", "BTC", "1h"): 1,
    ("binance_spot", "LINK", "1h"): 1,
    ("hyperliquid_perp", "BTC", "1h"): 0,
    ("hyperliquid_perp", "DOGE", "1h"): 0,
    ("bybit_perp", "ETH", "1h"): 0,
}
pytestmark = pytest.mark.needs_data


def _datasets(kind: str) -> list[tuple[str, str, str | None]]:
    return [(r["venue"], r["asset"], r["interval"]) for r in locator.describe() if r["kind"] == kind]  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ data dir
@pytest.mark.parametrize(("venue", "asset", "_iv"), _datasets("funding"))
def test_real_funding_validates_clean(venue: str, asset: str, _iv: None) -> None:
    rep = check_funding(locator.load_funding(venue, asset), f"{venue}/{asset}")
    assert rep.ok, [str(i) for i in rep.issues[:5]]
    assert rep.rows == len(locator.load_funding(venue, asset))


@pytest.mark.parametrize(("market", "asset", "interval"), _datasets("prices"))
def test_real_candles_validate_clean(market: str, asset: str, interval: str) -> None:
    rep = check_candles(locator.load_candles(market, asset, interval), market, INTERVAL_H[interval])
    assert rep.ok, [str(i) for i in rep.issues[:5]]
    if (market, asset, interval) in README_MISSING_BARS:
        assert rep.missing_total == README_MISSING_BARS[(market, asset, interval)]


def test_real_hyperliquid_funding_gaps_and_interval_switch() -> None:
    rep = check_funding(locator.load_funding("hyperliquid", "BTC"))
    # README: "continuous except 3 single missing hours"; 8 h until 2023-06-08 00:00, then 1 h.
    assert [g.missing for g in rep.gaps] == [1, 1, 1]
    assert any("2023-06-08T01:00:00+00:00): 8 h -> 1 h" in n for n in rep.notes)
    for g in rep.gaps:
        assert g.start == g.end and g.start.minute == 0


def test_bybit_funding_2024_gap_reported_not_filled() -> None:
    f = locator.load_funding("bybit", "BTC")
    rep = check_funding(f)
    assert len(rep.gaps) == 1
    g = rep.gaps[0]
    last_2023 = f["ts"][f["ts"] < "2024-01-01"].max()
    first_2025 = f["ts"][f["ts"] >= "2024-01-01"].min()
    assert g.start == last_2023 + pd.Timedelta(hours=8)
    assert g.end == first_2025 - pd.Timedelta(hours=8)
    assert g.missing == (first_2025 - last_2023) / pd.Timedelta(hours=8) - 1
    assert rep.frame is not None and len(rep.frame) == len(f)  # nothing added


# ------------------------------------------------------------------------------------------------ corrupted CSVs
def _csv_copy(tmp_path: Path, frame: pd.DataFrame, name: str) -> tuple[Path, list[str]]:
    p = write_frame(frame, tmp_path / name)
    return p, p.read_text().splitlines()


def _set_field(lines: list[str], row: int, column: str, value: str) -> None:
    header = lines[0].split(",")
    cells = lines[row + 1].split(",")
    cells[header.index(column)] = value
    lines[row + 1] = ",".join(cells)


def _write(p: Path, lines: list[str]) -> Path:
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture
def candles_csv(tmp_path: Path) -> tuple[Path, list[str], pd.DataFrame]:
    frame = locator.load_candles("binance_perp", "BTC", "1h").iloc[:400].reset_index(drop=True)
    p, lines = _csv_copy(tmp_path, frame, "BTC_1h.csv")
    return p, lines, frame


@pytest.fixture
def funding_csv(tmp_path: Path) -> tuple[Path, list[str], pd.DataFrame]:
    frame = locator.load_funding("hyperliquid", "BTC").iloc[:600].reset_index(drop=True)
    p, lines = _csv_copy(tmp_path, frame, "hl_BTC.csv")
    return p, lines, frame


def test_clean_copy_reads_back_identical(candles_csv, funding_csv) -> None:
    p, _, frame = candles_csv
    pd.testing.assert_frame_equal(read_candles(p), frame)
    p, _, frame = funding_csv
    pd.testing.assert_frame_equal(read_funding(p), frame)


@pytest.mark.parametrize(
    ("column", "value", "expected_fragment"),
    [
        ("high", "-5", "finite price > 0"),
        ("low", "0", "finite price > 0"),
        ("open", "nan", "finite price > 0"),
        ("close", "inf", "finite price > 0"),
        ("close", "", "finite price > 0"),
        ("volume", "-1", "volume >= 0"),
        ("ts_ms", "abc", "timestamp"),
        ("timestamp", "2022-13-45T00:00:00Z", "timestamp"),
    ],
)
def test_corrupted_candle_field_names_row_line_column(candles_csv, column, value, expected_fragment) -> None:
    p, lines, _ = candles_csv
    _set_field(lines, 17, column, value)
    with pytest.raises(DataValidationError) as ei:
        read_candles(_write(p, lines))
    issues = ei.value.issues
    assert [(i.row, i.line, i.column) for i in issues] == [(17, 19, column)]
    assert expected_fragment in issues[0].expected
    assert str(p) in str(ei.value) and "row 17 (line 19)" in str(ei.value)


def test_high_below_low_and_close_outside_range(candles_csv) -> None:
    p, lines, frame = candles_csv
    low17 = frame["low"].iat[17]
    _set_field(lines, 17, "high", repr(float(low17) * 0.99))  # high < low
    _set_field(lines, 30, "close", repr(float(frame["high"].iat[30]) * 1.01))  # close above high
    _set_field(lines, 31, "open", repr(float(frame["low"].iat[31]) * 0.99))  # open below low
    rep = check_file(_write(p, lines))
    got = [(i.row, i.column) for i in rep.issues]
    assert got == [(17, "high"), (30, "close"), (31, "open")]
    assert "high >= low" in rep.issues[0].expected
    assert "within [low, high]" in rep.issues[1].expected


def test_duplicate_and_unsorted_timestamps(candles_csv) -> None:
    p, lines, _ = candles_csv
    lines[12] = lines[11].split(",", 2)[0] + "," + lines[11].split(",", 2)[1] + "," + lines[12].split(",", 2)[2]
    lines[51], lines[52] = lines[52], lines[51]  # rows 50 and 51 swapped
    rep = check_file(_write(p, lines))
    assert [(i.row, i.line, i.column) for i in rep.issues] == [(11, 13, "ts_ms"), (51, 53, "ts_ms")]
    assert "duplicate of row 10" in rep.issues[0].expected
    assert "increasing" in rep.issues[1].expected and "row 50" in rep.issues[1].expected
    assert rep.gaps == []  # spacing analysis is meaningless on an unsorted file; it is skipped, not guessed


def test_gap_report_from_deleted_rows(candles_csv) -> None:
    p, lines, frame = candles_csv
    del lines[101:106]  # rows 100..104
    rep = check_file(_write(p, lines))
    assert rep.ok
    assert len(rep.gaps) == 1
    g = rep.gaps[0]
    assert (g.start, g.end, g.missing, g.after_row) == (frame["ts"].iat[100], frame["ts"].iat[104], 5, 99)


def test_unaligned_bar_and_short_spacing(candles_csv) -> None:
    p, lines, frame = candles_csv
    shifted = int(frame["ts"].iat[40].value // 1_000_000) + 30 * 60_000
    _set_field(lines, 40, "ts_ms", str(shifted))
    _set_field(lines, 40, "timestamp", pd.Timestamp(shifted, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))
    rep = check_file(_write(p, lines))
    assert {(i.row, i.column) for i in rep.issues} >= {(40, "ts_ms"), (41, "ts_ms")}
    assert any("aligned" in i.expected for i in rep.issues if i.row == 40)


def test_all_issues_collected_not_only_the_first(candles_csv) -> None:
    p, lines, _ = candles_csv
    _set_field(lines, 3, "open", "x")
    _set_field(lines, 200, "low", "-1")
    _set_field(lines, 399, "volume", "nan")
    with pytest.raises(DataValidationError) as ei:
        read_candles(_write(p, lines))
    assert [(i.row, i.line, i.column) for i in ei.value.issues] == [
        (3, 5, "open"),
        (200, 202, "low"),
        (399, 401, "volume"),
    ]
    assert "(+2 more)" in str(ei.value)


def test_missing_required_column(tmp_path: Path) -> None:
    frame = locator.load_candles("binance_perp", "ETH", "4h").iloc[:50].drop(columns="low")
    p = write_frame(frame, tmp_path / "ETH_4h.csv")
    rep = check_file(p)
    assert [(i.row, i.column) for i in rep.issues] == [(None, "low")]


def test_epoch_seconds_are_flagged(tmp_path: Path) -> None:
    f = locator.load_funding("binance", "ETH").iloc[:20]
    raw = pd.DataFrame({"ts": f["ts"].astype("int64") // 1000, "rate": f["rate"], "interval_hours": 8.0})
    rep = check_funding(raw)
    assert len(rep.issues) == 20 and "epoch seconds" in rep.issues[0].got


# ------------------------------------------------------------------------------------------------ funding rules
def test_funding_in_percent_is_flagged(funding_csv) -> None:
    _, _, frame = funding_csv
    pct = frame.assign(rate=frame["rate"] * 100)
    rep = check_funding(pct)
    pct_issues = [i for i in rep.issues if "percent" in i.got]  # one issue naming the first scaled row
    assert len(pct_issues) == 1 and pct_issues[0].column == "rate"
    assert pct_issues[0].row == int((frame["rate"] != 0).to_numpy().argmax())


def test_single_percent_row_above_cap(funding_csv) -> None:
    p, lines, frame = funding_csv
    big = frame["rate"].abs().idxmax()
    _set_field(lines, int(big), "rate", repr(float(frame["rate"].iat[big]) * 100))
    rep = check_file(_write(p, lines))
    assert [(i.row, i.line, i.column) for i in rep.issues] == [(int(big), int(big) + 2, "rate")]
    assert "0.05" in rep.issues[0].expected


def test_isolated_interval_change_is_an_error(tmp_path: Path) -> None:
    frame = locator.load_funding("binance", "BTC").iloc[:100].reset_index(drop=True)
    p, lines = _csv_copy(tmp_path, frame, "bn.csv")
    _set_field(lines, 30, "interval_hours", "4")  # spacing 8 h is a multiple of 4: only the persistence rule sees it
    rep = check_file(_write(p, lines))
    assert [(i.row, i.column) for i in rep.issues] == [(30, "interval_hours")]
    assert "neighbours" in rep.issues[0].expected


def test_interval_longer_than_spacing_is_an_error(funding_csv) -> None:
    p, lines, _ = funding_csv
    _set_field(lines, 200, "interval_hours", "8")  # hourly regime: a row claiming 8 h overlaps 7 settlements
    rep = check_file(_write(p, lines))
    assert (200, "interval_hours") in [(i.row, i.column) for i in rep.issues]
    assert any("spacing to the previous settlement (1 h)" in i.expected for i in rep.issues)


@pytest.mark.parametrize("value", ["", "0", "-8", "abc", "48"])
def test_bad_interval_hours(funding_csv, value: str) -> None:
    p, lines, _ = funding_csv
    _set_field(lines, 300, "interval_hours", value)
    rep = check_file(_write(p, lines))
    assert [(i.row, i.column) for i in rep.issues] == [(300, "interval_hours")]


def test_interval_switch_8h_to_1h_is_valid(funding_csv) -> None:
    _, _, frame = funding_csv  # rows 0..81 are 8 h, then hourly (the real Hyperliquid switch)
    assert set(frame["interval_hours"]) == {8.0, 1.0}
    assert check_funding(frame).ok


def test_funding_rows_as_parquet_report_rows_without_lines(tmp_path: Path) -> None:
    f = locator.load_funding("bybit", "LINK").iloc[:200].reset_index(drop=True)
    f.loc[55, "rate"] = np.nan
    p = write_frame(f, tmp_path / "bybit_LINK.parquet")
    with pytest.raises(DataValidationError) as ei:
        read_funding(p)
    assert [(i.row, i.line, i.column) for i in ei.value.issues] == [(55, None, "rate")]
    assert "row 55, column 'rate'" in str(ei.value)


def test_validate_funding_raises_with_source_name() -> None:
    f = locator.load_funding("hyperliquid", "LINK").iloc[:50].copy()
    f.loc[10, "ts"] = f.loc[9, "ts"]
    with pytest.raises(DataValidationError, match=r"my-frame: row 10, column 'ts'"):
        validate_funding(f, "my-frame")


# ------------------------------------------------------------------------------------------------ round trip
@pytest.mark.parametrize("kind", ["funding", "candles"])
def test_csv_parquet_round_trip(tmp_path: Path, kind: str) -> None:
    if kind == "funding":
        frame = locator.load_funding("hyperliquid", "ETH")
        reader = read_funding
    else:
        frame = locator.load_candles("binance_spot", "DOGE", "1h")
        reader = read_candles
    csv = write_frame(frame, tmp_path / "x.csv")
    from_csv = reader(csv)
    pq = write_frame(from_csv, tmp_path / "x.parquet")
    from_pq = reader(pq)
    pd.testing.assert_frame_equal(from_csv, frame)
    pd.testing.assert_frame_equal(from_pq, frame)
    assert csv.read_text().splitlines()[0].startswith("timestamp,ts_ms,")


@pytest.mark.needs_data
def test_shared_csv_equals_shipped_parquet() -> None:
    shared = require(data_dir())
    pd.testing.assert_frame_equal(
        read_funding(shared / "funding/binance/ETH.csv"), locator.load_funding("binance", "ETH")
    )
    pd.testing.assert_frame_equal(
        read_candles(shared / "prices/binance_perp/LINK_4h.csv"), locator.load_candles("binance_perp", "LINK", "4h")
    )


def test_blank_lines_and_bom(funding_csv) -> None:
    p, lines, frame = funding_csv
    lines.insert(11, "")  # a blank line where data row 10 would be (file line 12)
    p.write_text("\ufeff" + "\n".join(lines) + "\n\n\n")  # BOM at start, trailing blank lines at the end
    rep = check_file(p)
    assert [(i.row, i.line, i.column, i.got) for i in rep.issues] == [(10, 12, None, "blank line")]
    lines.pop(11)
    p.write_text("\ufeff" + "\n".join(lines) + "\n\n")
    pd.testing.assert_frame_equal(read_funding(p), frame)


def test_header_only_and_unreadable_files(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("timestamp,ts_ms,rate,interval_hours\n")
    rep = check_file(p)
    assert not rep.ok and rep.issues[0].expected == "at least one data row"
    q = tmp_path / "f.parquet"
    q.write_bytes(b"not parquet at all")
    with pytest.raises(DataValidationError, match="readable Parquet"):
        check_file(q)
    e = tmp_path / "e.csv"
    e.write_text("")
    with pytest.raises(DataValidationError, match="empty file"):
        check_file(e)


@functools.cache
def _base_candles() -> pd.DataFrame:
    return locator.load_candles("binance_perp", "ETH", "1h").iloc[:300].reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(0, 299),
    column=st.sampled_from(["open", "high", "low", "close"]),
    value=st.sampled_from(["-1", "0", "nan", "inf", "-inf", "abc", "", "1e400"]),
)
def test_any_single_bad_price_cell_is_one_issue_at_that_cell(row: int, column: str, value: str) -> None:
    raw = _base_candles().astype({c: object for c in ("open", "high", "low", "close")})
    raw.loc[row, column] = value
    rep = check_candles(raw, interval_hours=1.0)
    assert [(i.row, i.column) for i in rep.issues] == [(row, column)]
