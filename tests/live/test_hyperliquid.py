"""The Hyperliquid adapter against the local 127.0.0.1 server speaking the documented API shapes: state,
orders with cloids, transfers, signatures, injected faults, stale data, and secrets that never leak."""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

import httpx
import pytest

from basisctl.live.controller import Controller
from basisctl.live.journal import Journal
from basisctl.live.sim_venue import SimVenue
from basisctl.live.venue import OrderRequest, OrderState, TransferRequest, VenueError, VenueUnavailable, new_cloid
from tests.skips import extra_reason

from .conftest import P0, fixed_config, have_sdk, make_sim

pytestmark = pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))

KEY_ENV = "BASISCTL_TEST_HL_KEY"


@pytest.fixture
def hv(server, monkeypatch):  # type: ignore[no-untyped-def]
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import load_signer, test_private_key, test_wallet_address

    monkeypatch.setenv(KEY_ENV, test_private_key())
    return HyperliquidVenue(
        server.url,
        test_wallet_address(),
        load_signer(KEY_ENV),
        "BTC",
        "UBTC/USDC",
        timeout_s=0.5,
        weight_per_min=1e6,
        max_retries=2,
        clock="server",
    )


def _exp(hv) -> int:  # type: ignore[no-untyped-def]
    return hv.now_ms() + 60_000


