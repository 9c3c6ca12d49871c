"""Rules added after the review of issue 10 (percent steps, multi-bar spikes, first/last-bar jumps, numeric options),
on synthetic frames built in code whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data.validate import check_candles, check_funding, find_spikes, spike_runs

runner = CliRunner()


def _funding(rates: np.ndarray) -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=rates.size, freq="8h", tz="UTC")
    return pd.DataFrame({"ts": ts, "rate": rates, "interval_hours": 8.0})


def _candles(close: np.ndarray) -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=close.size, freq="1h", tz="UTC")
    return pd.DataFrame({"ts": ts, "open": close, "high": close, "low": close, "close": close})


def _quiet_rates(n: int, seed: int = 1) -> np.ndarray:
    """Decimal rates around 1e-5 per 8 h (a quiet period: ~1 % APR), 60 % exactly zero."""
    rng = np.random.default_rng(seed)
    r = 1e-5 * np.exp(rng.normal(0.0, 0.5, n)) * rng.choice([-1.0, 1.0], n)
    r[rng.random(n) < 0.6] = 0.0
    return r


def test_clean_quiet_funding_passes() -> None:
    assert check_funding(_funding(_quiet_rates(600))).ok


@pytest.mark.parametrize(("start", "length"), [(300, 30), (250, 350)])  # a short segment (~12 non-zero rows); a tail
def test_percent_segment_names_its_first_non_zero_row(start: int, length: int) -> None:
    r = _quiet_rates(600)
    r[start:start + length] *= 100
    first = start + int(np.flatnonzero(r[start:] != 0)[0])  # zeros carry no scale: the first scaled non-zero row
    rep = check_funding(_funding(r))
    assert [(i.row, i.column) for i in rep.issues] == [(first, "rate")], [i.got for i in rep.issues]
    assert "percent" in rep.issues[0].got


def test_file_entirely_in_percent_from_a_quiet_period_is_refused() -> None:
    # 1e-4 per 8 h decimal = 11 % APR; x100 = 1095 % APR: no step, the 30-day level catches it
    r = np.abs(_quiet_rates(300)) * 10 * 100
    rep = check_funding(_funding(r))
    assert [i.column for i in rep.issues] == ["rate"] and "percent" in rep.issues[0].got


@pytest.mark.parametrize("bars", [1, 2, 3])
def test_reverting_excursion_of_up_to_three_bars_is_every_row(bars: int) -> None:
    close = 100.0 * np.exp(np.cumsum(np.full(400, 1e-3) * np.tile([1.0, -1.0], 200)))
    close[200:200 + bars] *= 10
    assert find_spikes(close).tolist() == list(range(200, 200 + bars))
    assert spike_runs(close) == [(200, 199 + bars, 199, 200 + bars)]
    rep = check_candles(_candles(close))
    assert sorted(i.row for i in rep.issues) == list(range(200, 200 + bars))


def test_a_level_shift_that_stays_is_not_a_spike() -> None:
    close = 100.0 * np.exp(np.cumsum(np.full(400, 1e-3) * np.tile([1.0, -1.0], 200)))
    close[200:] *= 0.5  # a crash that does not revert
    assert find_spikes(close).size == 0 and check_candles(_candles(close)).ok


@pytest.mark.parametrize(("row", "where"), [(0, "first"), (-1, "last")])
def test_jump_on_the_first_or_last_bar_is_a_warning(row: int, where: str) -> None:
    close = 100.0 * np.exp(np.cumsum(np.full(300, 1e-3) * np.tile([1.0, -1.0], 150)))
    close[row] *= 10
    rep = check_candles(_candles(close))
    assert rep.ok  # never an error: a real crash on the last bar must pass
    assert len(rep.warnings) == 1 and f"row {row % close.size} (the {where} bar)" in rep.warnings[0]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["static", "--venue", "binance", "--asset", "BTC", "--mu", "-inf"],
         "error: --mu must be a finite number (got -inf)"),
        (["static-grid", "--stresses", "1,nan"],
         "error: --stresses expects comma-separated finite numbers > 0 (got '1,nan')"),
        (["bands", "--venue", "binance", "--asset", "BTC", "--stress", "-1"],
         "error: --stress must be > 0 [x] (got -1)"),
    ],
)
def test_numeric_option_errors_are_one_line_naming_the_flag(args: list[str], line: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and r.stderr.strip() == line, r.stderr
