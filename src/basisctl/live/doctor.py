"""`basisctl doctor --config F`: what an operator forgets, one line per check with OK or the fix.

Checks: config ranges, alerts, keys (present - never printed - and each key's role), venue reachable, clock
skew against the venue, writable paths, lock status (who holds it), margin mode. Nothing is created, locked
for longer than a probe, sent or signed. Every check returns a :class:`Check`; the command exits 0 only when
every check passes.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from basisctl.live.config import ControllerConfig

#: margin modes a book may run in: each position's margin is its own (issue 22; docs/operations.md)
BOOK_MARGIN_OK = ("isolated", "sub-account")
#: margin modes that break alpha's definition even for one position (spot counts as perp collateral)
NEVER_MARGIN = ("unified", "portfolio")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    text: str  # what was found; for a failure, ends with "fix: ..."

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name:<20} {self.text}"


def _is_local(url: str) -> bool:
    return url.startswith(("http://127.", "http://localhost"))


# ---------------------------------------------------------------------------------------------------- config
def check_config(cfg: ControllerConfig) -> Check:
    """Cross-field ranges the schema cannot see (each field's own range is checked when the config loads)."""
    lim, bad = cfg.limits, []
    if not lim.max_order_usd <= lim.max_position_usd <= lim.max_gross_notional_usd:
        bad.append(f"limits need max_order_usd ({lim.max_order_usd:g}) <= max_position_usd ({lim.max_position_usd:g})"
                   f" <= max_gross_notional_usd ({lim.max_gross_notional_usd:g})")
    if lim.hedge_tolerance_usd >= lim.max_unhedged_usd:
        bad.append(f"limits.hedge_tolerance_usd ({lim.hedge_tolerance_usd:g}) must be below max_unhedged_usd "
                   f"({lim.max_unhedged_usd:g}) or the escalation can never fire")
    if cfg.venue.kind == "sim" and cfg.sim.capital_usd > lim.max_gross_notional_usd:
        bad.append(f"sim.capital_usd ({cfg.sim.capital_usd:g}) exceeds limits.max_gross_notional_usd: every "
                   "rebalance would be capped")
    if cfg.mode == "live":
        if cfg.venue.dead_man_seconds <= 0:
            bad.append("venue.dead_man_seconds = 0: resting orders are not cancelled if the controller dies "
                       "(set e.g. 60)")
        if cfg.backup.every_hours <= 0:
            bad.append("[backup] every_hours = 0: no journal backups (set e.g. every_hours = 6)")
        if cfg.venue.http_timeout_secs >= cfg.cadence_seconds:
            bad.append(f"venue.http_timeout_secs ({cfg.venue.http_timeout_secs:g}) >= cadence_seconds "
                       f"({cfg.cadence_seconds:g}): one slow read eats a whole cycle")
    if bad:
        return Check("config", False, "; ".join(bad) + " - fix: edit the config")
    return Check("config", True, f"ranges consistent (mode {cfg.mode}, venue {cfg.venue.kind}, cadence "
                 f"{cfg.cadence_seconds:g} s)")


def check_alerts(cfg: ControllerConfig) -> Check:
    from basisctl.live.notify import resolve_urls

    sec = cfg.alerts
    if not sec.urls:
        if cfg.mode == "live":
            return Check("alerts", False, "no [alerts] urls: nobody is told of a halt - fix: add a channel "
                         "(e.g. urls = {ops = 'env:BASISCTL_ALERT_URL'})")
        return Check("alerts", True, "no [alerts] urls (paper): alerts go to the journal and the alert log only")
    try:
        import apprise
    except ImportError:
        return Check("alerts", False, "[alerts] urls set but apprise is not installed - fix: "
                     "pip install 'basisctl[alerts]'")
    urls = resolve_urls(sec)
    missing = sorted(set(sec.urls) - set(urls))
    if missing:
        return Check("alerts", False, f"channel(s) {', '.join(missing)}: their env:VAR is unset - fix: export "
                     f"{', '.join(sec.urls[m][4:] for m in missing)}")
    ap = apprise.Apprise()
    bad = [n for n, u in urls.items() if not ap.add(u)]
    if bad:
        return Check("alerts", False, f"channel(s) {', '.join(bad)}: apprise does not understand the URL - fix: "
                     "see https://github.com/caronc/apprise/wiki")
    routed = {s: sorted(set(urls) if "*" in n else set(n) & set(urls)) for s, n in sec.routes.items()}
    if not routed.get("critical"):
        return Check("alerts", False, "no channel receives critical alerts - fix: alerts.routes.critical = ['*']")
    return Check("alerts", True, f"{len(urls)} channel(s) ({', '.join(sorted(urls))}); critical -> "
                 f"{', '.join(routed['critical'])}; apprise {getattr(apprise, '__version__', '?')}")


# ---------------------------------------------------------------------------------------------------- keys
def check_keys(cfg: ControllerConfig) -> tuple[Check, Any]:
    """(check, signer or None). Keys are never printed: only addresses and roles."""
    if cfg.venue.kind == "sim":
        return Check("keys", True, "simulated venue: no signing key needed"), None
    from basisctl.venues.hyperliquid.keys import KeyError_, key_roles, load_signer

    v = cfg.venue
    ks = cfg.resolve(v.keystore) if v.keystore else None
    if ks is not None and ks.exists() and ks.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Check("keys", False, f"keystore {ks} is readable by group/others - fix: chmod 600 {ks}"), None
    try:
        signer = load_signer(v.secret_env, ks, v.keystore_password_env)
    except KeyError_ as e:
        return Check("keys", False, f"{e} - fix: provide the account's main key (env or keystore)"), None
    account = cfg.account or signer.address
    try:
        role = key_roles(signer, account)
    except KeyError_ as e:
        return Check("keys", False, f"{str(e).removeprefix('keys: ')} - fix: the controller needs the MAIN key "
                     "(orders: an agent key may sign; transfers (usdClassTransfer): only the main key)"), signer
    src = f"keystore {ks}" if ks else f"env {v.secret_env}"
    return Check("keys", True, f"key present ({src}, value not shown): {role.removeprefix('keys: ')}"), signer


# ---------------------------------------------------------------------------------------------------- venue
def check_venue(cfg: ControllerConfig, transport: Any = None, local_clock: Callable[[], float] = time.time,
                clock_mode: str | None = None) -> tuple[Check, Check]:
    """(venue reachable, clock skew). Hyperliquid: POST /info meta + spotMeta; the skew comes from the reply's
    Date header (1 s resolution) against the local clock. ``clock_mode``: 'server' (the local test server: the
    controller runs on the venue's clock) or 'local'; default from the URL like the adapter."""
    if cfg.venue.kind == "sim":
        try:
            import pandas as pd

            from basisctl.live.sim_venue import PriceReplay

            px = PriceReplay(cfg.venue.asset).mid(int(pd.Timestamp(cfg.sim.start).value // 10**6))
        except Exception as e:
            return (Check("venue", False, f"simulated venue: no replay prices for {cfg.venue.asset} at "
                          f"{cfg.sim.start} ({' '.join(str(e).split())[:160]}) - fix: check BASISCTL_DATA_DIR / "
                          "sim.start"), Check("clock", True, "simulated venue: simulated clock"))
        return (Check("venue", True, f"simulated venue replays {cfg.venue.asset} (mid {px:,.2f} at {cfg.sim.start})"),
                Check("clock", True, "simulated venue: the controller runs on the simulated clock"))
    import httpx

    v = cfg.venue
    mode = clock_mode or ("server" if _is_local(v.base_url) else "local")
    try:
        with httpx.Client(base_url=v.base_url.rstrip("/"), timeout=v.http_timeout_secs, transport=transport) as c:
            t0 = local_clock()
            r = c.post("/info", json={"type": "meta"})
            t1 = local_clock()
            r.raise_for_status()
            names = [u.get("name") for u in r.json().get("universe", [])]
            s = c.post("/info", json={"type": "spotMeta"})
            s.raise_for_status()
            spot = s.json()
    except (httpx.HTTPError, ValueError, AttributeError) as e:
        msg = " ".join(str(e).split())[:160] or type(e).__name__
        return (Check("venue", False, f"{v.base_url} not reachable ({msg}) - fix: check the network, "
                      "venue.base_url and the venue's status page"),
                Check("clock", False, "not measured (venue unreachable) - fix: reach the venue first"))
    problems = []
    if v.asset not in names:
        problems.append(f"perp {v.asset} not in the venue's universe")
    tokens = {t.get("index"): t.get("name") for t in spot.get("tokens", [])}
    pairs = {p.get("name") for p in spot.get("universe", [])}
    pairs |= {"/".join(str(tokens.get(i)) for i in p.get("tokens", [])) for p in spot.get("universe", [])}
    if v.spot_coin not in pairs:
        problems.append(f"spot pair {v.spot_coin} not in the venue's spot universe")
    venue = (Check("venue", False, f"{v.base_url} reachable but {'; '.join(problems)} - fix: venue.asset / "
                   "venue.spot_coin") if problems else
             Check("venue", True, f"{v.base_url} reachable ({(t1 - t0) * 1000:.0f} ms); {v.asset} perp and "
                   f"{v.spot_coin} spot listed"))
    if mode == "server":
        return venue, Check("clock", True, "local server: the controller runs on the venue's clock (no skew)")
    d = r.headers.get("date")
    if not d:
        return venue, Check("clock", False, "the venue sent no Date header: skew unknown - fix: check the URL")
    offset = parsedate_to_datetime(d).timestamp() + 0.5 - 0.5 * (t0 + t1)
    lim = cfg.limits.max_clock_skew_seconds
    if abs(offset) > lim:
        return venue, Check("clock", False, f"local clock {-offset:+.1f} s off the venue's (limit {lim:g} s) - "
                            "fix: enable NTP (timedatectl set-ntp true / chrony)")
    return venue, Check("clock", True, f"skew {-offset:+.1f} s against the venue (limit {lim:g} s, Date header "
                        "resolution 1 s)")


# ---------------------------------------------------------------------------------------------------- paths
def _writable(p: Path) -> str | None:
    """None when the controller could create/write ``p``; else why not."""
    if p.is_dir():
        return f"{p} is a directory, expected a file path"
    anc = p.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        return f"{anc} (a parent of {p}) is a file, not a folder"
    if not os.access(anc, os.W_OK | os.X_OK):
        return f"folder {anc} is not writable"
    if p.exists() and not os.access(p, os.W_OK):
        return f"{p} is not writable"
    return None


def lock_targets(cfg: ControllerConfig) -> list[tuple[str, Path]]:
    """(what, protected file) of every lock a controller on ``cfg`` takes."""
    out = [("journal", cfg.resolve(cfg.journal)), ("trade_log", cfg.resolve(cfg.trade_log))]
    if cfg.venue.kind == "sim":
        out.append(("sim.state_file", cfg.resolve(cfg.sim.state_file)))
    elif cfg.account:
        from basisctl.live.lock import account_lock_path

        out.append(("account", account_lock_path(cfg.venue.kind, cfg.account)))
    return out


def check_paths(cfg: ControllerConfig) -> list[Check]:
    keys = [("journal", cfg.resolve(cfg.journal)), ("trade_log", cfg.resolve(cfg.trade_log)),
            ("safety.alert_log", cfg.resolve(cfg.safety.alert_log))]
    if cfg.venue.kind == "sim":
        keys.append(("sim.state_file", cfg.resolve(cfg.sim.state_file)))
    if cfg.backup.every_hours > 0:
        keys.append(("backup.dir", cfg.resolve(cfg.backup.dir) / ".probe"))
    if cfg.venue.kind != "sim" and cfg.account:
        from basisctl.live.lock import state_dir

        keys.append(("state dir", state_dir() / "accounts" / ".probe"))
    out = []
    for key, p in keys:
        why = _writable(p)
        shown = p.parent if p.name == ".probe" else p
        out.append(Check(f"path {key}", why is None, f"{shown} writable" if why is None else
                         f"{why} - fix: create the folder / fix ownership (the controller's user must write it)"))
    return out


def lock_status(target: Path) -> tuple[str, str | None]:
    """('free'|'held'|'never', holder PID) of the lock on ``target`` (probe: a shared flock taken and dropped at
    once; the lock file is never created)."""
    lockfile = target.with_name(target.name + ".lock")
    if not lockfile.exists():
        return "never", None
    fd = os.open(lockfile, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            return "held", pid
        fcntl.flock(fd, fcntl.LOCK_UN)
        return "free", None
    finally:
        os.close(fd)


def check_locks(cfg: ControllerConfig) -> list[Check]:
    out = []
    for what, target in lock_targets(cfg):
        try:
            state, pid = lock_status(target)
        except OSError as e:
            out.append(Check(f"lock {what}", False, f"{target}.lock unreadable ({e.strerror}) - fix: permissions"))
            continue
        text = {"never": f"{target}: free (never locked)", "free": f"{target}: free (no controller runs on it)",
                "held": f"{target}: held by PID {pid} (a controller runs on it; a second start would be refused)"}
        out.append(Check(f"lock {what}", True, text[state]))
    return out


# ---------------------------------------------------------------------------------------------------- margin
def check_margin(mode: str | None, book: bool, where: str) -> Check:
    """Margin mode rules: unknown fails; unified / portfolio margin always fail (spot counts as perp collateral:
    alpha is not the controller's alpha); cross fails for a book (alpha per position needs its own margin)."""
    if mode is None:
        return Check("margin", False, f"{where}: margin mode unknown (the adapter cannot read it) - fix: check it "
                     "on the venue; a book needs isolated margin or one sub-account per position")
    m = mode.lower()
    if m in NEVER_MARGIN:
        return Check("margin", False, f"{where}: {m} margin - spot balances count as perp collateral, so alpha_t "
                     "is not what the controller computes - fix: switch the account to standard (isolated) margin")
    if m == "cross" and book:
        return Check("margin", False, f"{where}: cross margin - positions in a book would share one margin "
                     "account (alpha is per position only if each margin is its own) - fix: isolated margin "
                     "(updateIsolatedMargin) or one sub-account per position")
    if m == "cross":
        return Check("margin", True, f"{where}: cross margin (fine for one position; refused for a book)")
    if m in BOOK_MARGIN_OK:
        return Check("margin", True, f"{where}: {m} margin")
    return Check("margin", False, f"{where}: unrecognised margin mode {m!r} - fix: check it on the venue (expected "
                 "isolated, sub-account or cross)")


def read_margin_mode(venue: Any) -> str | None:
    """The venue's margin mode through the adapter's ``margin_mode()`` when it has one (None: unknown)."""
    fn = getattr(venue, "margin_mode", None)
    if not callable(fn):
        return None
    try:
        m = fn()
    except Exception:
        return None
    return None if m is None else str(m)


# ---------------------------------------------------------------------------------------------------- all
def run_doctor(cfg: ControllerConfig, book: bool = False, transport: Any = None,
               local_clock: Callable[[], float] = time.time, clock_mode: str | None = None,
               venue_factory: Callable[[ControllerConfig], Any] | None = None) -> list[Check]:
    """Every check, in order. ``venue_factory`` builds the adapter for the margin-mode read (default:
    ``HyperliquidVenue.from_config`` when the key check passed)."""
    checks = [check_config(cfg), check_alerts(cfg)]
    keys, _signer = check_keys(cfg)
    checks.append(keys)
    venue, clock = check_venue(cfg, transport, local_clock, clock_mode)
    checks += [venue, clock]
    checks += check_paths(cfg)
    checks += check_locks(cfg)
    if cfg.venue.kind == "sim":
        checks.append(Check("margin", True, "simulated venue: one position per simulated account (its margin is "
                            "its own)"))
    elif not (keys.ok and venue.ok):
        checks.append(Check("margin", False, "not read (needs the key and the venue) - fix the lines above"))
    else:
        try:
            if venue_factory is not None:
                hv = venue_factory(cfg)
            else:
                from basisctl.venues.hyperliquid.adapter import HyperliquidVenue

                hv = HyperliquidVenue.from_config(cfg, transport=transport, max_retries=0)
            mode = read_margin_mode(hv)
        except Exception:
            mode = None
        checks.append(check_margin(mode, book, f"{cfg.venue.kind} {cfg.venue.asset}"))
    return checks
