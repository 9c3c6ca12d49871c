"""The simulated venue against hand calculations: book walk, fees, funding, margin, duplicates, expiry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from basisctl.data import locator
from basisctl.live.sim_venue import PriceReplay, SimVenue
from basisctl.live.venue import OrderRequest, OrderState, TransferRequest, VenueError, new_cloid

from .conftest import P0, START, make_sim

T0 = int(pd.Timestamp(START).value // 10**6)


@pytest.mark.needs_data
def test_replay_matches_shipped_bar() -> None:
    c = locator.load_candles("hyperliquid_perp", "BTC", "1h").set_index("ts")
    bar = c.loc[pd.Timestamp(START)]
    r = PriceReplay("BTC")
    assert r.mid(T0) == pytest.approx(bar["open"]) == pytest.approx(P0)
    assert r.mid(T0 + 1_800_000) == pytest.approx(0.5 * (bar["open"] + bar["close"]))


def test_ioc_walks_levels_with_fee(sim: SimVenue) -> None:
    # spot book: 250k USD per level at 0.5, 1.5, 2.5 ... bps below mid
    mid = P0
    lvl = 250_000.0 / mid
    size = round(2.5 * lvl, 5)
    st = sim.place_order(OrderRequest(new_cloid(), "spot", "sell", size, mid * 0.99, T0 + 10_000))
    px = [mid * (1 - b / 1e4) for b in (0.5, 1.5, 2.5)]
    take = [lvl, lvl, size - 2 * lvl]
    vwap = sum(p * q for p, q in zip(px, take, strict=True)) / size
    assert st.state is OrderState.FILLED and st.avg_px == pytest.approx(vwap, rel=1e-12)
    v = sim.state()
    assert v.spot_base == pytest.approx(7.0 - size)
    assert v.spot_usdc == pytest.approx(size * vwap * (1 - 7e-4))


def test_limit_price_caps_fill_partial(sim: SimVenue) -> None:
    lvl = 1_000_000.0 / P0  # perp levels
    st = sim.place_order(OrderRequest(new_cloid(), "perp", "buy", 3 * lvl, P0 * (1 + 1.0 / 1e4), T0 + 10_000))
    assert st.state is OrderState.CANCELED and st.filled_size == pytest.approx(round(lvl, 5))  # only 0.5 bps level


def test_funding_paid_to_short_at_settlement(sim: SimVenue) -> None:
    f = locator.load_funding("hyperliquid", "BTC").set_index("ts")["rate"]
    sim.advance(3600)
    pays = sim.funding_payments(0)
    ts = pd.Timestamp(START) + pd.Timedelta(hours=1)
    assert len(pays) == 1 and pays[0].ts_ms == int(ts.value // 10**6)
    px = PriceReplay("BTC").mid(pays[0].ts_ms)
    assert pays[0].amount_usd == pytest.approx(7.0 * px * f.loc[ts])  # -size * px * rate with size = -7


def test_duplicate_cloid_refused_and_counted(sim: SimVenue) -> None:
    c = new_cloid()
    sim.place_order(OrderRequest(c, "spot", "sell", 0.01, P0 * 0.99, T0 + 10_000))
    with pytest.raises(VenueError, match="duplicate"):
        sim.place_order(OrderRequest(c, "spot", "sell", 0.01, P0 * 0.99, T0 + 10_000))
    assert sim.stats()["duplicate_order_requests"] == 1
    assert sim.state().spot_base == pytest.approx(6.99)


def test_expired_action_refused(sim: SimVenue) -> None:
    with pytest.raises(VenueError, match="expired"):
        sim.place_order(OrderRequest(new_cloid(), "spot", "sell", 0.01, P0 * 0.99, T0 - 1))
    with pytest.raises(VenueError, match="expired"):
        sim.transfer(TransferRequest(1, 10.0, False, T0 - 1))


def test_transfer_respects_withdrawable(sim: SimVenue) -> None:
    # av = 300k, initial margin = 7 * P0 / 40
    withdrawable = 300_000.0 - 7 * P0 / 40
    with pytest.raises(VenueError, match="withdrawable"):
        sim.transfer(TransferRequest(1, withdrawable + 1.0, False, T0 + 1000))
    sim.transfer(TransferRequest(2, 1000.0, False, T0 + 1000))
    assert sim.state().spot_usdc == pytest.approx(1000.0)
    assert [t.nonce for t in sim.transfers(0)] == [2]


@pytest.mark.needs_data
def test_liquidation_below_maintenance(tmp_path: Path) -> None:
    # margin 1% of notional < maintenance 1/80 = 1.25% -> liquidated at the first observation
    v = make_sim(tmp_path / "v.sqlite", initial_perp_usdc=0.01 * 7 * P0 + 7 * P0)
    st = v.state()
    assert st.perp_size == 0.0 and v.stats()["liquidations"] == 1


@pytest.mark.needs_data
def test_state_persists_across_processes(tmp_path: Path) -> None:
    p = tmp_path / "v.sqlite"
    v = make_sim(p)
    v.place_order(OrderRequest(new_cloid(), "spot", "sell", 0.5, P0 * 0.99, T0 + 10_000))
    v.close()
    v2 = SimVenue(p)  # config and balances come from the file
    assert v2.state().spot_base == pytest.approx(6.5) and len(v2.fills(0)) == 1
