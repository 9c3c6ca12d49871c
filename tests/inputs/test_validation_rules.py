"""Issue 10 item 1: data that would give a wrong answer must not pass (real files + corrupted copies)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data.io import check_file, read_candles
from basisctl.warnings import SubstitutionWarning

runner = CliRunner()
pytestmark = pytest.mark.needs_data


def _raw(p: Path) -> pd.DataFrame:
    return pd.read_csv(p, dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, p: Path) -> Path:
    df.to_csv(p, index=False)
    return p


def _scale(df: pd.DataFrame, rows: np.ndarray, factor: float, cols: tuple[str, ...]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        v = np.array(out[c].astype(float), dtype=float)
        v[rows] = v[rows] * factor
        out[c] = [repr(float(x)) for x in v]
    return out


@pytest.mark.parametrize(
    "rel",
    [
        "funding/binance/BTC.csv",
        "funding/hyperliquid/DOGE.csv",
        "funding/bybit/ETH.csv",
        "prices/binance_perp/BTC_1h.csv",  # holds the 2023-08-17 wick
        "prices/binance_perp/ETH_1h.csv",  # the largest real reverting 1h move (-6 % / +4.6 %)
        "prices/binance_perp/DOGE_4h.csv",  # +81 % / -47 % in two 4h bars (2021-01-29)
    ],
)
def test_real_files_pass(real: Path, rel: str) -> None:
    rep = check_file(real / rel)
    assert rep.ok, [str(i) for i in rep.issues[:3]]
    assert rep.warnings == []


def test_real_2023_btc_wick_passes_and_is_kept(real: Path) -> None:
    f = read_candles(real / "prices/binance_perp/BTC_1h.csv")
    at = f.set_index("ts").loc["2023-08-17 20:00":"2023-08-17 22:00", "close"]
    # the genuine crash: about -5 % in one hour, only partly recovered in the next
    r = np.diff(np.log(at.to_numpy()))
    assert r[0] < -0.04 and 0 < r[1] < -r[0]


def _calm_funding(real: Path, n: int) -> pd.DataFrame:
    """n consecutive real Hyperliquid ETH hourly rows with |rate| x 100 below the 0.05 hard cap."""
    df = _raw(real / "funding/hyperliquid/ETH.csv")
    df = df[df["interval_hours"] == "1"].reset_index(drop=True)
    ok = (df["rate"].astype(float).abs() * 100 <= 0.04).to_numpy()
    run = np.convolve(ok, np.ones(n, dtype=int), mode="valid")
    start = int(np.flatnonzero(run == n)[0])
    return df.iloc[start : start + n].reset_index(drop=True)


def test_percent_scaled_funding_hidden_by_zeros_is_an_error(real: Path, tmp_path: Path) -> None:
    df = _calm_funding(real, 800)
    rng = np.random.default_rng(7)
    zero = rng.random(len(df)) < 0.6
    df.loc[zero, "rate"] = "0"
    assert (df["rate"].astype(float) == 0).mean() > 0.55  # the file-wide median is 0
    p = _write(_scale(df, np.arange(len(df)), 100.0, ("rate",)), tmp_path / "ETH_pct.csv")
    rep = check_file(p)
    assert not rep.ok
    first = rep.issues[0]
    assert first.column == "rate" and "looks like percent" in first.got
    assert first.row == int(np.flatnonzero(~zero)[0])  # the first non-zero (scaled) row
    # the decimal original with the same zeros passes
    assert check_file(_write(df, tmp_path / "ETH_dec.csv")).ok


def test_percent_scaled_tail_names_first_scaled_row(real: Path, tmp_path: Path) -> None:
    df = _calm_funding(real, 1000)
    k = int(len(df) * 0.78)
    p = _write(_scale(df, np.arange(k, len(df)), 100.0, ("rate",)), tmp_path / "ETH_tail.csv")
    rep = check_file(p)
    pct = [i for i in rep.issues if "percent" in i.got]
    assert len(pct) == 1 and pct[0].row == k and pct[0].line == k + 2


def test_price_spike_is_an_error_naming_the_row(real: Path, tmp_path: Path) -> None:
    df = _raw(real / "prices/binance_perp/BTC_1h.csv").iloc[20000:22000].reset_index(drop=True)
    row = 1234
    p = _write(_scale(df, np.array([row]), 10.0, ("close", "high")), tmp_path / "BTC_1h.csv")
    rep = check_file(p)
    assert [(i.row, i.column) for i in rep.issues] == [(row, "close")]
    assert "spike" in rep.issues[0].expected
    # opt-out: explicitly excluded, the row is left out and noted
    with pytest.warns(SubstitutionWarning, match="1 one-bar price spikes excluded on request: rows 1234"):
        f = read_candles(p, exclude_spikes=True)
    assert len(f) == len(df) - 1 and pd.Timestamp(df["timestamp"][row]) not in set(f["ts"])
    r = runner.invoke(app, ["data", "check", str(p)])
    assert r.exit_code == 1 and "spike" in r.stdout
    r = runner.invoke(app, ["data", "check", str(p), "--exclude-spikes"])
    assert r.exit_code == 0 and "excluded on request" in r.stderr  # a warning (review F11)


def test_price_doubling_for_one_bar_is_caught(real: Path, tmp_path: Path) -> None:
    df = _raw(real / "prices/binance_perp/ETH_4h.csv").iloc[:3000]
    p = _write(_scale(df, np.array([500]), 2.0, ("open", "high", "low", "close")), tmp_path / "ETH_4h.csv")
    assert [i.row for i in check_file(p).issues] == [500]


def test_genuine_crash_that_does_not_revert_passes(real: Path, tmp_path: Path) -> None:
    df = _raw(real / "prices/binance_perp/BTC_1h.csv").iloc[20000:21000].reset_index(drop=True)
    # a -60 % crash at row 500 that stays down
    p = _write(_scale(df, np.arange(500, len(df)), 0.4, ("open", "high", "low", "close")), tmp_path / "BTC_1h.csv")
    assert check_file(p).ok


def test_settlement_grid_offset_warns_with_the_offset(real: Path, tmp_path: Path) -> None:
    df = _raw(real / "funding/binance/BTC.csv").iloc[:500].copy()
    ms = df["ts_ms"].astype(np.int64) + 3 * 3_600_000
    df["ts_ms"] = ms.astype(str)
    df["timestamp"] = pd.to_datetime(ms, unit="ms", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    p = _write(df, tmp_path / "BTC.csv")
    rep = check_file(p)
    assert rep.ok and len(rep.warnings) == 1
    assert "+3 h" in rep.warnings[0] and "8 h UTC grid" in rep.warnings[0] and "500 of 500" in rep.warnings[0]
    r = runner.invoke(app, ["data", "check", str(p)])
    assert r.exit_code == 0 and "warning:" in r.stderr and "+3 h" in r.stderr


def test_unknown_kind_names_the_columns(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    r = runner.invoke(app, ["data", "check", str(p)])
    assert r.exit_code == 2
    assert "cannot tell candles from funding: columns ['a', 'b']" in r.stderr
    assert "funding, 0 rows" not in r.output


def test_static_refuses_a_spiked_prices_file_unless_told_to_exclude(real: Path, tmp_path: Path) -> None:
    df = _raw(real / "prices/binance_perp/BTC_1h.csv").iloc[-6000:].reset_index(drop=True)
    clean = _write(df, tmp_path / "BTC_1h_clean.csv")
    row = 5000
    spiked = _write(_scale(df, np.array([row]), 10.0, ("close", "high")), tmp_path / "BTC_1h.csv")
    # --model gbm: this is about sigma; FHS refuses the gap an excluded spike leaves in its GARCH window
    base = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--kappa-bps", "1", "--model", "gbm", "--json"]
    r = runner.invoke(app, [*base, "--prices-file", str(spiked)])
    assert r.exit_code == 2 and f"row {row} (line {row + 2}), column 'close'" in r.stderr and "spike" in r.stderr
    ok = runner.invoke(app, [*base, "--prices-file", str(spiked), "--exclude-spikes"])
    assert ok.exit_code == 0, ok.output
    assert "warning:" in ok.stderr and "spikes excluded" in ok.stderr
    ref = runner.invoke(app, [*base, "--prices-file", str(clean)])
    s_ex, s_ref = json.loads(ok.stdout)["sigma_annual"], json.loads(ref.stdout)["sigma_annual"]
    assert abs(s_ex - s_ref) / s_ref < 0.02  # one bar less, same volatility (a x10 bar would add ~2000 %)
    st = runner.invoke(app, [*base, "--prices-file", str(spiked), "--exclude-spikes", "--strict"])
    assert st.exit_code == 2 and "spikes excluded" in st.stderr
