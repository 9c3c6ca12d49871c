"""Isolated margin per position on Hyperliquid: ``updateLeverage`` (isCross false) and ``updateIsolatedMargin``
through the adapter, over HTTP against the local 127.0.0.1 server; the margin mode read back from
clearinghouseState; alpha from the position's own margin; the recorded real clearinghouseState parses."""

from __future__ import annotations

import math

import pytest

from basisctl.live.sim_venue import SimVenue
from basisctl.live.venue import TransferRequest, VenueError
from tests.skips import extra_reason

from .conftest import have_sdk

pytestmark = pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))
KEY_ENV = "BASISCTL_TEST_HL_KEY"


def _venue(server, monkeypatch, mode: str = "cross"):  # type: ignore[no-untyped-def]
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import load_signer, test_private_key, test_wallet_address

    monkeypatch.setenv(KEY_ENV, test_private_key())
    return HyperliquidVenue(server.url, test_wallet_address(), load_signer(KEY_ENV), "BTC", "UBTC/USDC",
                            timeout_s=2.0, weight_per_min=1e6, max_retries=1, clock="server", margin_mode=mode)


def test_cross_by_default_and_the_venue_liquidation_price(server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    hv = _venue(server, monkeypatch)
    mi = hv.margin_info()
    st = sim.state()
    assert mi.mode == "cross" and mi.raw_usd is None and mi.szi == -7.0
    # cross: c + s P = |s| P theta with c the account's perp cash, theta = 1/(2 x 40)
    want = st.perp_cash / (7.0 * (1 + 1 / 80))
    assert mi.liquidation_px == pytest.approx(want, rel=1e-9)
    assert mi.account_value == pytest.approx(st.perp_account_value, rel=1e-9)


def test_isolated_margin_round_trip_over_http(server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    hv = _venue(server, monkeypatch, "isolated")
    with pytest.raises(VenueError, match="cross-margined"):
        hv.state()  # the venue holds it cross: an isolated-mode position read is refused, never assumed
    hv.set_leverage(10, isolated=True)
    assert server.requests[-1]["type"] == "updateLeverage"
    st0 = sim.state()
    mi = hv.margin_info()
    im = 7.0 * st0.mark_px / 10  # initial margin at 10x moves into isolation
    assert mi.mode == "isolated" and mi.leverage == 10
    assert mi.isolated_equity == pytest.approx(im, rel=1e-9)
    assert mi.margin_used == pytest.approx(im, rel=1e-9)
    theta = 1 / 80
    assert mi.liquidation_px == pytest.approx(mi.raw_usd / (7.0 * (1 + theta)), rel=1e-9)
    # alpha of the position is computed from its own margin, not the account value
    vs = hv.state()
    assert vs.perp_account_value == pytest.approx(im, rel=1e-9)
    assert vs.perp_account_value < st0.perp_account_value
    assert vs.alpha == pytest.approx(im / (im + vs.spot_value), rel=1e-9)
    # add 5,000 USDC of margin: equity +5,000, the barrier moves up by 5,000 / (|s| (1 + theta))
    hv.update_isolated_margin(5_000.0)
    mi2 = hv.margin_info()
    assert mi2.isolated_equity == pytest.approx(im + 5_000.0, rel=1e-9)
    assert mi2.liquidation_px - mi.liquidation_px == pytest.approx(5_000.0 / (7.0 * (1 + theta)), rel=1e-6)
    assert server.cross_usd == pytest.approx(st0.perp_cash - mi2.raw_usd, rel=1e-9)
    # removing below the initial margin is refused; removing the 5,000 again is fine
    with pytest.raises(VenueError, match="initial margin"):
        hv.update_isolated_margin(-5_001.0)
    hv.update_isolated_margin(-5_000.0)
    assert hv.margin_info().isolated_equity == pytest.approx(im, rel=1e-9)
    # more than the cross remainder cannot be added
    with pytest.raises(VenueError, match="Insufficient"):
        hv.update_isolated_margin(server.cross_usd + 1.0)


def test_isolated_collateral_moves_use_update_isolated_margin(server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    sim0 = sim.state()
    hv = _venue(server, monkeypatch, "isolated")
    hv.set_leverage(10, isolated=True)
    e0 = hv.state().perp_account_value
    # give the spot account USDC first (a class transfer from the cross remainder)
    cross = _venue(server, monkeypatch, "cross")
    n = hv.now_ms()
    cross.transfer(TransferRequest(n, 20_000.0, False, n + 60_000))
    assert server.cross_usd == pytest.approx(sim0.perp_cash - 20_000.0 - hv.margin_info().raw_usd, rel=1e-9)
    hv.transfer(TransferRequest(n + 1, 10_000.0, True, n + 60_000))
    kinds = [r["type"] for r in server.requests[-2:]]
    assert kinds == ["usdClassTransfer", "updateIsolatedMargin"]
    assert hv.state().perp_account_value == pytest.approx(e0 + 10_000.0, rel=1e-9)
    hv.transfer(TransferRequest(n + 2, 4_000.0, False, n + 60_000))
    assert [r["type"] for r in server.requests[-2:]] == ["updateIsolatedMargin", "usdClassTransfer"]
    st = hv.state()
    assert st.perp_account_value == pytest.approx(e0 + 6_000.0, rel=1e-9)
    # the account as a whole never changed value: the moves are internal
    assert sim.state().equity == pytest.approx(sim0.equity, rel=1e-12)
    assert math.isfinite(st.alpha)


def test_isolated_amounts_are_micro_usd_integers() -> None:
    from basisctl.venues.hyperliquid.adapter import usd_int

    assert usd_int(1.5) == 1_500_000 and usd_int(-0.000001) == -1 and usd_int(1234.5678919) == 1_234_567_892
    with pytest.raises(VenueError):
        usd_int(float("nan"))


def test_recorded_clearinghouse_state_margin_modes_parse() -> None:
    from basisctl.venues.hyperliquid.adapter import margin_info_of
    from basisctl.venues.hyperliquid.models import ClearinghouseState, parse
    from tests.venues.hl_fixtures import recorded

    n = 0
    for _, _, body in recorded()["clearinghouseState"]:
        ch = parse(ClearinghouseState, body, "clearinghouseState")
        for ap in ch.assetPositions:
            mi = margin_info_of(ch, ap.position.coin)
            assert mi.mode in ("cross", "isolated")
            assert mi.liquidation_px is None or mi.liquidation_px > 0
            n += 1
    assert n >= 12  # the HEAD recording alone holds 12 positions
    ch = parse(ClearinghouseState, recorded()["clearinghouseState"][0][2], "clearinghouseState")
    bad = ch.model_copy(update={"assetPositions": [replace_leverage(ch.assetPositions[0])]})
    from basisctl.live.guards import VenueDataError

    with pytest.raises(VenueDataError, match="leverage"):
        margin_info_of(bad, bad.assetPositions[0].position.coin)


def replace_leverage(ap):  # type: ignore[no-untyped-def]
    return ap.model_copy(update={"position": ap.position.model_copy(update={"leverage": None})})



@pytest.mark.needs_data
def test_controller_keeps_alpha_on_the_isolated_margin(tmp_path, server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    """The controller over the adapter in isolated mode: alpha is the isolated equity's share, the rebalance
    raises it through class transfer + updateIsolatedMargin, and the journal agrees with the venue."""
    import pandas as pd

    from basisctl.live.controller import Controller
    from basisctl.live.journal import Journal
    from basisctl.live.runner import calibrate_band

    from .conftest import fixed_config

    hv = _venue(server, monkeypatch, "isolated")
    hv.set_leverage(10, isolated=True)  # isolated equity = initial margin: alpha ~ 0.09, below the band
    assert hv.state().alpha < 0.1
    cfg = fixed_config(tmp_path, band={"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45})
    pol, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), 1e6)
    ctl = Controller(cfg, hv, Journal(tmp_path / "journal.sqlite"), pol, sleep=sim.advance)
    ctl.run(max_cycles=3, advance=sim.advance)
    st = hv.state()
    mi = hv.margin_info()
    assert mi.mode == "isolated" and st.perp_account_value == pytest.approx(mi.isolated_equity, rel=1e-9)
    assert 0.33 <= st.alpha <= 0.45  # restored on the position's own margin
    kinds = [r["type"] for r in server.requests]
    assert "updateIsolatedMargin" in kinds
    assert "POSITION_MISMATCH" not in ctl.alerts.counts and not ctl.halted
    d = ctl.journal.derived_position().to_dict()
    assert d["perp_cash"] == pytest.approx(st.perp_cash, abs=1e-4) and d["perp_size"] == pytest.approx(st.perp_size)
    # the whole account is worth what it was, less costs: the cross remainder is outside this position
    assert sim.state().equity > st.equity


def test_doctor_margin_mode_line(server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    from basisctl.live.venue_truth import margin_mode_check

    hv = _venue(server, monkeypatch)
    ok, line = margin_mode_check(hv, book=True)
    assert not ok and "cross-margined" in line and "isolated" in line  # a book refuses cross
    assert margin_mode_check(hv, book=False)[0]  # a single position may run cross
    hv.set_leverage(10, isolated=True)
    ok, line = margin_mode_check(hv, book=True)
    assert ok and line == "OK margin mode: BTC isolated at 10x"
    assert margin_mode_check(sim, book=True)[0]  # the paper venue: its rule is the model's
    server.faults.read_4xx = 1.0
    ok, line = margin_mode_check(hv, book=True)
    assert not ok and line.startswith("margin mode unknown")


def test_liquidation_fill_carries_the_venues_mark(server, monkeypatch, sim: SimVenue) -> None:  # type: ignore[no-untyped-def]
    """A venue liquidation fill's ``liquidation.markPx`` reaches the Fill (P&L attribution measures the
    liquidation against it); ordinary fills have none."""
    hv = _venue(server, monkeypatch)
    f = sim.external_fill("perp", "buy", 0.5, "liquidation")
    (got,) = [x for x in hv.fills(0) if x.fill_id == f.fill_id]
    assert got.external == "liquidation" and got.liq_mark_px == pytest.approx(f.px)


def test_a_journal_started_before_margin_mode_resumes_unless_it_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """venue.margin_mode is new: a journal whose recorded [venue] lacks it had the default (cross), so resuming
    with the default is no change, and resuming isolated is refused like any [venue] change."""
    from basisctl.live.config import ConfigError
    from basisctl.live.journal import Journal
    from basisctl.live.runner import check_config_binding

    from .conftest import fixed_config

    cfg = fixed_config(tmp_path)
    j = Journal(tmp_path / "journal.sqlite")
    rec = {"sim": cfg.sim.model_dump(mode="json"), "venue": cfg.venue.model_dump(mode="json"), "account": None}
    del rec["venue"]["margin_mode"]  # as recorded by the previous release
    j.append("config", "config:first", rec, 0)
    check_config_binding(cfg, j)  # unchanged
    iso = fixed_config(tmp_path, venue={"kind": "sim", "dead_man_seconds": 0, "margin_mode": "isolated"})
    with pytest.raises(ConfigError, match=r"venue.margin_mode: 'cross' -> 'isolated'"):
        check_config_binding(iso, j)


def test_margin_mode_read_for_doctor_with_and_without_a_position(server, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``margin_mode()`` (what ``doctor`` reads): the position's leverage type, or with no position the
    account's setting for the asset (activeAssetData)."""
    from basisctl.live.doctor import read_margin_mode
    from basisctl.venues.hyperliquid.keys import test_wallet_address
    from basisctl.venues.hyperliquid.server import HLServer

    from .conftest import make_sim

    hv = _venue(server, monkeypatch)
    assert hv.margin_mode() == "cross" and read_margin_mode(hv) == "cross"
    hv.set_leverage(10, isolated=True)
    assert read_margin_mode(hv) == "isolated"
    flat = make_sim(tmp_path / "flat.sqlite", initial_spot_base=0.0, initial_perp_size=0.0,
                    initial_perp_usdc=100_000.0)
    srv = HLServer(flat, test_wallet_address()).start()
    try:
        fv = _venue(srv, monkeypatch)
        assert fv.margin_info().mode == "none" and fv.margin_mode() == "cross"
        fv.set_leverage(5, isolated=True)
        assert fv.margin_mode() == "isolated"
        assert [r["type"] for r in srv.requests] == ["updateLeverage"]
    finally:
        srv.stop()
        flat.close()
