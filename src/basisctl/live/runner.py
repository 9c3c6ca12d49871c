"""Wiring: config -> band policy (fixed or calibrated) -> venue -> journal -> Controller."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from basisctl.errors import BasisctlError
from basisctl.live.backoff import Backoff
from basisctl.live.calibration import calibrate_band
from basisctl.live.config import ConfigError, ControllerConfig
from basisctl.live.controller import Controller
from basisctl.live.journal import Journal
from basisctl.live.lock import AccountLock, FileLock, JournalLock, SimStateLock, TradeLogLock
from basisctl.live.sim_venue import PriceReplay, SimVenue
from basisctl.live.venue import Venue, VenueUnavailable

T = TypeVar("T")
_HELD: dict[str, FileLock] = {}  # journal / sim-account locks this process holds (re-entrant per process)


@dataclass
class Built:
    controller: Controller
    venue: Venue
    journal: Journal
    advance: Any  # Callable[[float], None] | None: sim clock stepper in paper mode
    lock: FileLock | None = None
    sim_lock: FileLock | None = None


def lock_journal(cfg: ControllerConfig) -> FileLock:
    """The OS-level exclusive lock on the config's journal, held until the process ends (JournalLocked names
    the holder's PID when another process has it)."""
    key = str(cfg.resolve(cfg.journal).resolve())
    if key not in _HELD:
        _HELD[key] = JournalLock(key).acquire()
    return _HELD[key]


def lock_trade_log(cfg: ControllerConfig) -> FileLock:
    """One writer per trade log (``trade_log``), held until exit."""
    key = str(cfg.resolve(cfg.trade_log).resolve())
    if key not in _HELD:
        _HELD[key] = TradeLogLock(key).acquire()
    return _HELD[key]


def lock_account(cfg: ControllerConfig) -> FileLock | None:
    """One controller per venue account (``account`` on a real venue), held until exit; None without one."""
    if cfg.venue.kind == "sim" or not cfg.account:
        return None
    lk = AccountLock(cfg.venue.kind, cfg.account)
    key = str(lk.target)
    if key not in _HELD:
        _HELD[key] = lk.acquire()
    return _HELD[key]


def lock_sim_account(cfg: ControllerConfig) -> FileLock:
    """One controller per simulated (paper) account: the lock on ``sim.state_file``, held until exit."""
    key = str(cfg.resolve(cfg.sim.state_file).resolve())
    if key not in _HELD:
        _HELD[key] = SimStateLock(key).acquire()
    return _HELD[key]


def check_paths(cfg: ControllerConfig) -> None:
    """Every file the controller writes must be writable before anything is traded (issue 19, N5/N9): not a
    folder, no parent that is a file, a writable folder (a read-only file system is refused too) and, when it
    exists, a writable file. One line naming the key; nothing is created here."""
    keys = [("journal", cfg.journal), ("trade_log", cfg.trade_log), ("safety.alert_log", cfg.safety.alert_log)]
    if cfg.venue.kind == "sim":
        keys.append(("sim.state_file", cfg.sim.state_file))
    for key, rel in keys:
        p = cfg.resolve(rel)
        if p.is_dir():
            raise ConfigError(f"config field '{key}': {p} is a directory; expected a file path")
        anc = p.parent
        while not anc.exists() and anc != anc.parent:
            anc = anc.parent
        if not anc.is_dir():
            raise ConfigError(f"config field '{key}': {anc} (a parent of {p}) is a file, not a folder")
        if not os.access(anc, os.W_OK | os.X_OK):
            raise ConfigError(f"config field '{key}': folder {anc} is not writable (needed for {p})")
        if p.exists() and not os.access(p, os.W_OK):
            raise ConfigError(f"config field '{key}': {p} is not writable")


#: config sections a journal is bound to: changing them on resume would silently be ignored (the simulated
#: venue keeps its own copy) or point an old journal at another account/market
BOUND_SECTIONS = ("sim", "venue")


def check_config_binding(cfg: ControllerConfig, journal: Journal, force: bool = False) -> None:
    """Refuse (ConfigError naming each changed key) a [sim] or [venue] section, or a top-level ``account``, that
    differs from the one the journal was started with, unless ``force`` (then a warning and the new values are
    recorded). A journal recorded before ``account`` was bound gets it recorded on this start."""
    now: dict[str, Any] = {k: getattr(cfg, k).model_dump(mode="json") for k in BOUND_SECTIONS}
    now["account"] = cfg.account.lower() if cfg.account else None
    last = journal.entries("config", limit=1, newest_first=True)
    if not last:
        journal.append("config", "config:first", now, int(time.time() * 1000))
        return
    old = last[0].payload
    # a key added to a section after the journal was started (e.g. venue.margin_mode) had its default then
    dflt = {sec: type(getattr(cfg, sec))().model_dump(mode="json") for sec in BOUND_SECTIONS}
    was = {sec: {k: old.get(sec, {}).get(k, dflt[sec].get(k)) for k in now[sec]} for sec in BOUND_SECTIONS}
    changed = [f"{sec}.{k}: {was[sec][k]!r} -> {v!r}" for sec in BOUND_SECTIONS
               for k, v in now[sec].items() if was[sec][k] != v]
    if "account" in old and old["account"] != now["account"]:
        changed.append(f"account: {old['account']!r} -> {now['account']!r}")
    if not changed:
        if "account" not in old:
            journal.append("config", f"config:{int(time.time() * 1e6)}", now, int(time.time() * 1000))
        return
    if not force:
        raise ConfigError(
            f"config field(s) changed since journal {journal.path} was started: {'; '.join(changed)}; "
            "refusing to resume (restore them, or pass --force-config to accept the change)"
        )
    print(f"warning: --force-config: resuming with changed {'; '.join(changed)}", file=sys.stderr)
    journal.append("config", f"config:{int(time.time() * 1e6)}", now, int(time.time() * 1000))


