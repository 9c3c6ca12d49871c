"""The fault-injection suite: real SIGKILLs of a real controller process, and an audit that can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.chaos import audit, run_chaos
from basisctl.live.journal import Journal
from basisctl.live.venue import OrderRequest, new_cloid

from .conftest import P0, fixed_config, have_sdk, make_sim

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

KEYS = (
    "kills",
    "cycles",
    "duplicate_orders",
    "lost_fills",
    "position_mismatches",
    "max_unhedged_usd",
    "max_unhedged_seconds",
)


def test_chaos_file_transport(tmp_path: Path) -> None:
    res = run_chaos(kills=4, seed=11, transport="file", workdir=tmp_path)
    assert set(KEYS) <= set(res)
    assert res["ok"], res["failures"]
    assert res["kills"] == 4 and res["cycles"] > 0 and res["orders"] > 0


@pytest.mark.skipif(not have_sdk(), reason="needs the 'live' extra (hyperliquid-python-sdk)")
def test_chaos_http_transport_with_server_faults(tmp_path: Path) -> None:
    res = run_chaos(kills=3, seed=5, transport="http", workdir=tmp_path)
    assert res["ok"], res["failures"]
    assert res["duplicate_orders"] == 0 and res["lost_fills"] == 0 and res["position_mismatches"] == 0


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