def test_state_matches_the_venue(hv, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    a, b = hv.state(), sim.state()
    for k in ("spot_base", "spot_usdc", "perp_size", "perp_cash", "mark_px", "spot_mid", "max_leverage"):
        assert getattr(a, k) == pytest.approx(getattr(b, k)), k
    assert hv.spot_coin == "@142" and hv.spot_asset == 10_142 and hv.perp_asset == 0


def test_order_roundtrip_by_cloid(hv, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    c = new_cloid()
    st = hv.place_order(OrderRequest(c, "spot", "sell", 0.25, P0 * 0.99, _exp(hv)))
    assert st.state is OrderState.FILLED and st.filled_size == pytest.approx(0.25)
    again = hv.order_status(c)
    assert again is not None and again.filled_size == pytest.approx(0.25) and again.avg_px == pytest.approx(st.avg_px)
    assert hv.order_status(new_cloid()) is None
    [f] = hv.fills(0)
    assert (f.market, f.side, f.cloid) == ("spot", "sell", c) and f.fee_usd == pytest.approx(0.25 * f.px * 7e-4)


def test_transfer_and_ledger(hv, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    hv.transfer(TransferRequest(123456, 1500.0, False, _exp(hv)))
    assert sim.state().spot_usdc == pytest.approx(1500.0)
    [t] = hv.transfers(0)
    assert (t.nonce, t.amount_usd, t.to_perp) == (123456, 1500.0, False)
    with pytest.raises(VenueError):  # same nonce again: refused by the venue
        hv.transfer(TransferRequest(123456, 1500.0, False, _exp(hv)))


def test_wrong_key_is_refused(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eth_account import Account

    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import load_signer, test_wallet_address

    monkeypatch.setenv(KEY_ENV, Account.create().key.hex())
    bad = HyperliquidVenue(server.url, test_wallet_address(), load_signer(KEY_ENV), "BTC", "UBTC/USDC", clock="server")
    with pytest.raises(VenueError, match="does not exist"):
        bad.place_order(OrderRequest(new_cloid(), "spot", "sell", 0.1, P0 * 0.99, bad.now_ms() + 60_000))


def test_reads_are_retried_through_5xx_429_and_disconnects(hv, server) -> None:  # type: ignore[no-untyped-def]
    from basisctl.venues.hyperliquid.server import FaultPlan

    server.faults = FaultPlan(error_5xx=0.2, rate_limited=0.1, disconnect=0.1, seed=3)
    hv.max_retries = 8  # P(9 faults in a row) = 0.4^9 ~ 3e-4 per read
    for _ in range(10):
        hv.state()
    assert hv.counters["retries"] > 0 and hv.counters["http_5xx"] > 0


def test_write_failures_are_unknown_not_retried(hv, server, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    # 'timeout' and 'disconnect' are processed by the venue but the answer is lost
    for fault in ("5xx", "429", "timeout", "disconnect"):
        server.faults.script = deque([fault])
        server.faults.timeout_s = 0.8
        c = new_cloid()
        with pytest.raises(VenueUnavailable):
            hv.place_order(OrderRequest(c, "spot", "sell", 0.01, P0 * 0.99, _exp(hv)))
        executed = hv.order_status(c) is not None
        assert executed == (fault in ("timeout", "disconnect")), fault
    assert sim.stats()["duplicate_order_requests"] == 0
    server.faults.script = deque(["reject"])
    with pytest.raises(VenueError, match="Injected reject"):
        hv.place_order(OrderRequest(new_cloid(), "spot", "sell", 0.01, P0 * 0.99, _exp(hv)))


def _controller(tmp: Path, hv, sim: SimVenue | None = None, **over):  # type: ignore[no-untyped-def]
    from basisctl.live.runner import calibrate_band

    cfg = fixed_config(tmp, **over)
    import pandas as pd

    pol, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), 1e6)
    return Controller(cfg, hv, Journal(tmp / "journal.sqlite"), pol, sleep=sim.advance if sim else None)


def test_controller_resolves_lost_answer_by_cloid(tmp_path: Path, hv, server, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    band = {"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45}
    ctl = _controller(tmp_path, hv, sim, band=band)
    ctl.start()
    server.faults.timeout_s = 0.8
    server.faults.script = deque(["timeout", "disconnect", "5xx"])  # spot leg, perp leg, transfer
    ctl.cycle()
    st = sim.state()
    assert "VENUE_UNAVAILABLE" in ctl.alerts.counts
    assert sim.stats()["duplicate_order_requests"] == 0 and sim.stats()["duplicate_transfer_requests"] == 0
    assert st.unhedged_usd <= 50.0 and not ctl.journal.open_intents()
    assert ctl.journal.derived_position().to_dict() == pytest.approx(
        {"spot_base": st.spot_base, "spot_usdc": st.spot_usdc, "perp_size": st.perp_size, "perp_cash": st.perp_cash}
    )
    ctl.cycle()  # the 5xx'd transfer never happened: the sweep moves the idle USDC next cycle
    assert sim.state().alpha == pytest.approx(0.35, abs=2e-3)


def test_stale_prices_block_action(tmp_path: Path, hv, server) -> None:  # type: ignore[no-untyped-def]
    band = {"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45}
    ctl = _controller(tmp_path, hv, band=band, limits={"stale_after_seconds": 30})
    ctl.start()
    server.faults.stale_ms = 120_000
    ctl.cycle()
    assert "STALE_DATA" in ctl.alerts.counts and ctl.journal.count("intent") == 0
    assert ctl.journal.entries("decision")[-1].payload["blocked"] == "stale data"


def test_dead_mans_switch_is_refreshed(tmp_path: Path, hv, server) -> None:  # type: ignore[no-untyped-def]
    ctl = _controller(tmp_path, hv, venue={"kind": "sim", "dead_man_seconds": 60})
    ctl.start()
    ctl.cycle()
    assert server.dead_man_at_ms == pytest.approx(hv.now_ms() + 60_000, abs=5_000)


def test_rate_budget_blocks_then_refuses() -> None:
    from basisctl.venues.hyperliquid.adapter import RateBudget

    t = [0.0]
    b = RateBudget(60.0, max_wait_s=0.5, clock=lambda: t[0])  # 1 weight per second
    b.take(60.0)
    with pytest.raises(VenueUnavailable, match="budget"):
        b.take(20.0)  # would wait 20 s
    t[0] = 30.0
    b.take(20.0)  # refilled 30 weight


def test_price_and_size_wire_rules() -> None:
    from basisctl.venues.hyperliquid.adapter import round_px, wire

    assert round_px(84123.456, 5, spot=False) == 84123.0  # 5 significant figures
    assert round_px(1.234567, 0, spot=False) == 1.2346
    assert round_px(0.000123456, 2, spot=True) == 0.000123
    assert wire(0.10000) == "0.1" and wire(3.0) == "3"


def test_secrets_never_logged_or_journaled(tmp_path: Path, hv, server, sim: SimVenue, caplog, capsys) -> None:  # type: ignore[no-untyped-def]
    from basisctl.venues.hyperliquid.keys import test_private_key

    caplog.set_level(logging.DEBUG)
    band = {"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45}
    ctl = _controller(tmp_path, hv, sim, band=band)
    ctl.start()
    server.faults.script = deque(["5xx"])
    ctl.cycle()
    ctl.cycle()
    key = test_private_key().lower().removeprefix("0x")
    text = caplog.text + "".join(capsys.readouterr()) + repr(hv) + repr(hv._signer) + str(ctl.public_state())
    assert caplog.records and ctl.journal.count("intent") > 0  # there was something to leak into
    ctl.journal.close()
    blobs = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert key not in text.lower()
    assert all(key.encode() not in b.lower() and bytes.fromhex(key) not in b for b in blobs)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(hv._signer)


def test_missing_or_bad_key_errors_do_not_echo_the_value(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from basisctl.venues.hyperliquid.keys import KeyError_, load_signer

    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyError_, match=KEY_ENV):
        load_signer(KEY_ENV)
    monkeypatch.setenv(KEY_ENV, "0xnot-a-key-secretvalue")
    with pytest.raises(KeyError_) as e:
        load_signer(KEY_ENV)
    assert "secretvalue" not in str(e.value)


def test_encrypted_keystore(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from eth_account import Account

    from basisctl.venues.hyperliquid.keys import KeyError_, load_signer

    acct = Account.create()
    ks = tmp_path / "key.json"
    ks.write_text(json.dumps(Account.encrypt(acct.key, "pw")))
    monkeypatch.setenv("KS_PW", "pw")
    assert load_signer("UNUSED", ks, "KS_PW").address == acct.address
    monkeypatch.setenv("KS_PW", "wrong")
    with pytest.raises(KeyError_, match="wrong keystore password"):
        load_signer("UNUSED", ks, "KS_PW")


def test_transport_is_injectable() -> None:
    """The adapter's only I/O seam is an httpx transport (here a plain function, no server)."""
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import Signer

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        t = json.loads(request.content)["type"]
        if t == "meta":
            return httpx.Response(200, json={"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 40}]})
        return httpx.Response(
            200,
            json={
                "tokens": [
                    {"name": "USDC", "index": 0, "szDecimals": 8},
                    {"name": "UBTC", "index": 197, "szDecimals": 5},
                ],
                "universe": [{"name": "@142", "tokens": [197, 0], "index": 142}],
            },
        )

    v = HyperliquidVenue("http://x", "0x0", Signer(None), "BTC", "UBTC/USDC", transport=httpx.MockTransport(handler))
    assert (v.perp_asset, v.spot_asset, v.spot_coin) == (0, 10_142, "@142")


@pytest.mark.needs_data
def test_sim_venue_used_by_http_is_the_same_file(tmp_path: Path) -> None:
    v = make_sim(tmp_path / "x.sqlite")
    assert isinstance(v, SimVenue)


def test_funding_history_is_paginated(hv, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    sim.advance(600 * 3600)  # 600 hourly settlements > the 500-row page of userFunding
    pays = hv.funding_payments(0)
    assert len(pays) == len(sim.funding_payments(0)) == 600
    assert len({p.funding_id for p in pays}) == 600