def with_backoff(fn: Callable[[], T], what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn`` until it stops raising VenueUnavailable, waiting with jittered exponential backoff and one
    ``warning:`` line per retry on stderr."""
    b = Backoff(0.5, 30.0)
    while True:
        try:
            return fn()
        except VenueUnavailable as e:
            d = b.next_delay()
            print(f"warning: {what}: venue unavailable ({e}); retrying in {d:.1f}s", file=sys.stderr, flush=True)
            sleep(d)


def build(
    cfg: ControllerConfig,
    live: bool = False,
    venue: Venue | None = None,
    spot_settlement: Any = None,
    force_config: bool = False,
) -> Built:
    """Create the controller for ``cfg``. ``live`` must be requested explicitly AND the config must be live.

    With ``[spot_route] kind = '1inch' | '0x'`` the venue is wrapped in the aggregator spot route (paper: the
    simulated venue's starting spot inventory moves to the simulated wallet; live: ``spot_settlement`` needed)."""
    route_on = cfg.spot_route.kind != "venue"
    wallet_seed = (0.0, 0.0)
    if live and (cfg.mode != "live" or not cfg.account):
        raise BasisctlError("--live needs a config with mode = 'live' and account = '<address>'; refusing")
    if not live and cfg.venue.kind != "sim" and venue is None:
        raise BasisctlError("paper mode runs on the simulated venue: set venue.kind = 'sim' (or pass --live)")
    if route_on:
        from basisctl.live.route.build import require_live_settlement

        require_live_settlement(cfg, live, spot_settlement)
    check_paths(cfg)
    if venue is None and cfg.venue.kind == "hyperliquid":  # keys first: no journal for a start that cannot sign
        from basisctl.venues.hyperliquid.keys import key_roles, load_signer

        v = cfg.venue
        signer = load_signer(v.secret_env, cfg.resolve(v.keystore) if v.keystore else None, v.keystore_password_env)
        print(key_roles(signer, cfg.account or signer.address), file=sys.stderr, flush=True)  # one line
    lock = lock_journal(cfg)  # first: a second start on the same journal is refused naming the journal
    sim_lock = lock_sim_account(cfg) if venue is None and cfg.venue.kind == "sim" else None
    extra_locks = [lk for lk in (lock_account(cfg), lock_trade_log(cfg)) if lk is not None]
    journal = Journal(cfg.resolve(cfg.journal))
    check_config_binding(cfg, journal, force_config)
    advance = None
    if venue is None and cfg.venue.kind == "sim":
        replay = PriceReplay(cfg.venue.asset)
        start = pd.Timestamp(cfg.sim.start)
        asof = pd.Timestamp(cfg.band.asof) if cfg.band.asof else start
        policy, info = calibrate_band(cfg, asof, cfg.sim.capital_usd)
        p0 = replay.mid(int(start.value // 10**6))
        sim_cfg = cfg.sim_config(policy.alpha_target, p0)
        if route_on:  # spot inventory lives in the (simulated) on-chain wallet, not on the venue's spot book
            wallet_seed = (sim_cfg.initial_spot_base, sim_cfg.initial_spot_usdc)
            sim_cfg = dataclasses.replace(sim_cfg, initial_spot_base=0.0, initial_spot_usdc=0.0)
        sim = SimVenue(cfg.resolve(cfg.sim.state_file), sim_cfg, replay)
        venue = sim
        if sim.config.clock == "manual":
            advance = sim.advance
    elif venue is None:
        from basisctl.venues.hyperliquid.adapter import HyperliquidVenue

        hv = with_backoff(lambda: HyperliquidVenue.from_config(cfg), "start-up (venue metadata)")
        venue = hv
        asof = pd.Timestamp(cfg.band.asof) if cfg.band.asof else pd.Timestamp.now(tz="UTC")
        equity = with_backoff(lambda: hv.state().perp_cash, "start-up (account state)")  # perp cash: always read
        policy, info = calibrate_band(cfg, asof, max(equity, 1.0))
    else:
        asof = pd.Timestamp(cfg.band.asof) if cfg.band.asof else pd.Timestamp(cfg.sim.start)
        policy, info = calibrate_band(cfg, asof, cfg.sim.capital_usd)
    if route_on:
        from basisctl.live.route.aggregator import AggregatorRouteVenue
        from basisctl.live.route.build import build_route_venue

        if not isinstance(venue, AggregatorRouteVenue):
            venue = build_route_venue(cfg, venue, wallet_seed, live=live, settlement=spot_settlement)
    if getattr(venue, "nonce_source", "absent") is None:
        venue.nonce_source = journal.next_nonce  # type: ignore[attr-defined]  # one monotonic nonce stream
    ctl = Controller(cfg, venue, journal, policy, info, sleep=advance)
    if cfg.band.rule == "regime":  # issue 23: the band is held only while the forecast says so
        from basisctl.live.regime_policy import make_gate, restore

        t0 = pd.Timestamp(cfg.sim.start) if cfg.venue.kind == "sim" else pd.Timestamp.now(tz="UTC")
        ctl.regime = make_gate(cfg, policy.alpha_target, t0)
        restore(ctl.regime, journal)
    ctl.lock_checks = [lk.problem for lk in (lock, sim_lock, *extra_locks) if lk is not None]  # every cycle
    ctl.held_locks = [lk for lk in (lock, sim_lock, *extra_locks) if lk is not None]  # /health reports them
    from basisctl.live.notify import build_notifier

    ctl.alerts.notifier = build_notifier(cfg)  # None without [alerts] urls (or without apprise: one warning)
    return Built(ctl, venue, journal, advance, lock, sim_lock)
