"""The fault-injection suite: real SIGKILLs of a real controller process, and an audit that can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.chaos import FAULT_CLASSES, audit, run_chaos
from basisctl.live.journal import Journal
from basisctl.live.venue import OrderRequest, new_cloid
from tests.skips import extra_reason

from .conftest import P0, fixed_config, have_sdk, make_sim

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

KEYS = (  # the JSON keys scripts rely on (issue 9)
    "kills",
    "cycles",
    "duplicate_orders",
    "economic_duplicates",
    "lost_fills",
    "position_mismatches",
    "external_events",
    "external_events_rehedged",
    "max_unhedged_usd",
    "max_unhedged_seconds",
    "repairs_over_cap",
    "recalibrations",
    "kills_during_recalibration",
    "ok",
)


def test_chaos_file_transport(tmp_path: Path) -> None:
    res = run_chaos(kills=4, seed=11, transport="file", workdir=tmp_path)
    assert set(KEYS) <= set(res)
    assert res["ok"], res["failures"]
    assert res["kills"] == 4 and res["cycles"] > 0 and res["orders"] > 0


@pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))
def test_chaos_http_transport_with_server_faults(tmp_path: Path) -> None:
    """The CI run: 20 kills with every fault of the suite (the long run is benchmarks/chaos_long.py)."""
    res = run_chaos(kills=20, seed=1, transport="http", workdir=tmp_path)
    assert set(KEYS) <= set(res)
    assert res["ok"], res["failures"]
    for k in ("duplicate_orders", "economic_duplicates", "lost_fills", "position_mismatches", "repairs_over_cap"):
        assert res[k] == 0, k
    assert res["external_events"] >= 1 and res["external_events_rehedged"] == res["external_events"]
    f = res["faults"]
    assert f["second_starts"] >= 3 and f["second_refused"] == f["second_starts"]
    # issue 19: the new fault classes and audit keys
    for k in ("malformed_reads", "genesis_unknown_orders", "silent_changes", "silent_changes_resolved",
              "wrong_direction_orders", "foreign_controller_detected", "faults_injected"):
        assert k in res, k
    assert res["genesis_unknown_orders"] == 0 and res["wrong_direction_orders"] == 0
    assert res["silent_changes_resolved"] == res["silent_changes"]
    # one-legged time split: waits for an adoption (bounded by the K-reads rule) vs the rest (by the 20 s bound)
    assert res["adoptions_overdue"] == 0 and res["adoption_waits"] == res["silent_changes"]
    assert res["max_unhedged_seconds_other"] <= res["max_unhedged_seconds"] + 1e-9
    fi = res["faults_injected"]
    assert fi["second_controller_same_account"] >= 1
    # every issue-19 class injected (floors: 1 each by round 10), genesis trials clean, the state dir restored
    assert all(fi[c] >= 1 for c in FAULT_CLASSES), fi
    assert "injection_floor_met" in res and res["genesis_trials"]["early_orders"] == 0
    assert res["genesis_trials"]["trials"] == fi["genesis_missing_balance"]
    assert (tmp_path / "state").is_dir()
    assert fi["same_account_refused"] == fi["second_controller_same_account"]
    assert fi["malformed"] + fi["absurd_book"] + fi["crossed_book"] >= 1 and res["malformed_reads"] >= 1
    # the band is recalibrated while the kills land (issue 17): nothing lost, never a mixed band
    assert res["recalibrations"] >= 1 and res["kills_during_recalibration"] >= 1
    assert res["band_chain_breaks"] == 0 and res["band_mismatches"] == 0


def test_band_audit_catches_a_mixed_band_and_a_decision_on_the_wrong_band(tmp_path: Path) -> None:
    from basisctl.live.chaos import band_audit

    band = {"alpha_target": 0.3, "alpha_lower": 0.296, "alpha_upper": 0.304, "kappa_fix": 1.0, "k_reb_fix": 1e-4,
            "q_min_usd": 1000.0, "buffer_bps": 10.0, "sell_budget_bps": None, "buy_budget_bps": None,
            "reset_lower": None, "reset_upper": None}
    new = {**band, "alpha_target": 0.31, "alpha_lower": 0.305, "alpha_upper": 0.315}
    j = Journal(tmp_path / "j.sqlite")
    j.append("band", "s", {"status": "start", "band": band}, 1)
    j.append("decision", "d1", {"reason_code": "in_band", "reason": "alpha=0.3000 inside [0.2960, 0.3040]: no"}, 2)
    assert band_audit(j)["band_mismatches"] == 0 and band_audit(j)["band_decisions_checked"] == 1
    j.append("band", "a", {"status": "applied", "id": "x", "old": {**band, "alpha_upper": 0.31}, "new": new}, 3)
    j.append("decision", "d2", {"reason_code": "in_band", "reason": "alpha=0.3000 inside [0.2960, 0.3040]: no"}, 4)
    res = band_audit(j)
    assert res["recalibrations"] == 1 and res["band_chain_breaks"] == 1 and res["band_mismatches"] == 1


def _journal_with_genesis(tmp: Path, sim) -> Journal:  # type: ignore[no-untyped-def]
    from basisctl.live.controller import Controller
    from basisctl.live.runner import build

    b = build(fixed_config(tmp), venue=sim)
    Controller(b.controller.cfg, sim, b.journal, b.controller.policy)._ensure_genesis(sim.state())
    return b.journal


def test_audit_catches_unjournaled_order_and_lost_fill(tmp_path: Path) -> None:
    sim = make_sim(tmp_path / "v.sqlite")
    j = _journal_with_genesis(tmp_path, sim)
    lim = fixed_config(tmp_path).limits
    assert audit(j, sim, lim)["ok"]
    sim.place_order(OrderRequest(new_cloid(), "spot", "sell", 0.01, P0 * 0.99, 10**15))  # never journaled
    res = audit(j, sim, lim)
    assert not res["ok"] and res["duplicate_orders"] == 1 and res["lost_fills"] == 1
    # the venue itself saw 0.01 BTC x P0 = ~899 USD unhedged (above the 50 USD tolerance) and recorded it
    assert res["position_mismatches"] >= 1 and res["max_unhedged_usd"] == pytest.approx(0.01 * P0, rel=1e-3)


def test_audit_catches_double_counted_fill(tmp_path: Path) -> None:
    sim = make_sim(tmp_path / "v.sqlite")
    j = _journal_with_genesis(tmp_path, sim)
    j.append(
        "fill",
        "fill:999",
        {"fill_id": "999", "market": "spot", "side": "buy", "size": 0.1, "px": P0, "fee_usd": 0.0},
        0,
    )
    res = audit(j, sim, fixed_config(tmp_path).limits)
    assert res["double_counted_fills"] == 1 and res["position_mismatches"] >= 1 and not res["ok"]


def test_audit_counts_a_trade_resent_under_a_new_id(tmp_path: Path) -> None:
    """Economic duplicates: the same 0.01 BTC spot sell sent twice under two fresh cloids (no id repeats, so
    duplicate_orders stays 0) executes 0.02 BTC against 0.01 intended."""
    sim = make_sim(tmp_path / "v.sqlite")
    j = _journal_with_genesis(tmp_path, sim)
    for _ in range(2):
        c = new_cloid()
        j.append_intent(f"intent:{c}", {"kind": "order", "plan": "plan-x", "leg": "spot", "cloid": c,
                                         "market": "spot", "side": "sell", "size": 0.01}, 0)
        sim.place_order(OrderRequest(c, "spot", "sell", 0.01, P0 * 0.99, 10**15))
        j.append("result", f"result:{c}", {"verdict": "filled"}, 0)
    res = audit(j, sim, fixed_config(tmp_path).limits)
    assert res["duplicate_orders"] == 0 and res["economic_duplicates"] == 1 and not res["ok"]


def test_external_event_not_rehedged_fails_the_audit(tmp_path: Path) -> None:
    sim = make_sim(tmp_path / "v.sqlite")
    j = _journal_with_genesis(tmp_path, sim)
    sim.external_fill("perp", "buy", 0.5, "liquidation")
    res = audit(j, sim, fixed_config(tmp_path).limits)
    assert res["external_events"] == 1 and res["external_events_rehedged"] == 0 and not res["ok"]


def test_price_continuation_is_seeded_and_unbounded() -> None:
    """Past the replay the mid continues as a seeded random walk: the same seed gives the same path in every
    process, and its hourly log returns have the replay's last-30-day hourly sd (sample estimate within 10 %
    for 7,200 returns: the sd of a sample sd is ~ sigma / sqrt(2n) = 0.8 %)."""
    import numpy as np

    from basisctl.live.sim_venue import HOUR_MS, PriceReplay

    a, b = PriceReplay("BTC"), PriceReplay("BTC")
    end = a.end_ms
    a.enable_continuation(3)
    b.enable_continuation(3)
    t = end + HOUR_MS * np.arange(1, 7201)
    pa = np.array([a.mid(int(x)) for x in t])
    assert np.array_equal(pa, [b.mid(int(x)) for x in t])
    r = np.diff(np.log(pa))
    assert np.std(r) == pytest.approx(a._sigma_h, rel=0.1)
    assert a.settlements(end, end + 48 * HOUR_MS) and np.isfinite(a.rate_at(int(t[-1])))
