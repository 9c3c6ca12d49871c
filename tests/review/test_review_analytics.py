"""Second-opinion check of eqs. 50-52 and the minimum buffer on a hand-made six-trade log."""

from __future__ import annotations

import pandas as pd
import pytest

from basisctl.execution.analytics import execution_report, load_trade_log, min_buffer_for, win_rate_weighted

# side, notional [USD], target [bps], realised [bps]  -> slack = realised - target
ROWS = [
    ("buy-basis", 20_000.0, 10.0, 12.0),   # +2
    ("buy-basis", 5_000.0, 15.0, 14.0),    # -1
    ("buy-basis", 40_000.0, 8.0, 20.0),    # +12
    ("sell-basis", 30_000.0, 40.0, 45.0),  # +5
    ("sell-basis", 8_000.0, 38.0, 60.0),   # +22
    ("sell-basis", 50_000.0, 35.0, 33.0),  # -2
]


@pytest.fixture()
def log(tmp_path):  # type: ignore[no-untyped-def]
    p = tmp_path / "trades.csv"
    pd.DataFrame([{"timestamp": f"2025-05-0{i + 1}T12:00:00Z", "side": s, "notional_usd": q, "target_bps": t,
                   "realized_bps": r} for i, (s, q, t, r) in enumerate(ROWS)]).to_csv(p, index=False)
    return load_trade_log(p)


def test_six_trade_report_by_hand(log) -> None:  # type: ignore[no-untyped-def]
    rep = execution_report(log, q_min_usd=10_000.0, n_boot=50)
    a, b, s = rep.raw["all"], rep.raw["buy-basis"], rep.raw["sell-basis"]
    assert a["win_rate"] == pytest.approx(2 / 6)                       # slacks -1, -2 win at b = 0
    assert a["win_rate_weighted"] == pytest.approx(55_000 / 153_000)    # eq. 52
    assert b["win_rate_weighted"] == pytest.approx(5_000 / 65_000)
    assert s["win_rate_weighted"] == pytest.approx(50_000 / 88_000)
    assert (a["median_bps"], b["median_bps"], s["median_bps"]) == (26.5, 14.0, 45.0)
    # cumulative weight by sorted slack (all): -2:50k, -1:55k, 2:75k, 5:105k, 12:145k, 22:153k of 153k
    assert a["buffer_bps_for"] == {"0.90": 12.0, "0.95": 22.0, "0.98": 22.0}
    assert b["buffer_bps_for"]["0.90"] == 12.0                          # -1:5k, 2:25k, 12:65k of 65k
    assert s["buffer_bps_for"] == {"0.90": 5.0, "0.95": 22.0, "0.98": 22.0}  # -2:50k, 5:80k (0.909)
    # q_min filter drops the $5k and $8k trades
    f = rep.filtered
    assert f["all"]["trades"] == 4 and f["buy-basis"]["trades"] == 2 and f["sell-basis"]["trades"] == 2
    assert f["buy-basis"]["median_bps"] == 16.0 and f["sell-basis"]["median_bps"] == 39.0
    assert f["all"]["buffer_bps_for"]["0.90"] == 12.0                   # -2:50k, 2:70k, 5:100k, 12:140k
    assert f["sell-basis"]["buffer_bps_for"]["0.90"] == 5.0             # -2:50k, 5:80k of 80k


def test_min_buffer_is_smallest_nonnegative_b(log) -> None:  # type: ignore[no-untyped-def]
    s, q = log["slack_bps"].to_numpy(), log["notional_usd"].to_numpy()
    assert min_buffer_for(s, q, 0.3) == 0.0  # WR$(0) = 0.359 already >= 0.3
    assert min_buffer_for(s, q, 0.5) == 5.0 and win_rate_weighted(s, q, 5.0) == pytest.approx(105 / 153)
    assert win_rate_weighted(s, q, 4.999) < 0.5
    # p = 0 is met by b = 0 whatever the slacks (every trade losing at b = 0)
    assert min_buffer_for(s + 100.0, q, 0.0) == 0.0
