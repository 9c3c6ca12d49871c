"""Shared fixtures: a simulated venue on a temp SQLite file, the local Hyperliquid-shaped server, configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.config import ControllerConfig, parse_config
from basisctl.live.sim_venue import SimConfig, SimVenue

START = "2025-03-07T00:00:00Z"
P0 = 89_897.0  # Hyperliquid BTC open of the 2025-03-07 00:00 bar in ../shared/data (checked in test_sim_venue)


def have_sdk() -> bool:
    try:
        import hyperliquid.utils.signing  # noqa: F401
    except ImportError:
        return False
    return True


def make_sim(path: Path, **kw: object) -> SimVenue:
    base = dict(
        start=START,
        clock="manual",
        initial_spot_base=7.0,
        initial_spot_usdc=0.0,
        initial_perp_size=-7.0,
        initial_perp_usdc=300_000.0 + 7.0 * P0,
    )
    base.update(kw)
    return SimVenue(path, SimConfig(**base))  # type: ignore[arg-type]


def fixed_config(tmp: Path, **over: object) -> ControllerConfig:
    """A fixed-band config on the sim venue, files under ``tmp``."""
    data: dict[str, object] = {
        "cadence_seconds": 3600,
        "venue": {"kind": "sim", "dead_man_seconds": 0},
        "sim": {"start": START, "clock": "manual"},
        "band": {
            "mode": "fixed",
            "alpha_target": 0.30,
            "alpha_lower": 0.25,
            "alpha_upper": 0.40,
            "kappa_fix": 0.5,
            "k_reb_fix_bps": 5,
        },
        "costs": {
            "model": "flat",
            "sell_basis_bps": 12,
            "buy_basis_bps": 12,
            "sell_budget_bps": 60,
            "buy_budget_bps": 60,
            "q_min_usd": 1000,
        },
        "limits": {"stale_after_seconds": 7200},
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k] = {**data[k], **v}  # type: ignore[dict-item]
        else:
            data[k] = v
    return parse_config(data, "test", tmp)


@pytest.fixture
def sim(tmp_path: Path) -> SimVenue:
    v = make_sim(tmp_path / "venue.sqlite")
    yield v
    v.close()


@pytest.fixture
def server(sim: SimVenue):  # type: ignore[no-untyped-def]
    """The local Hyperliquid API server (127.0.0.1) over ``sim``, for the test wallet."""
    from basisctl.venues.hyperliquid.keys import test_wallet_address
    from basisctl.venues.hyperliquid.server import HLServer

    srv = HLServer(sim, test_wallet_address()).start()
    yield srv
    srv.stop()
