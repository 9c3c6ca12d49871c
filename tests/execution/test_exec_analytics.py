"""Execution analytics against a hand-computed log, the exact buffer definition, bootstrap, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basisctl.errors import DataValidationError
from basisctl.execution.analytics import (
    bootstrap_median_ci,
    execution_report,
    load_trade_log,
    min_buffer_for,
    synthetic_trade_log,
    validate_trade_log,
    win_rate_weighted,
)

HAND = pd.DataFrame({
    "timestamp": pd.date_range("2025-04-01", periods=6, freq="h", tz="UTC"),
    "side": ["buy-basis", "buy-basis", "buy-basis", "sell-basis", "sell-basis", "sell-basis"],
    "notional_usd": [20_000.0, 5_000.0, 15_000.0, 40_000.0, 10_000.0, 2_000.0],
    "target_bps": [10.0, 10.0, 12.0, 30.0, 30.0, 40.0],
    "realized_bps": [8.0, 13.0, 12.0, 35.0, 29.0, 60.0],
})  # slacks: -2, 3, 0 | 5, -1, 20


def test_hand_computed_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "t.csv"
    HAND.to_csv(p, index=False)
    rep = execution_report(load_trade_log(p), q_min_usd=10_000.0, n_boot=200).to_dict()
    buy, sell, allr = rep["raw"]["buy-basis"], rep["raw"]["sell-basis"], rep["raw"]["all"]
    assert (buy["trades"], buy["volume_usd"], buy["median_abs_bps"]) == (3, 40_000.0, 12.0)
    assert buy["win_rate"] == pytest.approx(2 / 3) and buy["win_rate_weighted"] == pytest.approx(35 / 40)
    assert buy["buffer_bps_for"] == {"0.90": 3.0, "0.95": 3.0, "0.98": 3.0}
    assert (sell["trades"], sell["volume_usd"], sell["median_abs_bps"]) == (3, 52_000.0, 35.0)
    assert sell["win_rate"] == pytest.approx(1 / 3) and sell["win_rate_weighted"] == pytest.approx(10 / 52)
    assert sell["buffer_bps_for"] == {"0.90": 5.0, "0.95": 5.0, "0.98": 20.0}
    assert (allr["trades"], allr["volume_usd"], allr["median_abs_bps"]) == (6, 92_000.0, 21.0)
    assert allr["win_rate_weighted"] == pytest.approx(45 / 92)
    assert allr["buffer_bps_for"] == {"0.90": 5.0, "0.95": 5.0, "0.98": 20.0}  # 90/92 = 97.8% < 98% at b = 5
    fb, fs = rep["filtered"]["buy-basis"], rep["filtered"]["sell-basis"]
    assert fb["trades"] == 2 and fb["volume_usd"] == 35_000.0  # q >= q_min is inclusive of $10k
    assert fb["buffer_bps_for"] == {"0.90": 0.0, "0.95": 0.0, "0.98": 0.0}
    assert fs["trades"] == 2 and fs["buffer_bps_for"]["0.90"] == 5.0 and fs["win_rate_weighted"] == pytest.approx(0.2)


def test_unreachable_buffer_is_none() -> None:
    s, q = np.array([5.0, -1.0, 20.0]), np.array([40_000.0, 10_000.0, 2_000.0])
    assert min_buffer_for(s, q, 0.98, max_buffer_bps=10.0) is None
    assert min_buffer_for(np.array([]), np.array([]), 0.9) is None


@given(st.lists(st.tuples(st.integers(-40, 40).map(lambda x: x / 4), st.floats(1.0, 1e6)), min_size=1, max_size=40),
       st.sampled_from([0.5, 0.9, 0.95, 0.98, 1.0]))
@settings(max_examples=80, deadline=None)
def test_min_buffer_is_the_exact_smallest(trades: list[tuple[float, float]], p: float) -> None:
    s = np.array([t[0] for t in trades])
    q = np.array([t[1] for t in trades])
    b = min_buffer_for(s, q, p)
    candidates = sorted({0.0} | {float(x) for x in s if x > 0})
    brute = next(c for c in candidates if win_rate_weighted(s, q, c) >= p - 1e-12)
    assert b == brute


def test_bootstrap_ci_seeded_and_sane() -> None:
    x = np.random.default_rng(1).normal(20.0, 5.0, 800)
    a, b = bootstrap_median_ci(x, 500, seed=3), bootstrap_median_ci(x, 500, seed=3)
    assert a == b and a is not None
    assert a[0] < np.median(x) < a[1] and a[1] - a[0] < 2.0
    assert bootstrap_median_ci(np.full(30, 7.0), 100) == (7.0, 7.0)


def test_parquet_and_epoch_ms_inputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "t.parquet"
    HAND.to_parquet(p)
    a = load_trade_log(p)
    c = tmp_path / "ms.csv"
    HAND.assign(timestamp=[1743465600000 + 3600_000 * i for i in range(6)]).to_csv(c, index=False)
    b = load_trade_log(c)
    assert (a["timestamp"] == b["timestamp"]).all()
    assert list(a["slack_bps"]) == [-2.0, 3.0, 0.0, 5.0, -1.0, 20.0]


def test_bad_rows_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,side,notional_usd,target_bps,realized_bps\n"
                 "2025-04-01T00:00:00Z,buy-basis,1000,10,11\n"
                 "2025-04-01T01:00:00Z,buy,1000,10,11\n"
                 "not-a-time,sell-basis,-5,10,abc\n")
    with pytest.raises(DataValidationError) as e:
        load_trade_log(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: row 1, column 'side'") and "+3 more" in msg
    got = {(i.row, i.column) for i in e.value.issues}
    assert got == {(1, "side"), (2, "timestamp"), (2, "notional_usd"), (2, "realized_bps")}
    with pytest.raises(DataValidationError, match=r"column 'realized_bps'.*missing"):
        validate_trade_log(HAND.drop(columns="realized_bps"), "x.csv")


def test_synthetic_example_is_reproducible() -> None:
    a, b = synthetic_trade_log(50, 60, seed=7), synthetic_trade_log(50, 60, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["side"]) == {"buy-basis", "sell-basis"} and len(a) == 110
