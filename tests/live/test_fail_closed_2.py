"""Issue 19, the second fault audit: each finding reproduced against the real Hyperliquid adapter over 127.0.0.1
(the local server ``venues/hyperliquid/server.py`` with its fault knobs) where the audit found it over HTTP.
Expected numbers are hand calculations from the set-up (7 BTC spot, -7 BTC perp at P0 = 89,897)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from basisctl.live.controller import Controller
from basisctl.live.runner import build
from basisctl.live.sim_venue import SimVenue
from tests.skips import extra_reason

from .conftest import fixed_config, have_sdk, make_sim

pytestmark = [pytest.mark.needs_data,
              pytest.mark.skipif(not have_sdk(), reason=extra_reason("live"))]
KEY_ENV = "BASISCTL_TEST_HL_KEY"


def _ctl(tmp: Path, venue: Any, **over: Any) -> Controller:
    b = build(fixed_config(tmp, **over), venue=venue)
    c = Controller(b.controller.cfg, venue, b.journal, b.controller.policy, sleep=getattr(venue, "advance", None))
    c._wall_sleep = lambda s: None
    return c


def _orders(ctl: Controller) -> list[dict[str, Any]]:
    return [e.payload for e in ctl.journal.entries("intent") if e.payload["kind"] == "order"]


def _transfers(ctl: Controller) -> list[dict[str, Any]]:
    return [e.payload for e in ctl.journal.entries("intent") if e.payload["kind"] == "transfer"]


def _alerts(ctl: Controller, kind: str) -> list[str]:
    return [e.payload["message"] for e in ctl.journal.entries("alert") if e.payload["kind"] == kind]


def _serve(sim: SimVenue, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import load_signer, test_private_key, test_wallet_address
    from basisctl.venues.hyperliquid.server import HLServer

    srv = HLServer(sim, test_wallet_address()).start()
    monkeypatch.setenv(KEY_ENV, test_private_key())
    hv = HyperliquidVenue(srv.url, test_wallet_address(), load_signer(KEY_ENV), "BTC", "UBTC/USDC", timeout_s=0.5,
                          weight_per_min=1e6, max_retries=1, clock="server")
    return srv, hv


@pytest.fixture
def hl(sim: SimVenue, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    srv, hv = _serve(sim, monkeypatch)
    yield srv, hv
    srv.stop()


# ------------------------------------------------------------------ N1: genesis is not special
def test_n1_missing_balance_at_genesis_is_unknown_not_zero(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """The audit: spotClearinghouseState without UBTC at the FIRST start was journaled as 0 and a 7 BTC perp
    buy ($629k) followed. Now: no genesis, no order, GENESIS_UNKNOWN, until a complete read arrives."""
    srv, hv = hl
    ctl = _ctl(tmp_path, hv, limits={"max_order_usd": 50_000.0})
    srv.faults.missing_field = 1.0
    waits: list[float] = []

    def wait(s: float) -> None:
        waits.append(s)
        if len(waits) == 3:
            srv.faults.missing_field = 0.0  # the venue answers completely again

    ctl._wall_sleep = wait
    ctl.start()
    assert len(waits) >= 3 and len(_alerts(ctl, "GENESIS_UNKNOWN")) >= 3
    g = ctl.journal.genesis()
    assert g is not None and g.payload["spot_base"] == 7.0 and g.payload["perp_size"] == -7.0
    assert g.payload["absent_adopted"] == []
    for _ in range(2):
        assert ctl.safe_cycle() is not None
    assert _orders(ctl) == [] and sim.stats()["orders"] == 0  # hedged: nothing to do


def test_n1_absent_balance_adopted_only_after_k_reads_spanning_t(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """A balance the venue really does not list (an empty token) is adopted as zero only after K = 3 reads."""
    sim = make_sim(tmp_path / "v.sqlite", initial_spot_base=0.0, initial_perp_size=0.0, initial_spot_usdc=0.0)
    srv, hv = _serve(sim, monkeypatch)
    try:
        srv.faults.missing_field = 1.0
        ctl = _ctl(tmp_path, hv, safety={"adopt_reads": 3, "adopt_seconds": 0.0})
        ctl.start()
        g = ctl.journal.genesis()
        assert g is not None and g.payload["spot_base"] == 0.0 and g.payload["perp_size"] == 0.0
        assert len(g.payload["absent_adopted"]) >= 3 and len(_alerts(ctl, "GENESIS_UNKNOWN")) == 2
    finally:
        srv.stop()
        sim.close()


# ------------------------------------------------------------------ N3: sign-aware guards
def test_n3_mangled_read_inside_a_repair_never_grows_the_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit: start at a +2 BTC gap (9 spot, -7 perp), reject the first repair, then report szi "-11" twice.
    The old code bought the perp twice: the gap grew from 2 to 6 BTC ($180k -> $539k)."""
    sim = make_sim(tmp_path / "v.sqlite", initial_spot_base=9.0)
    srv, hv = _serve(sim, monkeypatch)
    try:
        ctl = _ctl(tmp_path, hv)
        ctl.start()
        srv.faults.script.append("reject")  # the first repair order is refused
        srv.faults.mangle = {"clearinghouseState:assetPositions.0.position.szi": "-11"}
        srv.faults.mangle_after_exchange, srv.faults.mangle_reads = 1, 2
        ctl.safe_cycle()
        buys = [p for p in _orders(ctl) if p["market"] == "perp" and p["side"] == "buy"]
        assert buys == []
        st = sim.state()
        assert st.perp_size == -7.0 and st.hedge_gap == pytest.approx(2.0)  # the gap did not grow
        assert ctl.halted and ctl.halt_kind == "POSITION_MISMATCH" and _alerts(ctl, "REPAIR_REFUSED")
    finally:
        srv.stop()
        sim.close()


