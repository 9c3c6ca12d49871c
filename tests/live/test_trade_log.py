"""trades.csv exactly once: caught up from the journal after a kill, a torn last line rewritten."""

from __future__ import annotations

import csv
from pathlib import Path

from basisctl.live.journal import Journal
from basisctl.live.trade_log import TRADE_LOG_COLUMNS, sync_trade_log


def _rows(p: Path) -> list[dict[str, str]]:
    with open(p) as fh:
        return list(csv.DictReader(fh))


def test_sync_is_exactly_once_and_repairs_a_torn_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    want = [{"timestamp": f"2025-03-07T0{i}:00:00+00:00", "side": "sell-basis", "notional_usd": 1000.0 * (i + 1),
             "target_bps": 12.0, "realized_bps": 12.5} for i in range(3)]
    log = tmp_path / "trades.csv"
    j.append("trade", "trade:a", want[0], 0)
    assert sync_trade_log(j, log) == 1 and sync_trade_log(j, log) == 0
    for i, k in ((1, "b"), (2, "c")):
        j.append("trade", f"trade:{k}", want[i], 0)
    with open(log, "a") as fh:  # a kill in the middle of writing row 2
        fh.write("2025-03-07T01:00:00+00:00,sell-ba")
    assert sync_trade_log(j, log) == 2
    got = _rows(log)
    assert [float(r["notional_usd"]) for r in got] == [1000.0, 2000.0, 3000.0]
    assert tuple(got[0]) == TRADE_LOG_COLUMNS
    log.unlink()  # a deleted log is rebuilt whole from the journal
    assert sync_trade_log(j, log) == 3 and len(_rows(log)) == 3
