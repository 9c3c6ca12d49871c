"""P&L attribution: a small journal checked by hand, the unexplained line, vault flows (NAV per share, TWR against
the product of sub-period returns), per-position grouping, and a paper run of the controller whose buckets are
checked against the venue's own records (the simulated venue's fills and funding), with the unexplained
remainder under its stated bound."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from basisctl.live.journal import Journal
from basisctl.pnl import UNEXPLAINED_BOUND, AttributionError, attribute


def snap(j: Journal, ts: int, S: float, P: float, sb: float, su: float, ps: float, pc: float, **kw: object) -> None:
    eq = sb * S + su + pc + ps * P
    j.append("cycle", f"cycle:{ts}:{kw.get('position', '')}", {"spot_mid": S, "mark_px": P, "spot_base": sb,
             "spot_usdc": su, "perp_size": ps, "perp_cash": pc, "equity_usd": eq, **kw}, ts)


def small_journal(path: Path, extra_usdc: float = 0.0, flow: float = 0.0) -> Journal:
    j = Journal(path)
    snap(j, 1000, 100.0, 100.0, 1.0, 0.0, -1.0, 200.0)
    j.append("plan", "plan:p1", {"plan": "p1", "spot_mid": 101.0, "mark_px": 100.5, "ts_ms": 2000}, 2000)
    for c, m in (("c1", "spot"), ("c2", "perp")):
        j.append("intent", f"intent:{c}", {"kind": "order", "plan": "p1", "cloid": c, "market": m}, 2000)
    j.append("fill", "fill:1", {"fill_id": "1", "cloid": "c1", "market": "spot", "side": "buy", "size": 0.5,
                                "px": 101.2, "fee_usd": 0.03, "fee_base": 0.0, "ts_ms": 2000}, 2000)
    j.append("fill", "fill:2", {"fill_id": "2", "cloid": "c2", "market": "perp", "side": "sell", "size": 0.5,
                                "px": 100.4, "fee_usd": 0.02, "fee_base": 0.0, "ts_ms": 2000}, 2000)
    j.append("funding", "funding:1", {"amount_usd": 0.7, "rate": 1e-4, "size": -1.5, "ts_ms": 2500}, 2500)
    j.append("transfer", "transfer:1", {"transfer_id": "t", "nonce": 1, "amount_usd": 10.0, "to_perp": False,
                                        "ts_ms": 2600}, 2600)
    if flow:
        j.append("flow", "flow:1", {"amount_usd": flow, "account": "spot"}, 2700)
    su = -0.5 * 101.2 - 0.03 + 10.0 + extra_usdc + flow
    pc = 200.0 + 0.5 * 100.4 - 0.02 + 0.7 - 10.0
    snap(j, 3000, 102.0, 101.0, 1.5, su, -1.5, pc)
    return j


def test_small_case_by_hand(tmp_path: Path) -> None:
    res = attribute(small_journal(tmp_path / "j.sqlite"))
    (p,) = res.positions
    b = p.buckets
    # plan marks (101, 100.5) vs (100, 100): q = 1 -> basis 1 x (1 - 0.5); snapshot (102, 101): q = 1.5 x 0.5
    assert b["basis"] == pytest.approx(0.5 + 0.75)
    assert b["directional"] == pytest.approx(0.0)
    assert b["slippage"] == pytest.approx(0.5 * (101.0 - 101.2) - 0.5 * (100.5 - 100.4))  # -0.10 - 0.05
    assert b["fees"] == pytest.approx(-0.05)
    assert b["funding"] == pytest.approx(0.7)
    assert b["transfers"] == 0.0 and b["liquidation"] == 0.0
    assert p.nav_end - p.nav_start == pytest.approx(1.75)
    assert abs(p.unexplained) < 1e-9
    assert p.counts["fills"] == 2 and p.counts["transfer_volume_usd"] == 10.0
    assert {r["bucket"] for r in res.ledger} == {"basis", "slippage", "fees", "funding"}
    assert sum(r["amount_usd"] for r in res.ledger) == pytest.approx(1.75)


def test_a_change_no_event_explains_is_unexplained_never_a_bucket(tmp_path: Path) -> None:
    (p,) = attribute(small_journal(tmp_path / "j.sqlite", extra_usdc=5.0)).positions
    assert p.unexplained == pytest.approx(5.0)
    assert sum(p.buckets.values()) == pytest.approx(1.75)  # the buckets did not move


def test_vault_flows_buy_shares_at_nav_and_twr_chains_subperiods(tmp_path: Path) -> None:
    (p,) = attribute(small_journal(tmp_path / "j.sqlite", flow=10.0)).positions
    assert p.flows == 10.0 and abs(p.unexplained) < 1e-9
    assert p.nav_end - p.nav_start - p.flows == pytest.approx(1.75)
    # NAV just before the deposit (marks 101 / 100.5): 1.5 x 101 - 40.63 + 240.88 - 1.5 x 100.5 = 201.0
    nav_before = 201.0
    assert p.shares == pytest.approx(200.0 + 10.0 / (nav_before / 200.0))
    assert p.twr == pytest.approx((nav_before / 200.0) * (p.nav_end / (nav_before + 10.0)) - 1.0)


def test_positions_are_attributed_separately_and_summed_for_the_book(tmp_path: Path) -> None:
    j = Journal(tmp_path / "book.sqlite")
    for name, k in (("BTC@hl", 1.0), ("ETH@hl", 2.0)):
        snap(j, 1000, 100.0, 100.0, k, 0.0, -k, 50.0 + 100 * k, position=name)
        j.append("funding", f"funding:{name}", {"amount_usd": k, "rate": 1e-4, "size": -k, "ts_ms": 1500,
                                                "position": name}, 1500)
        snap(j, 2000, 101.0, 100.8, k, 0.0, -k, 50.0 + 100 * k + k, position=name)
    res = attribute(j)
    assert [p.position for p in res.positions] == ["BTC@hl", "ETH@hl"]
    for p, k in zip(res.positions, (1.0, 2.0), strict=True):
        assert p.buckets["funding"] == k and p.buckets["basis"] == pytest.approx(k * (1.0 - 0.8))
        assert abs(p.unexplained) < 1e-9
    book = res.book()
    assert book["buckets_usd"]["funding"] == 3.0 and book["positions"] == 2
    assert book["pnl_usd"] == pytest.approx(3.0 + 3 * 0.2)


def test_a_journal_without_priced_snapshots_is_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path / "old.sqlite")
    j.append("cycle", "cycle:1", {"equity_usd": 1.0}, 1)
    with pytest.raises(AttributionError, match="no cycle snapshot with balances and prices"):
        attribute(j)


@pytest.mark.needs_data
def test_paper_run_buckets_match_the_venue_and_unexplained_is_bounded(tmp_path: Path) -> None:
    from basisctl.live.controller import Controller
    from basisctl.live.runner import calibrate_band

    from ..live.conftest import fixed_config, make_sim

    sim = make_sim(tmp_path / "venue.sqlite")
    cfg = fixed_config(tmp_path, band={"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45},
                       costs={"model": "book"})
    pol, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), 1e6)
    j = Journal(tmp_path / "journal.sqlite")
    ctl = Controller(cfg, sim, j, pol, sleep=sim.advance)
    ctl.run(max_cycles=48, advance=sim.advance)
    res = attribute(j)
    (p,) = res.positions
    g = j.genesis()
    assert g is not None and p.start_ms == g.ts_ms  # attribution starts at the priced genesis snapshot
    # independent sources: the venue's own fill and funding records since genesis
    assert p.buckets["funding"] == pytest.approx(sum(x.amount_usd for x in sim.funding_payments(g.ts_ms)), rel=1e-9)
    fills = [f for f in sim.fills(0) if f.fill_id not in set(g.payload["known_fills"])]
    assert fills, "the run must trade for the fee and slippage buckets to be tested"
    assert p.buckets["fees"] == pytest.approx(-sum(f.fee_usd for f in fills), rel=1e-9)
    assert p.buckets["slippage"] < 0  # IOC orders walk the book away from mid
    assert p.nav_end == pytest.approx(sim.state().equity, rel=1e-12)
    mean_nav = 0.5 * (p.nav_start + p.nav_end)
    assert abs(p.unexplained) <= UNEXPLAINED_BOUND * mean_nav
    sim.close()


def test_cli_json_by_position_and_exports(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from basisctl.cli.main import app

    small_journal(tmp_path / "j.sqlite").close()
    r = CliRunner().invoke(app, ["pnl", "--journal", str(tmp_path / "j.sqlite"), "--json", "--by", "position",
                                 "--out", str(tmp_path / "ledger.csv")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["book"]["pnl_usd"] == pytest.approx(1.75) and doc["positions"][0]["buckets_usd"]["funding"] == 0.7
    assert set(doc["book"]["buckets_usd"]) == {"funding", "basis", "directional", "fees", "slippage", "liquidation",
                                               "transfers"}
    led = pd.read_csv(tmp_path / "ledger.csv")
    assert len(led) == doc["out"]["rows"] and led["amount_usd"].sum() == pytest.approx(1.75)
    r = CliRunner().invoke(app, ["pnl", "--journal", str(tmp_path / "j.sqlite"), "--out", str(tmp_path / "l.parquet")])
    assert r.exit_code == 0 and len(pd.read_parquet(tmp_path / "l.parquet")) == len(led)
    r = CliRunner().invoke(app, ["pnl", "--journal", str(tmp_path / "missing.sqlite")])
    assert r.exit_code == 2 and "no such journal file" in r.output
    r = CliRunner().invoke(app, ["pnl", "--journal", str(tmp_path / "j.sqlite"), "--out", "x.xlsx"])
    assert r.exit_code == 2 and ".parquet or .csv" in r.output


@pytest.mark.needs_data
def test_dashboard_pnl_endpoint(tmp_path: Path) -> None:
    import socket
    import urllib.request

    from basisctl.live.api import serve_in_thread
    from basisctl.live.controller import Controller
    from basisctl.live.runner import calibrate_band

    from ..live.conftest import fixed_config, make_sim

    sim = make_sim(tmp_path / "venue.sqlite")
    cfg = fixed_config(tmp_path, band={"alpha_target": 0.35, "alpha_lower": 0.33, "alpha_upper": 0.45})
    pol, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), 1e6)
    ctl = Controller(cfg, sim, Journal(tmp_path / "journal.sqlite"), pol, sleep=sim.advance)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = serve_in_thread(ctl, port)
    try:
        ctl.run(max_cycles=4, advance=sim.advance)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pnl", timeout=10) as r:
            doc = json.loads(r.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert "P&amp;L attribution" in r.read().decode()
    finally:
        srv.stop()
        sim.close()
    direct = attribute(ctl.journal).book()
    assert doc["book"]["pnl_usd"] == pytest.approx(direct["pnl_usd"]) and doc["positions"][0]["position"] == ""
    assert doc["book"]["buckets_usd"]["fees"] < 0 and abs(doc["book"]["unexplained_usd"]) < 1e-6


def test_a_book_journal_with_scoped_positions(tmp_path: Path) -> None:
    """A book journal (kinds and keys prefixed '<id>/', as Journal.scoped writes them) is attributed per position,
    the genesis known-event ids matched within the position."""
    import sqlite3

    j = Journal(tmp_path / "book.sqlite")
    j.close()
    db = sqlite3.connect(tmp_path / "book.sqlite")

    def put(pos: str, kind: str, key: str, ts: int, payload: dict) -> None:
        db.execute("INSERT INTO entries(key, kind, ts_ms, wall_ms, payload) VALUES(?,?,?,?,?)",
                   (f"{pos}/{key}", f"{pos}/{kind}", ts, 0, json.dumps(payload)))

    for pos, k in (("btc-hl", 1.0), ("eth-hl", 3.0)):
        bal = {"spot_base": k, "spot_usdc": 0.0, "perp_size": -k, "perp_cash": 100.0 * k + 10.0}
        put(pos, "genesis", "genesis", 1000, {**bal, "equity": 10.0, "spot_mid": 100.0, "mark_px": 100.0,
                                              "known_fills": [], "known_funding": ["f0"], "known_transfers": []})
        put(pos, "funding", "funding:f0", 1000, {"amount_usd": 50.0, "rate": 0, "size": -k})  # in genesis
        put(pos, "funding", "funding:f1", 1500, {"amount_usd": k, "rate": 0, "size": -k})
        bal["perp_cash"] += k
        put(pos, "cycle", "cycle:1", 2000, {**bal, "equity_usd": 10.0 + k, "spot_mid": 100.0, "mark_px": 100.0})
    db.commit()
    db.close()
    res = attribute(Journal(tmp_path / "book.sqlite"))
    assert [p.position for p in res.positions] == ["btc-hl", "eth-hl"]
    assert [p.buckets["funding"] for p in res.positions] == [1.0, 3.0]
    assert all(abs(p.unexplained) < 1e-12 for p in res.positions)
    assert res.book()["pnl_usd"] == pytest.approx(4.0)


@pytest.mark.parametrize(("px", "off"), [(101.0, -0.5), (99.0, -0.5), (101.0, 0.5)])
def test_a_liquidation_is_never_credited_as_a_gain(tmp_path: Path, px: float, off: float) -> None:
    """Two liquidation buys of 0.5 closing a 1.0 short: L without the venue's liquidation mark, M with one at
    px + off. The perp is marked to the reference first (basis), the liquidation costs its fee and its price
    against the reference; a reference the fill beats (off > 0 for a buy) is not used: no gain."""
    j = Journal(tmp_path / "j.sqlite")
    snap(j, 1000, 100.0, 100.0, 1.0, 0.0, -1.0, 200.0)
    j.append("fill", "fill:L", {"fill_id": "L", "cloid": "", "market": "perp", "side": "buy", "size": 0.5, "px": px,
                                "fee_usd": 0.1, "fee_base": 0.0, "ts_ms": 2000, "external": "liquidation"}, 2000)
    j.append("fill", "fill:M", {"fill_id": "M", "cloid": "", "market": "perp", "side": "buy", "size": 0.5, "px": px,
                                "fee_usd": 0.0, "fee_base": 0.0, "ts_ms": 2000, "external": "liquidation",
                                "liq_mark_px": px + off}, 2000)
    snap(j, 3000, 100.0, px, 1.0, 0.0, 0.0, 200.0 - px - 0.1)
    (p,) = attribute(j).positions
    ref = px + off if off < 0 else px
    # L: P 100 -> px with q = 1; M: P px -> ref with q = 0.5; the snapshot: P ref -> px with q = 0
    assert p.buckets["basis"] == pytest.approx(-(px - 100.0) - 0.5 * (ref - px))
    assert p.buckets["liquidation"] == pytest.approx(-0.1 + 0.5 * (ref - px))
    assert p.buckets["liquidation"] <= -0.1
    assert abs(p.unexplained) < 1e-9 and p.counts["liquidation_fills"] == 2


def test_cli_flows_csv_explains_a_deposit_and_bad_rows_are_named(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from basisctl.cli.main import app

    small_journal(tmp_path / "j.sqlite", extra_usdc=10.0).close()  # 10 USDC arrived on spot, no journal event
    flows = tmp_path / "flows.csv"
    flows.write_text("ts,amount_usd\n2700,10\n")
    args = ["pnl", "--journal", str(tmp_path / "j.sqlite"), "--json"]
    without = json.loads(CliRunner().invoke(app, args).stdout)["book"]
    assert without["unexplained_usd"] == pytest.approx(10.0)
    r = CliRunner().invoke(app, [*args, "--flows", str(flows)])
    assert r.exit_code == 0, r.output
    book = json.loads(r.stdout)["book"]
    assert book["net_flows_usd"] == 10.0 and abs(book["unexplained_usd"]) < 1e-9
    assert book["pnl_usd"] == pytest.approx(1.75)
    flows.write_text("ts,amount_usd\n2700,ten\n")
    r = CliRunner().invoke(app, [*args, "--flows", str(flows)])
    assert r.exit_code == 2 and "row 2" in r.output and "amount_usd" in r.output
    flows.write_text("when,amount_usd\n2700,1\n")
    r = CliRunner().invoke(app, [*args, "--flows", str(flows)])
    assert r.exit_code == 2 and "column 'ts' missing" in r.output


def test_a_flow_outside_the_window_is_a_warning_never_silent(tmp_path: Path) -> None:
    from basisctl.warnings import collecting

    j = small_journal(tmp_path / "j.sqlite")
    with collecting() as col:
        (p,) = attribute(j, [{"ts_ms": 99_999, "amount_usd": 5.0}]).positions
    assert p.flows == 0.0 and any("outside the attributed window" in w.message for w in col.items)