def test_n3_repair_that_would_grow_the_journal_gap_is_refused(tmp_path: Path) -> None:
    """The guard itself: journal gap +2 BTC, a read says -2 (szi -11). A perp buy of 2 shrinks the read's gap
    but grows the journal's to +4: refused (the old check compared sizes only: 2 <= 2 passed)."""
    import dataclasses

    sim = make_sim(tmp_path / "v.sqlite", initial_spot_base=9.0)
    ctl = _ctl(tmp_path, sim)
    ctl.start()
    bad = dataclasses.replace(sim.state(), perp_size=-11.0)
    ctl.repair_hedge(bad)
    assert _orders(ctl) == [] and ctl.wrong_direction_refused == 1
    assert "would not reduce the journal hedge gap +2.000000" in _alerts(ctl, "REPAIR_REFUSED")[0]
    sim.close()


def test_n3_caps_apply_to_the_journal_signed_position(tmp_path: Path, sim: SimVenue) -> None:
    """max_position_usd checked on the journal's legs too: a read that hides the short (perp 0) must not let a
    perp sell that grows the real short past the cap through."""
    import dataclasses

    ctl = _ctl(tmp_path, sim, limits={"max_position_usd": 700_000.0})
    ctl.start()
    ctl._cap_state = dataclasses.replace(sim.state(), perp_size=0.0)
    # the read: perp 0 -> 1 BTC ($90k) passes; the journal: short 7 -> 8 BTC x ~$89.9k = $719k > $700k
    r = ctl.send_order("t", "perp", "perp", "sell", 1.0, 80_000.0)
    assert r.verdict == "refused" and "journal position" in _alerts(ctl, "ORDER_CAPPED")[-1]
    assert sim.state().perp_size == -7.0


# ------------------------------------------------------------------ N2: one typed parse layer, never a crash
def _make_fill(sim: SimVenue) -> None:
    # a SELL: a manual spot buy with 0 USDC on spot left the venue at -899 USDC, a balance Hyperliquid cannot
    # report (spot totals are >= 0; since rvlive a negative one is itself a malformed read)
    sim.external_fill("spot", "sell", 0.01, "manual")


def _make_funding(sim: SimVenue) -> None:
    sim.advance(2 * 3600)


