"""The alternative yield: constant or a rate series (validated with one-line errors), the stated constant before
the series with a warning, causal lookup, growth by hand; idle-margin yield per venue."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basisctl.errors import BasisctlError, DataCoverageError, DataValidationError
from basisctl.regime.alt_yield import AltYield, load_alt_yield, read_rate_series
from basisctl.venues.idle_yield import IDLE_YIELD_APR, idle_yield_apr
from basisctl.venues.registry import REGISTRY
from basisctl.warnings import collecting


def _write(tmp_path: Path, rows: list[tuple[str, object]]) -> Path:
    p = tmp_path / "rate.csv"
    p.write_text("timestamp,apy\n" + "".join(f"{t},{a}\n" for t, a in rows))
    return p


def test_series_lookup_is_causal_and_growth_matches_hand(tmp_path: Path) -> None:
    p = _write(tmp_path, [("2025-01-01T00:00:00Z", 0.05), ("2025-01-11T00:00:00Z", 0.02)])
    alt = read_rate_series(p, fallback_apr=0.03)
    r1, r2 = math.log1p(0.05), math.log1p(0.02)
    got = alt.apr_at(pd.DatetimeIndex(["2025-01-05", "2025-01-10 23:59", "2025-01-11", "2025-01-12"], tz="UTC"))
    np.testing.assert_allclose(got, [r1, r1, r2, r2])
    g = alt.growth(pd.Timestamp("2025-01-06", tz="UTC"), pd.Timestamp("2025-01-13", tz="UTC"))
    assert g == pytest.approx(math.exp((5 * r1 + 2 * r2) / 365.0), rel=1e-13)
    # the APY is reproduced over a year of a constant rate
    c = AltYield.constant(math.log1p(0.05))
    assert c.growth(pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")) == pytest.approx(1.05)


def test_before_the_series_the_stated_constant_applies_with_a_warning(tmp_path: Path) -> None:
    p = _write(tmp_path, [("2025-07-22T21:38:59Z", 0.0387), ("2025-07-24T13:05:20Z", 0.0366)])
    alt = read_rate_series(p, label="rates/aave_v3/USDC_supply", fallback_apr=0.04)
    with collecting() as col:
        got = alt.apr_at(pd.DatetimeIndex(["2025-07-01", "2025-07-23"], tz="UTC"))
    assert got[0] == 0.04 and got[1] == pytest.approx(math.log1p(0.0387))
    (msg,) = col.messages
    assert "2025-07-01" in str(msg) and "4.00% APR" in str(msg) and "2025-07-22" in str(msg)
    # more than 3 days after the last snapshot: the constant again; without a constant: an error
    assert alt.apr_at(pd.Timestamp("2025-08-01", tz="UTC"), warn=False)[0] == 0.04
    with pytest.raises(DataCoverageError, match="--alt-yield-fallback-apr"):
        read_rate_series(p).apr_at(pd.Timestamp("2025-07-01", tz="UTC"))
    # growth across the series start: fallback until the first snapshot, then the series
    t0, t1 = pd.Timestamp("2025-07-21T21:38:59Z"), pd.Timestamp("2025-07-23T21:38:59Z")
    with collecting():
        g = alt.growth(t0, t1)
    assert g == pytest.approx(math.exp((0.04 + math.log1p(0.0387)) / 365.0), rel=1e-12)


@pytest.mark.parametrize(("rows", "where"), [
    ([("2025-01-01", 0.05), ("not a date", 0.05)], "row 1 (line 3), column 'timestamp'"),
    ([("2025-01-01", 0.05), ("2025-01-02", "nan")], "row 1 (line 3), column 'apy'"),
    ([("2025-01-01", 0.05), ("2025-01-02", 5.0)], "column 'apy': expected a finite APY fraction"),
    ([("2025-01-02", 0.05), ("2025-01-01", 0.05)], "row 1 (line 3), column 'timestamp': expected strictly"),
])
def test_bad_series_rows_are_one_line_errors(tmp_path: Path, rows: list[tuple[str, object]], where: str) -> None:
    p = _write(tmp_path, rows)
    with pytest.raises(DataValidationError) as e:
        read_rate_series(p)
    assert where in str(e.value) and "\n" not in str(e.value) and str(p) in str(e.value)


def test_missing_columns_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("time,rate\n2025-01-01,0.05\n")
    with pytest.raises(DataValidationError, match="columns timestamp, apy"):
        read_rate_series(p)
    with pytest.raises(BasisctlError, match="provider/name"):
        load_alt_yield("aave_v3")


def test_shipped_aave_series_reads_through_the_locator() -> None:
    from tests.datadir import data_dir, require

    d = data_dir()
    require(None if d is None else d / "rates/aave_v3/USDC_supply.csv", "rates/aave_v3/USDC_supply.csv")
    alt = load_alt_yield("aave_v3/USDC_supply", fallback_apr=0.04)
    assert alt.ts_ns.size > 300 and 0.0 < float(np.median(alt.apr)) < 0.15


def test_idle_yield_is_stated_for_every_registry_venue() -> None:
    assert set(IDLE_YIELD_APR) == set(REGISTRY)
    assert idle_yield_apr("Hyperliquid") == 0.0
    with pytest.raises(BasisctlError, match="unknown venue"):
        idle_yield_apr("mtgox")
