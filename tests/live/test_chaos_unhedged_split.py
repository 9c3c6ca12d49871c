"""The chaos audit's split of one-legged time: waits by design for a venue-truth adoption vs the rest (issue 19).

Hand-computed cases: the split functions are pure, the venue's episode record is checked on a simulated venue."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from basisctl.live.chaos import adoption_waits, adoptions_overdue, unhedged_split
from basisctl.live.journal import Journal

from .conftest import make_sim

pytestmark = pytest.mark.needs_data  # the simulated venue replays market data


def test_split_outside_and_inside_waits_by_hand() -> None:
    # episode 100-160 s; an adoption wait 110-150 s inside it: 10 s before, 40 s waiting, 10 s after
    r = unhedged_split([(100.0, 160.0, 5e3)], [(110.0, 150.0)])
    assert r["max_unhedged_seconds_awaiting_adoption"] == pytest.approx(40.0)
    assert r["max_unhedged_seconds_other"] == pytest.approx(10.0)
    # the re-hedge after the adoption took 25 s: that part is NOT excused
    r = unhedged_split([(100.0, 175.0, 5e3)], [(110.0, 150.0)])
    assert r["max_unhedged_seconds_other"] == pytest.approx(25.0)
    # no waits: the whole episode is "other" (== the raw max_unhedged_seconds)
    r = unhedged_split([(0.0, 30.0, 1e3), (50.0, 62.0, 1e3)], [])
    assert r["max_unhedged_seconds_other"] == pytest.approx(30.0)
    assert r["max_unhedged_seconds_awaiting_adoption"] == 0.0
    # overlapping waits merge; an episode entirely inside a wait leaves nothing outside
    r = unhedged_split([(10.0, 20.0, 1e3)], [(0.0, 15.0), (12.0, 30.0)])
    assert r["max_unhedged_seconds_other"] == 0.0
    assert r["max_unhedged_seconds_awaiting_adoption"] == pytest.approx(10.0)
    # two waits inside one episode: the gap between them counts as other
    r = unhedged_split([(0.0, 100.0, 1e3)], [(10.0, 20.0), (50.0, 60.0)])
    assert r["max_unhedged_seconds_other"] == pytest.approx(40.0)  # 100 - 60


def _mm(j: Journal, kind: str, ts: int, by: str = "") -> None:
    j.append("mm", f"mm:{kind}:{ts}:{by}", {"ts_ms": ts, "by": by, "mismatch": {}}, ts)


def test_adoptions_overdue_by_hand(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    # K=3, T=30 s, timeout 60 s (venue ms). Episode 1: reads at 0, 40 s, 80 s, adopted at the third: on time
    for ts in (0, 40_000, 80_000):
        _mm(j, "read", ts)
    _mm(j, "end", 80_000, "adopt:a")
    assert adoptions_overdue(j, 3, 30.0, 60.0) == 0
    # episode 2: a failed read after two reads restarts the count; adopted at the third consecutive: on time
    for ts in (100_000, 140_000):
        _mm(j, "read", ts)
    _mm(j, "break", 150_000)
    for ts in (200_000, 240_000, 280_000):
        _mm(j, "read", ts)
    _mm(j, "end", 280_000, "adopt:b")
    assert adoptions_overdue(j, 3, 30.0, 60.0) == 0
    # episode 3: the rule was met at the third read but a fourth read came, then an end by agreement: overdue
    for ts in (300_000, 340_000, 380_000, 420_000):
        _mm(j, "read", ts)
    _mm(j, "end", 420_000, "agreement")
    assert adoptions_overdue(j, 3, 30.0, 60.0) == 1
    # episode 4: three reads too close together (span 2 s < T): not due, not overdue
    for ts in (500_000, 501_000, 502_000):
        _mm(j, "read", ts)
    _mm(j, "end", 502_000, "agreement")
    assert adoptions_overdue(j, 3, 30.0, 60.0) == 1


def test_venue_records_episodes_and_waits_map_to_wall_time(tmp_path: Path) -> None:
    sim = make_sim(tmp_path / "v.sqlite", clock="wall")  # venue time runs with the wall clock
    assert sim.unhedged_episodes() == []
    t0 = time.time()
    with sim._lock, sim._tx():  # a silent change: 0.05 BTC more short perp, no fill
        sim._put("perp_size", sim._f("perp_size") - 0.05)
    sim.state()  # the venue observes its own gap at each request
    ep = sim.unhedged_episodes()
    assert len(ep) == 1 and ep[0][0] >= t0 - 1 and ep[0][2] > 1_000  # ~0.05 BTC x ~90k USD, still open
    with sim._lock, sim._tx():
        sim._put("perp_size", sim._f("perp_size") + 0.05)
    sim.state()
    ep = sim.unhedged_episodes()
    assert len(ep) == 1 and ep[0][1] >= ep[0][0]  # closed
    # wall_of inverts the venue clock
    now_ms = sim.now_ms()
    assert sim.wall_of(now_ms) == pytest.approx(time.time(), abs=0.5)
    # an adoption journaled at venue time -> its wall time closes the wait of the injection before it
    j = Journal(tmp_path / "j.sqlite")
    j.append("adopt", "adopt:x", {"ts_ms": now_ms, "venue_now_ms": now_ms, "delta": {}}, now_ms)
    w = adoption_waits(j, sim, [t0, time.time() + 100.0])
    assert w[0][0] == t0 and w[0][1] == pytest.approx(sim.wall_of(now_ms))
    assert w[1][1] >= w[1][0]  # never adopted: waits until now (clamped at its start)