@pytest.mark.parametrize(
    ("setup", "key", "value", "field"),
    [
        (None, "l2Book:levels.0.0.px", "abc", "l2Book.levels[0][0].px"),
        (_make_fill, "userFillsByTime:0.sz", None, "userFillsByTime[0].sz"),
        (_make_fill, "userFillsByTime:0.px", "abc", "userFillsByTime[0].px"),
        (_make_fill, "userFillsByTime:0.time", "abc", "userFillsByTime[0].time"),
        (_make_funding, "userFunding:0.delta.usdc", "abc", "userFunding[0].delta.usdc"),
        (None, "metaAndAssetCtxs:1.0.markPx", None, "metaAndAssetCtxs[1][0].markPx"),
        (None, "spotClearinghouseState:balances.1.total", [], "spotClearinghouseState.balances[1].total"),
    ],
)
def test_n2_malformed_field_is_unknown_alerted_by_name_and_never_crashes(
        tmp_path: Path, hl: Any, sim: SimVenue, setup: Any, key: str, value: Any, field: str) -> None:
    srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    if setup is not None:
        setup(sim)
    srv.faults.mangle = {key: value}
    assert ctl.safe_cycle() is None  # the old code raised ValueError/TypeError out of the cycle
    msgs = _alerts(ctl, "STATE_UNKNOWN")
    assert msgs and field in msgs[-1], msgs
    assert _orders(ctl) == [] and _transfers(ctl) == []
    # the next start on the same data: retried with an alert, never a crash; a clean answer lets it through
    again = _ctl(tmp_path, hv)
    waits: list[float] = []

    def wait(s: float) -> None:
        waits.append(s)
        srv.faults.mangle = {}

    again._wall_sleep = wait
    again.start()
    assert waits and again.journal.genesis() is not None


# ------------------------------------------------------------------ N7: price sanity
@pytest.mark.parametrize(("bid", "what"), [("0.001", "from the perp mark"), ("200000", "crossed")])
def test_n7_absurd_or_crossed_book_moves_no_collateral(tmp_path: Path, hl: Any, sim: SimVenue, bid: str,
                                                       what: str) -> None:
    """The audit: a best bid of 0.001 halved the mid (alpha 0.32 -> 0.49 > alpha_U 0.40) and four $50k margin
    withdrawals and spot buys at half the market followed, with no alert. Now the read is unknown."""
    srv, hv = hl
    ctl = _ctl(tmp_path, hv, limits={"max_order_usd": 50_000.0})
    ctl.start()
    srv.faults.mangle = {"l2Book:levels.0.0.px": bid}
    for _ in range(3):
        assert ctl.safe_cycle() is None
        sim.advance(60)
    assert _transfers(ctl) == [] and _orders(ctl) == [] and sim.stats()["orders"] == 0
    got = _alerts(ctl, "PRICE_INSANE") + _alerts(ctl, "STATE_UNKNOWN")
    assert any(what in m for m in got), got
    srv.faults.mangle = {}
    assert ctl.safe_cycle() is not None


# ------------------------------------------------------------------ N8: slice limits from the fresh read
def test_n8_each_repair_slice_prices_off_its_own_read(tmp_path: Path) -> None:
    """2 BTC gap, max_order_usd 50k: slices of ~0.556 BTC. Each slice's limit is mark x (1 - 30 bps) of the read
    it was sized from; the old code widened it to 60 and 90 bps on the 2nd and 3rd slice though each filled."""
    sim = make_sim(tmp_path / "v.sqlite", initial_spot_base=9.0)
    ctl = _ctl(tmp_path, sim, limits={"max_order_usd": 50_000.0})
    ctl.start()
    ctl.safe_cycle()
    rep = [p for p in _orders(ctl) if p["plan"].startswith("repair")]
    assert len(rep) == 3
    for p in rep:
        mark = sim.replay.mid(p["created_ms"])
        assert p["limit_px"] / mark == pytest.approx(1 - 30e-4, abs=2e-6), p
    sim.close()


