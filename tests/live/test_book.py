"""Books (issue 22 item 1): the scoped journal, the book file, book limits, bulkheads, the kill switch, crash
recovery of every position from the one journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from basisctl.live.book.config import BookLimits, load_book, position_config, sim_max_leverage
from basisctl.live.book.limits import Exposure, new_risk_refusal, opening_refusal
from basisctl.live.config import ConfigError
from basisctl.live.journal import Journal
from tests.live.book_helpers import write_book

# ---------------------------------------------------------------------------------------------- journal scoping


def test_scoped_views_isolate_positions_in_one_file(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    a, b = j.scoped("a"), j.scoped("b")
    assert a.append("genesis", "genesis", {"x": 1}, 1) and b.append("genesis", "genesis", {"x": 2}, 2)
    assert not a.append("genesis", "genesis", {"x": 9}, 3)  # idempotent per position
    assert a.genesis().payload == {"x": 1} and b.genesis().payload == {"x": 2}
    assert j.genesis() is None  # the unscoped view never sees a position's rows
    a.append_intent("intent:o1", {"kind": "order"}, 5)
    b.append_intent("intent:o1", {"kind": "order"}, 5)
    b.append("result", "result:o1", {"ok": True}, 6)
    assert [e.key for e in a.open_intents()] == ["intent:o1"] and b.open_intents() == []
    assert a.count("intent") == 1 and j.count("intent") == 0
    assert [e.kind for e in a.entries()] == ["genesis", "intent"]  # stripped kinds, own rows only
    assert {e.kind for e in j.entries()} == set()
    pa = a.cloid_prefix()
    b.cloid_prefix()
    assert pa == j.scoped("a").cloid_prefix()  # each position draws its own, kept in the journal
    names = {r[0] for r in j._db.execute("SELECT name FROM counters")}
    assert {"a/cloid_prefix", "b/cloid_prefix"} <= names and "cloid_prefix" not in names
    n1 = a.append_intent("intent:t1", {"kind": "transfer"}, 7, need_nonce=True)["nonce"]
    n2 = b.append_intent("intent:t1", {"kind": "transfer"}, 7, need_nonce=True)["nonce"]
    assert n2 > n1  # one monotonic nonce stream per journal file
    a.close()  # a view does not close the shared connection
    assert b.count("intent") == 2
    raw = [r[0] for r in j._db.execute("SELECT kind FROM entries ORDER BY seq")]
    assert raw[:2] == ["a/genesis", "b/genesis"]
    with pytest.raises(Exception, match="journal scope"):
        j.scoped("a/b")
    j.close()


def test_unscoped_journal_reads_as_before(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    j.append("genesis", "genesis", {"spot_base": 1.0, "spot_usdc": 0.0, "perp_size": -1.0, "perp_cash": 10.0}, 1)
    j.append_intent("intent:x", {"kind": "order"}, 2)
    assert [e.key for e in j.entries()] == ["genesis", "intent:x"]
    assert [e.key for e in j.open_intents()] == ["intent:x"]
    raw = [tuple(r) for r in j._db.execute("SELECT key, kind FROM entries ORDER BY seq")]
    assert raw == [("genesis", "genesis"), ("intent:x", "intent")]  # stored exactly as before books existed
    assert j.derived_position().perp_cash == 10.0
    j.close()


# ---------------------------------------------------------------------------------------------- the book file


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('[[positions]]\nid = "a"\nasset = "BTC"\ncapital_usd = 1.0\nweight = 0.5\n', "positions.0"),
        ('[[positions]]\nid = "a"\nasset = "BTC"\nweight = 0.5\n', "(top level)"),  # weight without capital
        ('capital_usd = 1e6\n[[positions]]\nid = "a"\nasset = "BTC"\nweight = 0.7\n[[positions]]\nid = "b"\n'
         'asset = "ETH"\nweight = 0.7\n', "(top level)"),
        ('[[positions]]\nid = "a"\nasset = "BTC"\nvenue = "nowhere"\ncapital_usd = 1.0\n', "positions.0.venue"),
        ('[[positions]]\nid = "a b"\nasset = "BTC"\ncapital_usd = 1.0\n', "positions.0.id"),
        ('[[positions]]\nid = "a"\nasset = "BTC"\ncapital_usd = 1.0\n[positions.overrides]\njournal = "x"\n',
         "positions.0.overrides"),
        ('[[positions]]\nid = "a"\nasset = "BTC"\ncapital_usd = 1.0\n[limits]\nmax_venue_notional_usd = '
         '{hyperliquid = -5}\n', "limits.max_venue_notional_usd"),
        ('mode = "live"\n[[positions]]\nid = "a"\nasset = "BTC"\ncapital_usd = 1.0\n', "mode"),
    ],
)
def test_bad_book_is_one_line_naming_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    p = tmp_path / "book.toml"
    p.write_text(body)
    with pytest.raises(ConfigError) as e:
        load_book(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and f"field '{field}" in msg, msg


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    p = tmp_path / "book.toml"
    p.write_text('[[positions]]\nid = "a"\nasset = "BTC"\ncapital_usd = 1.0\n'
                 '[[positions]]\nid = "a"\nasset = "ETH"\ncapital_usd = 1.0\n')
    with pytest.raises(ConfigError, match="duplicate position id"):
        load_book(p)


def test_position_config_wiring_and_venue_margin_rule(tmp_path: Path) -> None:
    book = load_book(write_book(tmp_path))
    cfgs = {p.id: position_config(book, p) for p in book.positions}
    assert {str(c.resolve(c.journal)) for c in cfgs.values()} == {str(tmp_path / "book.sqlite")}  # ONE journal
    assert len({c.sim.state_file for c in cfgs.values()}) == 3 and len({c.trade_log for c in cfgs.values()}) == 3
    bn = cfgs["btc-bn"]
    assert bn.band.margin_venue == "binance" and bn.band.funding_venue == "binance"
    assert bn.sim.capital_usd == pytest.approx(1e6) and bn.costs.perp_fee_bps == 5.0
    # Binance BTC: theta_F = 1 / L_max = 1/125; the sim's maintenance notional / (2 L) must equal it
    theta, _lev = sim_max_leverage("binance", "BTC", 1e6)
    assert theta == pytest.approx(1 / 125) and 1 / (2 * bn.sim.max_leverage) == pytest.approx(1 / 125)
    hl = cfgs["btc-hl"]
    assert 1 / (2 * hl.sim.max_leverage) == pytest.approx(1 / 80)  # Hyperliquid BTC 40x, c = 1/2
    # a short's liquidation price with that theta: cash / (|s| (1 + theta)) (hand calculation)
    from basisctl.live.venue import VenueState

    st = VenueState(ts_ms=0, spot_mid=100.0, mark_px=100.0, oracle_px=100.0, spot_base=10.0, spot_usdc=0.0,
                    perp_size=-10.0, perp_cash=1_300.0, max_leverage=bn.sim.max_leverage, funding_rate=0.0)
    assert st.liquidation_px == pytest.approx(1_300.0 / (10.0 * 1.008))


# ---------------------------------------------------------------------------------------------- book limits


def _rows(*g: float | None) -> list[Exposure]:
    ids = ["a", "b", "c"]
    venues = ["hyperliquid", "hyperliquid", "binance"]
    assets = ["BTC", "ETH", "BTC"]
    return [Exposure(ids[i], venues[i], assets[i], x, 0.0 if x is not None else None) for i, x in enumerate(g)]


def test_limits_gate_by_hand() -> None:
    lim = BookLimits(max_gross_notional_usd=10e6, max_venue_notional_usd={"hyperliquid": 6e6},
                     max_asset_notional_usd={"BTC": 5e6}, max_unhedged_usd=1e5)
    rows = _rows(3e6, 2e6, 1e6)  # total 6e6, hyperliquid 5e6, BTC 4e6
    assert new_risk_refusal(lim, rows, "a", 0.9e6) is None  # HL 5.9e6, BTC 4.9e6, total 6.9e6
    assert "hyperliquid gross notional $6,100,000" in str(new_risk_refusal(lim, rows, "b", 1.1e6))
    assert "BTC gross notional $5,100,000" in str(new_risk_refusal(lim, rows, "c", 1.1e6))
    assert "book gross notional $10,500,000" in str(new_risk_refusal(BookLimits(max_gross_notional_usd=10e6),
                                                                      rows, "c", 4.5e6))
    assert "unknown" in str(new_risk_refusal(lim, _rows(3e6, None, 1e6), "a", 1.0))  # unknown is never zero
    hot = [Exposure("a", "hyperliquid", "BTC", 1e6, 6e4), Exposure("b", "binance", "ETH", 1e6, 5e4)]
    assert "book unhedged $110,000" in str(new_risk_refusal(lim, hot, "a", 1.0))
    assert opening_refusal(BookLimits(max_gross_notional_usd=5e6), rows) is not None
    assert opening_refusal(BookLimits(), rows) is None


def test_gate_blocks_buy_basis_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.live.book.runner import PositionController
    from basisctl.live.controller import Controller
    from basisctl.model.policy import Action, Decision, Reason

    sent: list[Action] = []
    monkeypatch.setattr(Controller, "execute", lambda self, d, st, curves: sent.append(d.action))
    ctl = object.__new__(PositionController)
    ctl.journal = Journal(tmp_path / "j.sqlite").scoped("a")
    calls: list[Action] = []

    def gate(c: Any, d: Decision, st: Any) -> str | None:
        calls.append(d.action)
        return "book gross notional over its cap"

    ctl.gate = gate
    import threading
    from collections import deque

    from basisctl.live.alerts import Alerts

    ctl.alerts = Alerts(ctl.journal, None)
    ctl._lock = threading.Lock()
    ctl.recent_decisions = deque()

    class St:
        ts_ms = 1

    def dec(a: Action) -> Decision:
        return Decision(a, Reason.IN_BAND, 0.1, 1e5, 1e6, 1e5, "test")

    for a in (Action.LOWER_COLLATERAL, Action.RAISE_COLLATERAL, Action.EMERGENCY):
        ctl.execute(dec(a), St(), (None, None))  # type: ignore[arg-type]
    assert calls == [Action.LOWER_COLLATERAL]  # protective actions never consult the gate
    assert sent == [Action.RAISE_COLLATERAL, Action.EMERGENCY]
    assert ctl.journal.count("refusal") == 1 and ctl.alerts.counts == {"BOOK_LIMIT": 1}


def test_opening_limit_refuses_the_book(tmp_path: Path) -> None:
    from basisctl.live.book.runner import build_book

    p = write_book(tmp_path, limits="max_gross_notional_usd = 2000000.0")  # 3 x 2 x 0.7 x 1e6 = 4.2e6 to open
    with pytest.raises(ConfigError, match="opening the book breaks a limit: book gross notional"):
        build_book(load_book(p), str(p))


# ---------------------------------------------------------------------------------------------- running a book

@pytest.mark.needs_data
def test_bulkhead_one_position_raising_and_one_halted(tmp_path: Path) -> None:
    """Position 1 is halted (persisted, awaiting ack) and position 2's cycle raises every time: position 3 still
    re-hedges an external liquidation in the very book cycle that detects it, and positions 1 and 2's failures are
    journaled under their own ids."""
    from basisctl.live.book.runner import build_book

    p = write_book(tmp_path)
    b = build_book(load_book(p), str(p))
    b.start()
    b.cycle()
    one, two, three = b.positions
    one.ctl._halt("EXTERNAL_POSITION_CHANGE", "test: awaiting ack", persist=True)

    def boom() -> Any:
        raise RuntimeError("injected bug")

    two.ctl.safe_cycle = boom  # type: ignore[method-assign]
    three.venue.external_fill("perp", "buy", 0.5, "liquidation")
    before = three.ctl.cycles
    rec = b.cycle()
    assert rec["btc-bn"]["ran"] and three.ctl.cycles == before + 1
    assert three.ctl.journal.count("external") == 2  # detected ... and re-hedged in the same cycle
    fid = next(e.payload["fill_id"] for e in three.ctl.journal.entries("external"))
    assert three.ctl.journal.has(f"rehedged:{fid}")
    assert three.ctl.last_state.unhedged_usd <= 50.0
    assert rec["eth-hl"]["error"].startswith("cycle: RuntimeError: injected bug") and two.ctl.halt_kind == "CYCLE_ERROR"
    assert two.ctl.journal.count("error") == 1 and three.ctl.journal.count("error") == 0
    assert rec["btc-hl"]["ran"] and rec["btc-hl"]["halted"]
    # the book kill switch: every position halts new risk at its next cycle; repairs go on
    b.kill("test")
    b.cycle()
    assert all(bp.ctl.halted for bp in b.positions)
    assert "KILL_SWITCH" in one.ctl.halt_kinds and "KILL_SWITCH" in three.ctl.halt_kinds  # two keeps raising
    b.journal.close()


@pytest.mark.needs_data
def test_ack_of_one_position_lifts_only_its_halt(tmp_path: Path) -> None:
    from basisctl.live.book.control import acknowledge_position
    from basisctl.live.book.runner import build_book

    p = write_book(tmp_path, n=2)
    b = build_book(load_book(p), str(p))
    b.start()
    for bp in b.positions:
        bp.ctl._halt("EXTERNAL_POSITION_CHANGE", "test", persist=True)
    msg = acknowledge_position(p, "eth-hl", "test")
    assert "acknowledged 1 halt(s)" in msg
    b.cycle()
    assert [bp.ctl.halted for bp in b.positions] == [True, False]
    with pytest.raises(ConfigError, match="no position 'zzz'"):
        acknowledge_position(p, "zzz")
    b.journal.close()


_CRASH_RUN = """
import sys
from basisctl.live.book.config import load_book
from basisctl.live.book.runner import build_book
b = build_book(load_book(sys.argv[1]), sys.argv[1])
b.run(max_cycles=40)
"""


@pytest.mark.needs_data
@pytest.mark.parametrize("point", ["before_send:perp@1", "after_send:spot@1", "after_send:transfer@1"])
def test_kill_mid_cycle_recovers_every_position(tmp_path: Path, point: str) -> None:
    """SIGKILL at a crash point inside some position's rebalance; the restart recovers every position from the
    one journal: no open intent, journal-derived balances equal each venue's, hedged."""
    from basisctl.live.book.runner import build_book
    from basisctl.live.reconcile import position_mismatches

    p = write_book(tmp_path, lo=0.299, hi=0.301)  # a narrow band: the first price move rebalances
    env = dict(os.environ, BASISCTL_CRASHPOINT=point, BASISCTL_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-c", _CRASH_RUN, str(p)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    j = Journal(tmp_path / "book.sqlite")
    assert sum(len(j.scoped(i).open_intents()) for i in ("btc-hl", "eth-hl", "btc-bn")) >= 1  # killed in flight
    j.close()
    b = build_book(load_book(p), str(p))
    b.run(max_cycles=3)
    for bp in b.positions:
        assert bp.ctl.journal.open_intents() == []
        st = bp.venue.state(settle=False)
        assert position_mismatches(bp.ctl.journal.derived_position().to_dict(), st) == {}
        assert st.unhedged_usd <= 50.0
        assert bp.ctl.journal.genesis() is not None and bp.ctl.cycles == 3
    b.journal.close()


@pytest.mark.needs_data
def test_a_venue_down_at_start_up_does_not_hold_the_others_back(tmp_path: Path) -> None:
    from basisctl.live.book.runner import build_book
    from basisctl.live.venue import VenueUnavailable

    p = write_book(tmp_path, n=2)
    b = build_book(load_book(p), str(p))
    down = b.positions[0]
    real = down.venue.state

    def dead(*a: Any, **k: Any) -> Any:
        raise VenueUnavailable("test: venue down")

    down.venue.state = dead  # type: ignore[method-assign]
    b.start()
    rec = b.cycle()
    assert not down.started and rec["btc-hl"]["ran"] is False
    assert b.positions[1].started and rec["eth-hl"]["ran"] and b.positions[1].ctl.cycles == 1
    assert down.ctl.alerts.counts.get("VENUE_UNAVAILABLE", 0) >= 1
    down.venue.state = real  # type: ignore[method-assign]
    rec = b.cycle()
    assert down.started and rec["btc-hl"]["ran"] and b.positions[1].ctl.cycles == 2
    b.journal.close()
