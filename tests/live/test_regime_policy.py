"""``band.rule = "regime"`` in the controller (issue 23): paper mode on the simulated venue with synthetic funding.

Funding of 2 bp per hour (17.5 % APR, ≈ 12 % net carry at alpha 0.3) against a 4 % alternative yield: the rule
stays in. When funding drops to zero half-way, the EWMA forecast decays through the hurdle some days later; the
controller must be flat (spot 0, short 0) within H hours of the first decision that saw the margin below 0, raise
REGIME_OUT, keep every dollar on the venue (equity = the venue's USDC, less the unwind's trading costs), and take
no position while out. With constant carry it never exits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from basisctl.live.controller import Controller
from basisctl.live.regime_policy import RegimeGate, make_gate, restore
from basisctl.live.runner import build
from basisctl.live.sim_venue import PriceReplay, SimConfig, SimVenue

from .conftest import P0, START, fixed_config

R = 2e-5  # funding per hour [decimal]
DAYS = 24
DROP_DAY = 12


def _funding(drop: bool) -> pd.DataFrame:
    t0 = pd.Timestamp(START)
    ts = pd.date_range(t0 - pd.Timedelta(days=60), t0 + pd.Timedelta(days=DAYS + 2), freq="1h")
    rate = np.where(drop & (ts > t0 + pd.Timedelta(days=DROP_DAY)), 0.0, R)
    return pd.DataFrame({"ts": ts, "rate": rate, "interval_hours": 1.0})


def _run(tmp: Path, drop: bool) -> tuple[Controller, SimVenue, RegimeGate, list[dict[str, Any]]]:
    f = _funding(drop)
    sim = SimVenue(tmp / "venue.sqlite", SimConfig(start=START, clock="manual", initial_spot_base=7.0,
                                                    initial_perp_size=-7.0, initial_perp_usdc=300_000.0 + 7.0 * P0),
                   PriceReplay("BTC", funding=f))
    cfg = fixed_config(tmp, band={"rule": "regime"}, regime={"model": "ewma", "alt_yield_apr": 0.04,
                                                              "exit_within_hours": 24.0, "min_hold_hours": 72.0})
    b = build(cfg, venue=sim)
    ctl = Controller(b.controller.cfg, sim, b.journal, b.controller.policy, sleep=sim.advance)
    ctl.regime = make_gate(cfg, ctl.policy.alpha_target, pd.Timestamp(START), history=f)
    restore(ctl.regime, ctl.journal)
    ctl.start()
    states = []
    for _ in range(DAYS * 24):
        ctl.safe_cycle()
        st = sim.state()
        states.append({"ts_ms": st.ts_ms, "spot": st.spot_base, "perp": st.perp_size, "equity": st.equity,
                       "usdc": st.spot_usdc + st.perp_cash, "out": ctl.regime.out})
        sim.advance(cfg.cadence_seconds)
    return ctl, sim, ctl.regime, states


def test_funding_drop_goes_flat_within_h_alerts_and_keeps_funds_on_the_venue(tmp_path: Path) -> None:
    ctl, _, gate, states = _run(tmp_path, drop=True)
    recs = [e.payload for e in ctl.journal.entries("regime")]
    assert recs[0]["action"] == "hold" and recs[0]["margin_apr"] > 0.04  # in the trade from the start
    cross = next(r["boundary_ms"] for r in recs if r["margin_apr"] < 0)
    exit_ms = next(r["boundary_ms"] for r in recs if r["action"] == "exit")
    assert cross > pd.Timestamp(START).value // 10**6 + DROP_DAY * 86_400_000  # learnt only after the drop
    assert 0 <= exit_ms - cross <= 24 * 3_600_000
    # flat at the first cycle of the exit boundary, and flat ever after; nothing re-entered
    k = next(i for i, s in enumerate(states) if s["ts_ms"] >= exit_ms)
    assert states[k]["out"] and all(s["spot"] == 0.0 and s["perp"] == 0.0 for s in states[k:])
    assert all(s["spot"] > 6.9 and s["perp"] < -6.9 for s in states[:k])
    assert gate.exits == 1 and gate.entries == 0
    assert ctl.alerts.counts["REGIME_OUT"] == 1 and "REGIME_IN" not in ctl.alerts.counts
    # funds stay on the venue: equity = the venue's USDC, and the unwind cost only trading costs (< 30 bps)
    before, after = states[k - 1]["equity"], states[k]["equity"]
    assert states[-1]["usdc"] == pytest.approx(states[-1]["equity"], rel=1e-12)
    assert 0.997 * before < after < before
    assert states[-1]["equity"] == pytest.approx(after, rel=1e-9)  # flat: no funding, no price risk
    # every transfer the controller sent is spot <-> perp on the venue
    assert all(set(e.payload) >= {"to_perp"} for e in ctl.journal.entries("transfer"))


def test_constant_carry_above_the_hurdle_never_exits(tmp_path: Path) -> None:
    ctl, _, gate, states = _run(tmp_path, drop=False)
    recs = [e.payload for e in ctl.journal.entries("regime")]
    assert len(recs) == DAYS and all(r["action"] == "hold" and r["margin_apr"] > 0.05 for r in recs)
    assert gate.exits == 0 and not any(s["out"] for s in states)
    assert "REGIME_OUT" not in ctl.alerts.counts
    assert all(s["spot"] > 6.9 for s in states)


def test_regime_section_is_validated(tmp_path: Path) -> None:
    from basisctl.live.config import ConfigError

    with pytest.raises(ConfigError, match="regime"):
        fixed_config(tmp_path, band={"rule": "regime"}, regime={"decide_every_hours": 48.0})
    with pytest.raises(ConfigError, match="regime"):
        fixed_config(tmp_path, regime={"alt_yield_apr": 2.0})
    cfg = fixed_config(tmp_path, band={"rule": "regime"})
    assert cfg.regime.model == "ewma" and cfg.band.rule == "regime"