# ------------------------------------------------------------------ N5: failing storage fails safe
def test_n5_unwritable_alert_log_still_unwinds_then_halts(tmp_path: Path, sim: SimVenue,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The audit: a read-only alerts log made the process exit before unwinding a liquidated hedge ($180k
    naked). Now the alert goes to stderr, the unwind completes, then new risk halts (STORAGE_FAILED)."""
    ctl = _ctl(tmp_path, sim)
    ctl.start()
    (tmp_path / "afile").write_text("")
    ctl.alerts.log_path = tmp_path / "afile" / "alerts.log"  # parent is a file: every write fails (also as root)
    sim.external_fill("perp", "buy", 2.0, "liquidation")  # 2 BTC of the short liquidated: +2 BTC long delta
    assert ctl.safe_cycle() is not None
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0  # spot unwound to the hedged size
    assert st.spot_base == pytest.approx(5.0, abs=1e-5)
    assert ctl.halted and "STORAGE_FAILED" in ctl.alerts.counts
    err = capsys.readouterr().err
    assert "alert (not stored: alert log" in err and "NotADirectoryError" in err


def test_n5_journal_write_failure_halts_with_the_real_error(tmp_path: Path, sim: SimVenue,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A full disk (SQLite's max_page_count: SQLITE_FULL, as on a full file system): the old journal hid it
    behind 'cannot rollback - no transaction is active' and the cycle crashed. Now: halt, the real error."""
    ctl = _ctl(tmp_path, sim)
    ctl.start()
    pages = ctl.journal._db.execute("PRAGMA page_count").fetchone()[0]
    ctl.journal._db.execute(f"PRAGMA max_page_count = {pages}")
    from basisctl.live.journal import JournalWriteError

    with pytest.raises(JournalWriteError, match="database or disk is full"):  # fill the last free pages
        for i in range(10_000):
            ctl.journal.append("pad", f"pad:{i}", {"x": "y" * 500}, 0)
    for _ in range(3):
        ctl.safe_cycle()  # never raises
        sim.advance(3600)
    assert ctl.halted and ctl.halt_kind == "STORAGE_FAILED"
    assert "database or disk is full" in ctl.halt_reason and "\n" not in ctl.halt_reason
    assert "cannot rollback" not in ctl.halt_reason
    seen = capsys.readouterr().err + (tmp_path / "alerts.log").read_text()  # stderr when the journal refuses it
    assert any("STORAGE_FAILED" in ln and "database or disk is full" in ln for ln in seen.splitlines())
    assert sim.stats()["orders"] == 0


def test_n5_state_dir_turned_unwritable_loses_the_lock_without_a_crash(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the chaos suite's read-only state dir: the account lock's per-cycle check raised
    NotADirectoryError when the state dir was replaced by a file mid-run, and the controller process died
    mid-cycle. Now the lock counts as lost (one line: LOCK_LOST halts new risk); a start with the state dir
    unwritable is refused in one line."""
    from basisctl.live.lock import AccountLock, JournalLocked

    monkeypatch.setenv("BASISCTL_STATE_DIR", str(tmp_path / "state"))
    acct = "0x" + "ab" * 20
    lk = AccountLock("hyperliquid", acct).acquire()
    assert lk.problem() is None
    (tmp_path / "state").rename(tmp_path / "aside")
    (tmp_path / "state").write_text("not a folder")
    why = lk.problem()
    assert why is not None and why.startswith("lock lost:") and "\n" not in why
    with pytest.raises(JournalLocked, match=r"cannot create the .* lock folder"):
        AccountLock("hyperliquid", "0x" + "cd" * 20).acquire()
    lk.release()


def test_n9_output_path_under_a_file_is_refused_at_start_up(tmp_path: Path, sim: SimVenue) -> None:
    """The audit: a trade-log path whose parent is a file passed the start-up check and failed after the first
    trade. Now build() refuses it in one line naming the key."""
    from basisctl.live.config import ConfigError

    (tmp_path / "afile").write_text("")
    for key, over in (("trade_log", {"trade_log": "afile/trades.csv"}),
                      ("safety.alert_log", {"safety": {"alert_log": "afile/alerts.log"}}),
                      ("journal", {"journal": "afile/j.sqlite"})):
        with pytest.raises(ConfigError, match=f"'{key}'.*is a file, not a folder"):
            build(fixed_config(tmp_path, **over), venue=sim)


# ------------------------------------------------------------------ N10 / N11: config and secrets
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # a well-known example key


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"limits": {"max_order_usd": True}}, "limits.max_order_usd"),  # was read as $1
        ({"limits": {"max_order_usd": "50000"}}, "limits.max_order_usd"),  # was coerced
        ({"limits": {"max_order_usd": 1e308}}, "limits"),  # switched the cap off like inf did
        ({"limits": {"max_unhedged_usd": 1e308}}, "limits"),
        ({"venue": {"kind": "sim", "dead_man_seconds": 1e306}}, "venue"),  # OverflowError at the first cycle
        ({"safety": {"flatten_on_kill": 1}}, "safety.flatten_on_kill"),
        ({"limits": {"max_unhedged_cycles": 3.0}}, "limits.max_unhedged_cycles"),
    ],
)
def test_n11_strict_types_and_finite_ranges(tmp_path: Path, over: dict[str, Any], field: str) -> None:
    from basisctl.live.config import ConfigError

    with pytest.raises(ConfigError, match=f"field '{field}'"):
        fixed_config(tmp_path, **over)


def test_n11_every_documented_upper_bound_is_enforced(tmp_path: Path) -> None:
    """1e308 in each numeric key of [limits] is refused (the audit's values switched protections off)."""
    from basisctl.live.config import UPPER, ConfigError, LimitSection

    for name in LimitSection.model_fields:
        if name in UPPER or LimitSection.model_fields[name].annotation in (float, int):
            with pytest.raises(ConfigError, match=r"limits.*(documented range|less than)"):
                fixed_config(tmp_path, limits={name: 1e308 if LimitSection.model_fields[name].annotation is float
                                               else 10**18})


@pytest.mark.parametrize(
    ("account", "why"),
    [
        (KEY, "looks like a PRIVATE KEY"),
        ("0xabc", "0x account address"),
        ("my-account", "0x account address"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "checksum"),  # last letter's case flipped
    ],
)
def test_n10_account_must_be_an_address_and_keys_never_echo(tmp_path: Path, account: str, why: str) -> None:
    from basisctl.live.config import ConfigError

    with pytest.raises(ConfigError, match=why) as e:
        fixed_config(tmp_path, account=account)
    assert KEY[2:] not in str(e.value)
    for ok in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"):
        assert fixed_config(tmp_path, account=ok).account == ok  # EIP-55 reference vector, and lower case


def test_n10_secret_in_secret_env_is_refused_and_never_printed(tmp_path: Path) -> None:
    import subprocess
    import sys

    from basisctl.live.config import ConfigError

    with pytest.raises(ConfigError, match="looks like a private key") as e:
        fixed_config(tmp_path, venue={"kind": "sim", "secret_env": KEY})
    assert KEY[2:] not in str(e.value)
    (tmp_path / "c.toml").write_text(f'[venue]\nsecret_env = "{KEY}"\n')
    r = subprocess.run([sys.executable, "-m", "basisctl.cli.main", "run", "--config", str(tmp_path / "c.toml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "looks like a private key" in r.stderr
    assert KEY[2:] not in r.stderr + r.stdout


def test_n11_changed_account_on_resume_is_refused_like_venue(tmp_path: Path, sim: SimVenue) -> None:
    """The audit: a changed top-level account on resume was not caught; start-up retried forever as
    VENUE_UNAVAILABLE (the other account's reads). Now build() refuses it, naming the key."""
    from basisctl.live.config import ConfigError
    from basisctl.live.runner import _HELD

    a1, a2 = "0x" + "1" * 40, "0x" + "2" * 40
    b = build(fixed_config(tmp_path, account=a1), venue=sim)
    b.journal.close()
    for lk in list(_HELD.values()):
        lk.release()
    _HELD.clear()
    with pytest.raises(ConfigError, match=r"account: '0x1111.*' -> '0x2222.*'.*refusing to resume"):
        build(fixed_config(tmp_path, account=a2), venue=sim)


# ------------------------------------------------------------------ N6: one controller per account
def test_n6_foreign_order_on_the_account_halts_new_risk_and_repairs(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """A copied config with its own journal trades the same account: its fill carries a cloid this journal never
    sent. FOREIGN_CONTROLLER halts new risk and alerts; the gap it left is still brought back (protective)."""
    from basisctl.live.venue import OrderRequest, new_cloid

    _srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    other = new_cloid("deadbeef")
    sim.place_order(OrderRequest(other, "perp", "buy", 1.0, 200_000.0, sim.now_ms() + 60_000, True))  # 1 BTC off
    assert ctl.safe_cycle() is not None
    assert ctl.foreign_detected == 1 and ctl.halted and "FOREIGN_CONTROLLER" in ctl.alerts.counts
    assert other in _alerts(ctl, "FOREIGN_CONTROLLER")[0]
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0  # protective action done (spot unwound to the hedged size)
    ours = [p["cloid"] for p in _orders(ctl)]
    assert ours and all(c[2:10] == ctl.cloid_prefix for c in ours)  # our orders carry the journal's prefix


def test_n6_liquidation_and_adl_fills_are_external_not_foreign(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    _srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    sim.external_fill("perp", "buy", 0.5, "adl")
    ctl.safe_cycle()
    assert ctl.foreign_detected == 0 and "FOREIGN_CONTROLLER" not in ctl.alerts.counts
    assert "EXTERNAL_POSITION_CHANGE" in ctl.alerts.counts


def test_n6_second_controller_on_the_same_account_is_refused(tmp_path: Path, hl: Any) -> None:
    """Two configs, two journals, one account: the account lock (venue + address, user state dir) refuses the
    second at start-up, naming the holder's PID."""
    from basisctl.live.lock import AccountLock, JournalLocked
    from basisctl.venues.hyperliquid.keys import test_wallet_address

    _srv, hv = hl
    holder = AccountLock("hyperliquid", test_wallet_address()).acquire()  # the first controller (another fd)
    try:
        cfg = fixed_config(tmp_path, venue={"kind": "hyperliquid", "dead_man_seconds": 0},
                           account=test_wallet_address().lower(), journal="second.sqlite")
        with pytest.raises(JournalLocked, match=r"account 0x.*in use by another controller \(PID \d+"):
            build(cfg, venue=hv)
    finally:
        holder.release()


def test_n9_trade_log_has_one_writer(tmp_path: Path, sim: SimVenue) -> None:
    """Two controllers (two journals) writing one trades.csv lost the second writer's rows. Now the trade log is
    locked: the second is refused at start-up."""
    from basisctl.live.lock import JournalLocked, TradeLogLock

    holder = TradeLogLock(tmp_path / "trades.csv").acquire()
    try:
        with pytest.raises(JournalLocked, match="trade log is in use"):
            build(fixed_config(tmp_path, journal="other.sqlite"), venue=sim)
    finally:
        holder.release()


# ------------------------------------------------------------------ N4: unexplained changes escalate
def _cycles(ctl: Controller, sim: SimVenue, n: int, step_s: float = 30.0) -> None:
    for _ in range(n):
        ctl.safe_cycle()
        sim.advance(step_s)


def _started_then_silent_change(tmp_path: Path, hl: Any, sim: SimVenue, perp_size: float) -> Any:
    """A started controller on the local server whose venue perp position then changes to ``perp_size`` [BTC]
    without a fill (a silent change)."""
    ctl = _ctl(tmp_path, hl[1])
    ctl.start()
    with sim._tx():
        sim._put("perp_size", perp_size)
    return ctl


def test_n4_silent_position_change_is_adopted_after_k_reads_and_unwound(tmp_path: Path, hl: Any,
                                                                       sim: SimVenue) -> None:
    """The audit: a silent change (1 BTC of the short gone, no fill) left $90k open with REPAIR_REFUSED every
    cycle and no escalation. Now: past single_leg_timeout_s (60 s) and 3 agreeing reads over >= 30 s the venue's
    balances are adopted (journaled with those reads), spot is unwound to the hedged size, new risk halts."""
    ctl = _started_then_silent_change(tmp_path, hl, sim, -6.0)
    _cycles(ctl, sim, 6)
    adopt = [e.payload for e in ctl.journal.entries("adopt")]
    assert len(adopt) == 1 and adopt[0]["delta"] == {"perp_size": pytest.approx(1.0)}
    assert len(adopt[0]["reads"]) == 3 and adopt[0]["lasted_s"] > 60.0
    st = sim.state()
    assert st.spot_base == pytest.approx(6.0, abs=1e-5) and abs(st.hedge_gap) * st.spot_mid <= 50.0
    assert ctl.halted and ctl.halt_kind == "UNEXPLAINED_CHANGE" and ctl.ack_required
    assert ctl.silent_changes == ctl.silent_changes_resolved == 1
    assert len(_alerts(ctl, "POSITION_MISMATCH")) >= 1


def test_n4_a_late_fill_lifts_the_mismatch_halt_it_caused(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """The audit: a fill that is only late halted new risk for the life of the process. Now agreement lifts
    POSITION_MISMATCH, and the gap the fill left is repaired."""
    srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    srv.faults.hide_fills = True
    ctl.send_order("t", "perp", "perp", "sell", 0.1, 80_000.0)  # its fill is not published yet
    ctl.safe_cycle()
    assert ctl.halted and ctl.halt_kind == "POSITION_MISMATCH"
    srv.faults.hide_fills = False
    ctl.safe_cycle()
    assert not ctl.halted and _alerts(ctl, "MISMATCH_RESOLVED")
    assert ctl.silent_changes == ctl.silent_changes_resolved == 1
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0


def test_n4_late_adl_fill_explains_an_adopted_change(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """An ADL fill published late: the change is adopted (and unwound) first; when the fill arrives it explains
    the adoption - reversed in the journal, not unwound twice, the UNEXPLAINED_CHANGE halt lifted."""
    srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    srv.faults.hide_fills = True
    sim.external_fill("perp", "buy", 1.0, "adl")
    _cycles(ctl, sim, 6)
    assert ctl.halt_kind == "UNEXPLAINED_CHANGE" and sim.state().spot_base == pytest.approx(6.0, abs=1e-5)
    srv.faults.hide_fills = False
    _cycles(ctl, sim, 2)
    assert ctl.journal.has(next(e.key for e in ctl.journal.entries("adopt")).replace("adopt:", "adopt-reversal:"))
    assert _alerts(ctl, "UNEXPLAINED_CHANGE_EXPLAINED") and not ctl.halted
    unwinds = [p for p in _orders(ctl) if p["leg"] == "unwind"]
    assert sum(p["size"] for p in unwinds) == pytest.approx(1.0, abs=1e-5)  # unwound once, not twice
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0  # (new risk allowed again: a rebalance may follow)
    assert "EXTERNAL_POSITION_CHANGE" not in ctl.alerts.counts


def test_n4_our_own_late_fill_after_an_adoption_is_counted_once(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """The 500-kill chaos run's unresolved mismatch: our own perp fill published late (hidden by the venue) past
    the adoption of the change it made. The adopted delta already holds it, so booking the fill as well counted
    it twice: the journal then held -7.2 BTC of perp against the venue's -7.1 (a mismatch of the fill's size the
    other way, unresolved at the final audit). Now the late fill is netted out of the adoption: journal and venue
    agree, the adoption is reversed, no second adoption and no second unwind."""
    from basisctl.live.reconcile import position_mismatches

    srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    srv.faults.hide_fills = True
    ctl.send_order("t", "perp", "perp", "sell", 0.1, 80_000.0)  # filled now, published late
    _cycles(ctl, sim, 6)
    adopt = [e for e in ctl.journal.entries("adopt") if e.key.startswith("adopt:")]
    assert len(adopt) == 1 and adopt[0].payload["delta"]["perp_size"] == pytest.approx(-0.1)
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0  # the adopted change was brought back to a hedged book
    srv.faults.hide_fills = False
    _cycles(ctl, sim, 1)  # the fill is published: journal and venue agree at once (not 0.1 BTC apart)
    assert not position_mismatches(ctl.journal.derived_position().to_dict(), sim.state(settle=False))
    assert not ctl._mismatch
    _cycles(ctl, sim, 5)
    assert ctl.journal.has(adopt[0].key.replace("adopt:", "adopt-reversal:"))
    assert len([e for e in ctl.journal.entries("adopt") if e.key.startswith("adopt:")]) == 1  # no second one
    assert _alerts(ctl, "UNEXPLAINED_CHANGE_EXPLAINED") and not ctl._mismatch
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0


def test_n4_an_unstable_read_is_not_an_agreement(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """The chaos run's other unresolved silent change: a cycle whose position check was skipped (UNSTABLE_READ:
    events arrived during every read) was taken as journal and venue AGREEING - the disagreement episode ended
    (its K agreeing reads began again), POSITION_MISMATCH was lifted and the venue's gap 'repaired' against a
    journal that disagreed with it. Now the skipped check is no evidence either way: the episode stays open, the
    halt stands, no repair order; the adoption follows on the next complete reads."""
    ctl = _started_then_silent_change(tmp_path, hl, sim, -6.5)
    _cycles(ctl, sim, 1)
    assert ctl.halted and ctl.halt_kind == "POSITION_MISMATCH"
    real = ctl.ingest
    ctl.ingest = lambda: real() + 1  # type: ignore[method-assign]  # events keep arriving: every read unstable
    _cycles(ctl, sim, 1)
    ctl.ingest = real  # type: ignore[method-assign]
    assert ctl.alerts.counts.get("UNSTABLE_READ", 0) >= 1
    assert not [e for e in ctl.journal.entries("mm") if e.key.startswith("mm:end:")]
    assert ctl.halted and not _alerts(ctl, "MISMATCH_RESOLVED") and sim.stats()["orders"] == 0
    _cycles(ctl, sim, 4)
    adopt = [e.payload for e in ctl.journal.entries("adopt")]
    assert len(adopt) == 1 and adopt[0]["delta"] == {"perp_size": pytest.approx(0.5)}
    st = sim.state()
    assert abs(st.hedge_gap) * st.spot_mid <= 50.0


def test_n4_perp_gone_from_the_venue_read_escalates_not_unknown_forever(tmp_path: Path, hl: Any,
                                                                         sim: SimVenue) -> None:
    """Found by the 500-kill chaos run: the short was liquidated to zero while the controller was down, and a
    flat perp is simply absent from clearinghouseState.assetPositions. Absent while the journal holds -7 BTC it
    stayed UNKNOWN for ever - every cycle (and start-up) skipped, 7 BTC of spot naked. Now: absent in K = 3
    consecutive reads spanning T it reads as zero (POSITION_ABSENT), the disagreement is adopted like any
    silent change and spot is unwound toward the hedged size."""
    _srv, hv = hl
    ctl = _ctl(tmp_path, hv)
    ctl.start()
    with sim._tx():
        sim._put("perp_size", 0.0)  # gone: the server leaves the position out of assetPositions
    _cycles(ctl, sim, 8)
    assert ctl.alerts.counts.get("POSITION_ABSENT", 0) >= 3
    adopt = [e.payload for e in ctl.journal.entries("adopt") if "perp_size" in e.payload.get("delta", {})]
    assert len(adopt) == 1 and adopt[0]["delta"]["perp_size"] == pytest.approx(7.0)
    unwinds = [o for o in _orders(ctl) if o["leg"] == "unwind"]
    assert unwinds and all(o["market"] == "spot" and o["side"] == "sell" for o in unwinds)
    assert sim.state().spot_base < 7.0


# ------------------------------------------------------------------ N12: key roles; drawdown circuit breaker
def test_n12_key_roles_are_checked_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An agent (API) key cannot sign usdClassTransfer, which every rebalance needs: refused at start-up in one
    line, before any journal; the main key is accepted and the line says what it can do."""
    from basisctl.venues.hyperliquid.keys import KeyError_, key_roles, load_signer, test_private_key
    from basisctl.venues.hyperliquid.keys import test_wallet_address as addr

    monkeypatch.setenv(KEY_ENV, test_private_key())
    signer = load_signer(KEY_ENV)
    assert "main key" in key_roles(signer, addr().lower()) and "usdClassTransfer" in key_roles(signer, addr())
    other = "0x" + "3" * 40
    with pytest.raises(KeyError_, match=r"agent/API key.*usdClassTransfer"):
        key_roles(signer, other)
    cfg = fixed_config(tmp_path, mode="live", account=other,
                       venue={"kind": "hyperliquid", "secret_env": KEY_ENV, "base_url": "http://127.0.0.1:9"})
    with pytest.raises(KeyError_, match="not account"):
        build(cfg, live=True)
    assert not (tmp_path / "journal.sqlite").exists()  # refused before a journal was made


def test_drawdown_circuit_breaker_halts_and_alerts(tmp_path: Path, sim: SimVenue) -> None:
    """max_drawdown_pct = 0.01 %: a round trip of 1 BTC spot (fees 7 bps x 2 x ~$90k ~ $126 of ~$929k equity,
    0.0135 %) trips it."""
    ctl = _ctl(tmp_path, sim, limits={"max_drawdown_pct": 0.01})
    ctl.start()
    assert ctl.safe_cycle() is not None and not ctl.halted
    st = sim.state()
    ctl.send_order("t", "spot", "spot", "sell", 1.0, st.spot_mid * 0.99)
    ctl.send_order("t", "spot", "spot", "buy", 1.0, st.spot_mid * 1.01)
    ctl.safe_cycle()
    assert ctl.halted and ctl.halt_kind == "DRAWDOWN" and ctl.ack_required
    assert "below its peak" in _alerts(ctl, "DRAWDOWN")[0]


def test_n4_agreeing_reads_count_across_restarts(tmp_path: Path, hl: Any, sim: SimVenue) -> None:
    """A controller restarted after every cycle (the chaos suite's life) still reaches K agreeing reads: the
    episode's reads are journaled (kind 'mm')."""
    _started_then_silent_change(tmp_path, hl, sim, -6.5)
    hv = hl[1]
    for _ in range(6):
        again = _ctl(tmp_path, hv)
        again.start()
        again.safe_cycle()
        sim.advance(30)
    adopt = [e.payload for e in again.journal.entries("adopt")]
    assert len(adopt) == 1 and adopt[0]["delta"] == {"perp_size": pytest.approx(0.5)}
    assert abs(sim.state().hedge_gap) * sim.state().spot_mid <= 50.0
