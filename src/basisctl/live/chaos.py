"""The fault-injection suite: SIGKILL the controller process at random points during rebalances, restart it,
and audit the books against the venue's truth.

Set-up: the simulated venue keeps its state outside the controller - either served by the local
Hyperliquid-shaped HTTP server (``transport='http'``: the controller runs the real Hyperliquid adapter, and
the server also injects 5xx, 429, timeouts, disconnects, rejects and partial fills) or in a shared SQLite
state file (``transport='file'``: rejects and partial fills only). A narrow band and a fast wall clock make
the controller rebalance every second or two.

Each round starts ``python -m basisctl.live.chaos worker CONFIG`` and kills it with SIGKILL either
(a) at a named crash point inside a rebalance (before/after the spot order, the perp order, the transfer,
before execution; the k-th time it is reached) or (b) from outside after a random delay. A final clean run
reconciles. Audit (all from independent sources - the venue's own records vs the journal):

* duplicate_orders: requests the venue received for a cloid (or transfer nonce) it had already seen, plus
  venue orders whose cloid the journal never recorded as an intent (write-ahead violations);
* lost_fills: venue fills missing from the journal; double_fills: journal fills the venue does not have;
* position_mismatches: journal-derived balances (genesis + fills + funding + transfers) != venue balances;
* max_unhedged_usd / max_unhedged_seconds: the venue's own record of |spot + perp| x px above tolerance
  [USD] and how long it lasted [wall s]; unhedged_usd_seconds: the integral of that gap over wall time [USD s].
  The seconds are split (``unhedged_split``): max_unhedged_seconds_awaiting_adoption, one-legged while the
  controller waits BY DESIGN to adopt an injected silent change (from the injection to the adoption), bounded
  not in wall time but by the K-reads rule (``adoption_rule``; adoptions_overdue = 0), and
  max_unhedged_seconds_other, every other one-legged stretch (the re-hedge after an adoption included), checked
  against limits.max_unhedged_seconds; max_unhedged_usd is checked against limits.max_unhedged_usd throughout;
* economic_duplicates: per economic intent (a plan's leg), the quantity the VENUE executed over every order
  id the journal attributes to it, against the quantity intended (the first order's size) - a trade re-sent
  under a fresh id counts here even though no id repeats;
* repairs_over_cap: repair / unwind orders whose executed notional exceeds limits.max_order_usd;
* external_events / external_events_rehedged: fills the venue made without an order of ours (injected
  liquidations and ADL), and how many of them the controller detected and brought back to a hedged book.

Unbounded length: the simulated venue continues prices past the replay with a seeded random walk
(``sim.continue_prices``), so ``--kills N`` finishes for any N.

Faults besides the kills (all seeded): server-side 5xx / 429 / timeouts / disconnects / rejects and partial
fills, 4xx on reads, reads missing our balance or position, stale prices, the venue down at start-up, the
dead-man's switch on (scheduleCancel every cycle), a restart delay of 0-5 s, a second controller started on
the same journal (must be refused by the journal lock), and external liquidation / ADL events that shrink the
perp (acknowledged by the driver once re-hedged, as an operator would with `basisctl ack`). Issue 19 adds
(HTTP transport, counted per class in ``faults_injected``): malformed values in every response type the adapter
reads (``MALFORMED``), crossed and absurd spot books, silent position changes (no fill; resolved by adoption
after K agreeing reads), late fills (hidden for a round) and duplicated fill rows, a second controller with
its OWN journal on the same account (must be refused by the account lock), a balance missing at genesis
(``_GenesisTrials``: fresh journals on a second venue) and a read-only state dir (``_StateDirSwap``); every
class at least 25 times in 500 rounds (``FLOOR_PERIOD``; ``injection_floor_met``). Extra audit keys:
malformed_reads, genesis_unknown_orders, silent_changes, silent_changes_resolved, wrong_direction_orders,
foreign_controller_detected. Clock skew is not
injected here - this venue's clock runs 14,400x faster than the wall clock - it has its own test.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

#: (response type:path, value) pairs the malformed-read fault draws from: every response type the adapter reads
MALFORMED: tuple[tuple[str, Any], ...] = (
    ("l2Book:levels.0.0.px", "abc"),
    ("l2Book:time", "abc"),
    ("clearinghouseState:assetPositions.0.position.szi", None),
    ("clearinghouseState:marginSummary.accountValue", "abc"),
    ("spotClearinghouseState:balances.1.total", []),
    ("metaAndAssetCtxs:1.0.markPx", None),
    ("metaAndAssetCtxs:1.0.oraclePx", "abc"),
    ("userFillsByTime:0.sz", None),
    ("userFillsByTime:0.px", "abc"),
    ("userFillsByTime:0.time", "abc"),
    ("userFunding:0.delta.usdc", "abc"),
    ("userNonFundingLedgerUpdates:0.delta.usdc", "abc"),
    ("orderStatus:order.order.sz", "abc"),
)

#: the issue-19 fault classes the driver injects (counted in ``faults_injected``); a run of FLOOR_KILLS kills or
#: more must inject each at least INJECTION_FLOOR times (``injection_floor_met``, required by ``ok``)
FAULT_CLASSES = ("malformed", "absurd_book", "crossed_book", "silent_change", "late_fills", "duplicated_fills",
                 "second_controller_same_account", "genesis_missing_balance", "read_only_state_dir")
INJECTION_FLOOR, FLOOR_KILLS = 20, 500
#: a class with fewer than (round + 1 + FLOOR_PERIOD // 2) // FLOOR_PERIOD injections by a round is injected in it
#: (seeded draws come on top): 25 per class in 500 rounds, the first by round 10
FLOOR_PERIOD = 20


def _owed(injected: dict[str, int], cls: str, rnd: int) -> bool:
    return injected[cls] < (rnd + 1 + FLOOR_PERIOD // 2) // FLOOR_PERIOD


CRASH_POINTS = (
    "before_send:spot",
    "after_send:spot",
    "before_send:perp",
    "after_send:perp",
    "before_send:transfer",
    "after_send:transfer",
    "before_execute",
    "before_send:hedge_repair",
    "recalibration:started",  # a refit journaled as started, its worker not yet running
    "recalibration:fitted",  # the new band computed, not yet journaled (restart: old band, 'interrupted')
    "recalibration:journaled",  # the new band journaled, not yet in memory (restart: new band from the journal)
)
#: the chaos band is recalibrated (paper's gbm: this suite runs without numba, fhs refits are tested in
#: tests/live/test_recalibration.py) every 4 venue hours = 1 s of wall time at 14,400x, on the venue's candles
RECAL_EVERY_HOURS = 4.0


def chaos_config(workdir: Path, transport: str, port: int | None, seed: int, account: str | None = None,
                 journal: str = "journal.sqlite", trade_log: str = "trades.csv") -> str:
    """TOML of the chaos controller: narrow fixed band, wall clock x7200, small q_min, faults on."""
    venue = (
        'kind = "sim"'
        if transport == "file"
        else f'kind = "hyperliquid"\nbase_url = "http://127.0.0.1:{port}"\nhttp_timeout_secs = 0.5\n'
        "rate_limit_weight_per_min = 1000000.0"
    )
    acct = f'account = "{account}"\n' if account else ""
    return f"""
mode = "paper"
{acct}journal = "{journal}"
trade_log = "{trade_log}"
cadence_seconds = 0.05

[venue]
{venue}
asset = "BTC"
dead_man_seconds = 60

[sim]
state_file = "venue.sqlite"
start = "2025-03-07T00:00:00Z"
clock = "wall"
speed = 14400.0
capital_usd = 1000000.0
partial_fill_prob = 0.25
reject_prob = 0.05
seed = {seed}
continue_prices = true

[band]
# calibrated and recalibrated while the kills land; a narrow band (alpha_L at 1.5e-3 over the same 24 h as
# alpha_target's 1e-3, K_reb^fix 0.15 bps: about alpha_target -0.004 / +0.004) keeps the controller rebalancing
mode = "calibrate"
lookback_days = 30
epsilon = 0.001
horizon_days = 1
eps_liq = 0.0015
h_liq_hours = 24
k_reb_fix_bps = 0.15

[risk]
model = "gbm"
recalibrate_every_hours = {RECAL_EVERY_HOURS}
bars = "venue"
timeout_seconds = 10

[costs]
model = "flat"
sell_basis_bps = 15
buy_basis_bps = 15
sell_budget_bps = 100
buy_budget_bps = 100
q_min_usd = 1000
buffer_bps = 10

[limits]
hedge_tolerance_usd = 50
max_unhedged_seconds = 20
max_unhedged_usd = 200000
stale_after_seconds = 100000
action_expiry_seconds = 7200

[safety]
kill_file = "basisctl.kill"
alert_log = "alerts.log"
"""


def _worker(config_path: str, max_cycles: int) -> None:
    """Controller process of the chaos suite (runs until killed or ``max_cycles``)."""
    from basisctl.live.config import load_config
    from basisctl.live.runner import build

    cfg = load_config(config_path)
    venue = None
    if cfg.venue.kind == "hyperliquid":
        from basisctl.live.runner import lock_account, lock_journal, with_backoff
        from basisctl.venues.hyperliquid.adapter import HyperliquidVenue

        lock_journal(cfg)  # one controller per journal, before anything talks to the venue
        lock_account(cfg)  # ... and per account (a second config's controller must lose this race, not win it)
        venue = with_backoff(lambda: HyperliquidVenue.from_config(cfg, max_retries=2), "start-up (venue metadata)")
    built = build(cfg, live=False, venue=venue)
    fd = _READY_FD
    if fd is not None:  # tell the zygote when the first cycle begins (its kill clock may start there)
        ctl, orig = built.controller, built.controller.cycle

        def first_cycle_signalled() -> dict[str, Any]:
            with contextlib.suppress(OSError):
                os.write(fd, b"c")
                os.close(fd)
            ctl.cycle = orig  # type: ignore[method-assign]
            return orig()

        ctl.cycle = first_cycle_signalled  # type: ignore[method-assign]
    built.controller.run(max_cycles=max_cycles)


#: the write end of the pipe to the zygote in a forked controller (None elsewhere)
_READY_FD: int | None = None
#: a round timed from the first cycle waits at most this long for it [wall s]; then the kill comes at once
READY_CAP_S = 15.0


class _Zygote:
    """A pre-imported, single-threaded helper process that forks one controller process per round.

    Each controller is a real OS process (own pid, own SQLite connections, SIGKILLed for real); forking from
    a process that already imported numpy/pandas/basisctl removes ~2 s of interpreter start-up per round.
    """

    def __init__(self, cfg_path: Path, err_path: Path, extra_env: dict[str, str] | None = None):
        env = dict(os.environ, BASISCTL_DISABLE_JIT="1", **(extra_env or {}))
        env.pop("BASISCTL_CRASHPOINT", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "basisctl.live.chaos", "zygote", str(cfg_path), str(err_path)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        line = self._read()
        if line != "ready":
            raise RuntimeError(f"chaos zygote failed to start: {line!r}")

    def _read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def run(
        self, crash: str | None, timeout_s: float, max_cycles: int = 1_000_000, second_after: float | None = None,
        second_cfg: Path | None = None, first_cfg: Path | None = None, from_ready: bool = False,
    ) -> str:
        """Fork a controller; returns 'crashpoint' / 'external' (SIGKILLed) or 'exit:N', plus ' second=exit:C:S'
        when a second controller was started ``second_after`` seconds into the round (C its exit code, S [s]);
        ``second_cfg``: the second's own config (own journal, same account), else the same config; ``first_cfg``:
        the first controller's config (default: the zygote's); ``from_ready``: ``timeout_s`` counts from the
        controller's first cycle (at most READY_CAP_S after the fork), not from the fork."""
        assert self.proc.stdin is not None
        sec = "-" if second_after is None else f"{second_after:.3f}"
        self.proc.stdin.write(f"run {crash or '-'} {timeout_s:.3f} {max_cycles} {sec} {second_cfg or '-'} "
                              f"{first_cfg or '-'} {'r' if from_ready else '-'}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _zygote(cfg_path: str, err_path: str) -> None:
    import basisctl.live.runner  # noqa: F401  (pre-import: each fork starts warm)
    from basisctl.live.config import load_config

    with contextlib.suppress(Exception):  # warm the calibration's data and imports (the band is recalibrated)
        import pandas as pd

        from basisctl.live.calibration import calibrate_band

        wcfg = load_config(cfg_path)
        calibrate_band(wcfg, pd.Timestamp(wcfg.sim.start), wcfg.sim.capital_usd, warn=False)

    if _have_sdk():
        with contextlib.suppress(ImportError):
            import importlib

            for mod in ("adapter", "fetch"):  # the adapter and the recalibration's candle client
                importlib.import_module(f"basisctl.venues.hyperliquid.{mod}")
    print("ready", flush=True)
    for line in sys.stdin:
        _, crash, timeout_s, max_cycles, *rest = line.split()
        second_after = float(rest[0]) if rest and rest[0] != "-" else None
        second_cfg = rest[1] if len(rest) > 1 and rest[1] != "-" else cfg_path
        first_cfg = rest[2] if len(rest) > 2 and rest[2] != "-" else cfg_path
        from_ready = len(rest) > 3 and rest[3] == "r"
        t_fork = time.monotonic()
        pid, ready_fd = _fork_controller(first_cfg, err_path, crash, max_cycles)
        second = ""
        if second_after is not None:  # a second controller on the same journal while the first runs
            zcfg = load_config(cfg_path)
            lock = Path(str(zcfg.resolve(zcfg.journal)) + ".lock")
            t_wait = time.monotonic()
            while time.monotonic() - t_wait < 10.0:  # the first must hold the lock before the second starts
                with contextlib.suppress(OSError):
                    if lock.read_text().strip() == str(pid):
                        break
                time.sleep(0.005)
            time.sleep(second_after)
            t0 = time.monotonic()
            pid2, fd2 = _fork_controller(second_cfg, err_path, "-", max_cycles)
            os.close(fd2)
            st2 = None
            while time.monotonic() - t0 < 10.0:
                wpid2, s2 = os.waitpid(pid2, os.WNOHANG)
                if wpid2:
                    st2 = s2
                    break
                time.sleep(0.01)
            if st2 is None:
                os.kill(pid2, signal.SIGKILL)
                os.waitpid(pid2, 0)
                second = " second=running"
            else:
                second = f" second=exit:{os.waitstatus_to_exitcode(st2)}:{time.monotonic() - t0:.2f}"
        t0 = t_fork
        if from_ready:  # the kill clock starts at the first cycle (EOF: the controller exited first)
            import select

            ready, _, _ = select.select([ready_fd], [], [], max(0.0, t_fork + READY_CAP_S - time.monotonic()))
            t0 = time.monotonic() if ready else -float(timeout_s)
        os.close(ready_fd)
        deadline = t0 + float(timeout_s)
        status = None
        while time.monotonic() < deadline:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
                break
            time.sleep(0.01)
        how = "crashpoint"
        if status is None:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            how = "external"
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            print(how + second, flush=True)
        else:
            print(f"exit:{os.waitstatus_to_exitcode(status)}{second}", flush=True)


def _fork_controller(cfg_path: str, err_path: str, crash: str, max_cycles: str) -> tuple[int, int]:
    """Fork one controller process (its stderr appended to ``err_path``); returns its pid and the read end of
    the pipe on which it signals its first cycle (EOF when it exits)."""
    global _READY_FD
    from basisctl.errors import BasisctlError
    from basisctl.live import crashpoint as ctl_mod
    from basisctl.live.lock import JournalLocked

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the controller process
        code = 0
        os.close(r)
        _READY_FD = w
        try:
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(fd, 2)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            if crash != "-":
                os.environ["BASISCTL_CRASHPOINT"] = crash
            ctl_mod._CRASH_HITS.clear()
            _worker(cfg_path, int(max_cycles))
        except (JournalLocked, BasisctlError) as e:  # a start-up refusal: one line, exit 2
            print(f"refused: {e}", file=sys.stderr, flush=True)
            code = 2
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def _have_sdk() -> bool:
    try:
        import hyperliquid.utils.signing  # noqa: F401
    except ImportError:
        return False
    return True


def run_chaos(
    kills: int = 20, seed: int = 0, transport: str = "auto", workdir: Path | None = None, round_timeout_s: float = 4.0
) -> dict[str, Any]:
    """Run the suite; returns the audit (``ok`` False with ``failures`` when a guarantee broke)."""
    from basisctl.live.config import load_config
    from basisctl.live.journal import Journal
    from basisctl.live.runner import calibrate_band
    from basisctl.live.sim_venue import PriceReplay, SimVenue

    if transport == "auto":
        transport = "http" if _have_sdk() else "file"
    if transport not in ("http", "file"):
        raise ValueError(f"transport must be 'http', 'file' or 'auto' (got {transport!r})")
    workdir, tmp = run_workdir(workdir, "basisctl-chaos-")
    rng = random.Random(seed)
    t_start = time.time()
    server = None
    port = None
    cfg_path = workdir / "chaos.toml"
    # the venue (state outside the controller): create it hedged at alpha_target
    cfg_path.write_text(chaos_config(workdir, "file", None, seed))
    cfg = load_config(cfg_path)
    import pandas as pd

    policy, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), cfg.sim.capital_usd)
    replay = PriceReplay(cfg.venue.asset)
    p0 = replay.mid(int(pd.Timestamp(cfg.sim.start).value // 10**6))
    sim = SimVenue(cfg.resolve(cfg.sim.state_file), cfg.sim_config(policy.alpha_target, p0), replay)
    # genesis taken here, atomically on the venue itself (over HTTP a 14400x clock settles funding between
    # the requests of one snapshot; on a real venue the controller's stable-read loop handles the rare case)
    from basisctl.live.controller import Controller

    gj = Journal(cfg.resolve(cfg.journal))
    Controller(cfg, sim, gj, policy)._ensure_genesis(sim.state())
    gj.close()
    if transport == "http":
        from basisctl.venues.hyperliquid.keys import test_wallet_address
        from basisctl.venues.hyperliquid.server import FaultPlan, HLServer

        server = HLServer(
            sim,
            account=test_wallet_address(),
            faults=FaultPlan(
                error_5xx=0.02, rate_limited=0.02, timeout=0.005, disconnect=0.01, timeout_s=0.7, seed=seed,
                read_4xx=0.005, missing_field=0.01,
            ),
        )
        server.start()
        port = server.port
        acct = test_wallet_address().lower()
        cfg_path.write_text(chaos_config(workdir, "http", port, seed, account=acct))
        second_cfg = workdir / "chaos-second.toml"  # a copied config with its own journal, same account
        second_cfg.write_text(chaos_config(workdir, "http", port, seed, account=acct, journal="journal2.sqlite",
                                           trade_log="trades2.csv"))
    rounds: list[dict[str, Any]] = []
    n_killed = 0
    err_path = workdir / "controller-stderr.log"
    extra_env = {}
    if transport == "http":
        from basisctl.venues.hyperliquid.keys import test_private_key

        extra_env["BASISCTL_HL_SECRET_KEY"] = test_private_key()  # the key travels by environment, as in production
        extra_env["BASISCTL_STATE_DIR"] = str(workdir / "state")  # account locks of this run only
    zyg = _Zygote(cfg_path, err_path, extra_env)
    faults = {"restart_delays": 0, "second_starts": 0, "second_refused": 0, "external_injected": 0,
              "stale_rounds": 0, "down_at_start": 0, "acks": 0, "final_runs": 0}
    injected = dict.fromkeys(FAULT_CLASSES, 0)
    genesis = _GenesisTrials(workdir / "genesis", cfg, policy, p0, replay, seed) if transport == "http" else None
    state_swap = _StateDirSwap(workdir / "state")
    read_only_refused = 0
    same_account_refused = 0
    silent_walls: list[float] = []  # wall time [epoch s] of each injected silent change (unhedged_split)
    silent_deltas: list[float] = []  # each injected silent change's perp size delta [base units]
    progress = workdir / "progress.json"
    # second starts (same journal / own journal on the same account, alternating): 50 in a 500-kill run
    second_every = max(kills // 50, 3)
    from basisctl.live.ack import acknowledge, pending_halts

    rnd = -1
    try:
        while n_killed < kills:
            k = n_killed
            rnd += 1
            crash = None
            if rng.random() < 0.6:
                crash = f"{rng.choice(CRASH_POINTS)}@{rng.randint(1, 2)}"
            delay = rng.uniform(0.3, 2.0) if crash is None else round_timeout_s
            # the kill clock: crash-point rounds and 70 % of the others count from the first cycle (on a loaded
            # machine start-up alone can outlast the delay: 98 cycles in 500 kills), the rest from the fork
            # (kills during start-up)
            from_ready = crash is not None or rng.random() < 0.7
            second_after = None
            if k % second_every == second_every // 2:  # no crash point: the first must be alive meanwhile
                second_after = rng.uniform(0.05, 0.3)
                crash, delay = None, max(delay, 1.5)
                faults["second_starts"] += 1
            if rng.random() < 0.08 or faults["external_injected"] < (rnd + 1 + FLOOR_PERIOD // 2) // FLOOR_PERIOD:
                # external liquidation / ADL while the controller is down (floored like the issue-19 classes)
                sim.external_fill("perp", "buy", round(rng.uniform(0.02, 0.4), 5), rng.choice(("liquidation", "adl")))
                faults["external_injected"] += 1
            second_cfg_round = None
            if server is not None and second_after is not None and faults["second_starts"] % 2 == 0:
                second_cfg_round = second_cfg  # every other second start: own journal, same account
                injected["second_controller_same_account"] += 1
            swap_timer = None
            if server is not None and second_after is None and _owed(injected, "read_only_state_dir", rnd):
                injected["read_only_state_dir"] += 1  # the state dir (account locks) unwritable for this round:
                if rng.random() < 0.5:  # ... from before the start (must be refused in one line, nothing sent)
                    state_swap.swap()
                    how = zyg.run(crash, delay)
                    state_swap.restore()
                    if not how.startswith("exit:2"):
                        raise RuntimeError(f"start-up with an unwritable state dir not refused ({how}):\n"
                                           f"{_tail(err_path)}")
                    read_only_refused += 1
                    continue
                swap_timer = threading.Timer(rng.uniform(0.05, min(delay, 1.0)), state_swap.swap)  # ... mid-run
            if server is not None:
                _issue19_faults(rng, server, sim, injected, cfg, rnd, silent_walls, silent_deltas)
                server.faults.stale_ms = 400_000_000 if rng.random() < 0.05 else 0  # ~4.6 days behind the clock
                faults["stale_rounds"] += int(server.faults.stale_ms > 0)
                if rng.random() < 0.05:
                    server.faults.down_first = server.faults._served + rng.randint(2, 8)
                    faults["down_at_start"] += 1
            if swap_timer is not None:
                swap_timer.start()
            t_round = time.monotonic()
            how = zyg.run(crash, delay, second_after=second_after, second_cfg=second_cfg_round,
                          from_ready=from_ready)
            t_round = time.monotonic() - t_round
            if swap_timer is not None:
                swap_timer.cancel()
                swap_timer.join()
                state_swap.restore()
            head, _, sec = how.partition(" second=")
            rounds.append({"crash": crash, "how": head, "second": sec or None, "wall_s": t_round})
            if sec and sec.startswith("exit:2:") and float(sec.split(":")[2]) < 5.0:
                faults["second_refused"] += 1
                same_account_refused += second_cfg_round is not None
            if head.startswith("exit"):
                raise RuntimeError(f"controller {how} instead of being killed:\n{_tail(err_path)}")
            n_killed += 1
            # an operator acknowledges a halt once the controller has re-hedged the external change
            ack_j = Journal(cfg.resolve(cfg.journal))
            try:
                rehedged = all(ack_j.has(f"rehedged:{e.payload['fill_id']}") for e in ack_j.entries("external"))
                if pending_halts(ack_j) and rehedged:
                    acknowledge(cfg, "chaos driver")
                    faults["acks"] += 1
            finally:
                ack_j.close()
            if rng.random() < 0.05:  # restart delay 0-5 s between kill and restart
                time.sleep(rng.uniform(0.0, 5.0))
                faults["restart_delays"] += 1
            if rnd % 5 == 0:  # progress of a long run, readable while it goes on (the audit comes at the end)
                _write_progress(progress, cfg, sim, rnd, n_killed, injected, faults, silent_walls, t_start)
        if server is not None:
            server.faults.stale_ms = 0
            server.faults.mangle, server.faults.hide_fills, server.faults.duplicate_fills = {}, False, False
        # the final reconciling run(s): 10 cycles (K agreeing reads for a pending silent change fit in), and while
        # the journal still disagrees with the venue (a change injected in the last round: its K reads span T
        # and may be broken by a failed read) up to 2 more such runs - a bounded settle, reported
        while True:
            how = zyg.run(None, 120.0, max_cycles=10)
            faults["final_runs"] += 1
            if how != "exit:0":
                raise RuntimeError(f"final reconciling run failed ({how}):\n{_tail(err_path)}")
            if faults["final_runs"] >= 3 or not _disagrees(cfg, sim):
                break
        if genesis is not None:  # genesis trials (fresh journals, own venue) after the main books are settled: run
            # between rounds they kept the main controller down for seconds = days of a 14,400x venue (a rally
            # liquidated the short while it was down in the first 500-kill attempt)
            for r in range(max(kills, 1)):
                if _owed(injected, "genesis_missing_balance", r):
                    genesis.run(zyg, rng)  # a fresh journal whose first reads leave a balance out
                    injected["genesis_missing_balance"] += 1
    finally:
        state_swap.restore()
        zyg.close()
        if server is not None:
            server.stop()
        if genesis is not None:
            genesis.close()
    _write_progress(progress, cfg, sim, rnd, n_killed, injected, faults, silent_walls, t_start)
    journal = Journal(cfg.resolve(cfg.journal))
    res = {"kills": n_killed, **audit(journal, sim, cfg.limits, adoption_waits(journal, sim, silent_walls),
                                     cfg.safety)}
    res.update(
        transport=transport,
        seed=seed,
        crash_point_kills=sum(1 for r in rounds if r["how"] == "crashpoint"),
        # killed while a refit was in flight (the journal's 'interrupted' refits, each journaled at the next start)
        # or between its journal commit and the in-memory swap (the crash point after the commit)
        kills_during_recalibration=res["recalibrations_interrupted"] + sum(
            1 for r in rounds if r["how"] == "crashpoint" and r["crash"].startswith("recalibration:journaled")),
        faults=faults,
        wall_s=round(time.time() - t_start, 1),
        # where the wall time went: rounds by how they ended [count, s]; a crash point not reached in
        # round_timeout_s ends as an outside kill at that timeout ('crash_point_missed')
        round_wall_s=_round_walls(rounds),
    )
    malformed = server.faults_injected.get("mangle", 0) if server is not None else 0
    res.update(issue19_audit(journal, cfg.resolve(cfg.journal), injected, malformed, silent_deltas))
    res["faults_injected"] = {**injected, "malformed_reads": malformed,
                              "same_account_refused": same_account_refused,
                              "read_only_state_dir_refused_at_start": read_only_refused}
    if genesis is not None:
        res["genesis_unknown_orders"] += genesis.early_orders
        res["genesis_trials"] = genesis.summary()
        res["failures"].extend(genesis.failures)
        res["ok"] = res["ok"] and not genesis.failures
    floor = {c: injected[c] for c in FAULT_CLASSES if injected[c] < INJECTION_FLOOR}
    res["injection_floor_met"] = not floor
    if kills >= FLOOR_KILLS and floor:
        res["ok"] = False
        res["failures"].append(f"fault classes injected under {INJECTION_FLOOR} times: {floor}")
    if injected["second_controller_same_account"] != same_account_refused:
        res["ok"] = False
        res["failures"].append(f"second controller on the same account refused {same_account_refused}/"
                               f"{injected['second_controller_same_account']}")
    for key in ("genesis_unknown_orders", "wrong_direction_orders"):
        if res[key]:
            res["ok"] = False
            res["failures"].append(f"{key}={res[key]}")
    if res["silent_changes_resolved"] != res["silent_changes"]:
        res["ok"] = False
        res["failures"].append(f"silent changes resolved {res['silent_changes_resolved']}/{res['silent_changes']}")
    if faults["second_refused"] != faults["second_starts"]:
        res["ok"] = False
        res["failures"].append(f"second controller refused {faults['second_refused']}/{faults['second_starts']}")
    journal.close()
    sim.close()
    if tmp is not None:
        tmp.cleanup()
    return res


def _issue19_faults(rng: random.Random, server: Any, sim: Any, injected: dict[str, int], cfg: Any,
                    rnd: int = 0, silent_walls: list[float] | None = None,
                    silent_deltas: list[float] | None = None) -> None:
    """Draw this round's issue-19 faults on the HTTP server / venue (see the module docstring): seeded draws,
    plus every class behind its floor (``_owed``) injected this round."""
    from basisctl.live.journal import Journal

    f = server.faults
    f.mangle, f.mangle_reads, f.mangle_after_exchange = {}, -1, 0
    f.hide_fills = f.duplicate_fills = False
    u = rng.random()
    for i, cls in enumerate(("malformed", "absurd_book", "crossed_book")):  # one of these per round at most
        if _owed(injected, cls, rnd):
            u = (0.0, 0.15, 0.20)[i]
            break
    if u < 0.15:  # a malformed value in one response type, for 1-3 reads
        key, val = rng.choice(MALFORMED)
        f.mangle, f.mangle_reads = {key: val}, rng.randint(1, 3)
        injected["malformed"] += 1
    elif u < 0.20:  # absurd best bid (halves the mid)
        f.mangle, f.mangle_reads = {"l2Book:levels.0.0.px": "0.001"}, rng.randint(1, 3)
        injected["absurd_book"] += 1
    elif u < 0.25:  # crossed book (best bid far above the ask)
        f.mangle, f.mangle_reads = {"l2Book:levels.0.0.px": "100000000"}, rng.randint(1, 3)
        injected["crossed_book"] += 1
    if rng.random() < 0.06 or _owed(injected, "late_fills", rnd):
        f.hide_fills = True  # published only next round: late
        injected["late_fills"] += 1
    if rng.random() < 0.10 or _owed(injected, "duplicated_fills", rnd):
        f.duplicate_fills = True
        injected["duplicated_fills"] += 1
    if rng.random() < 0.08 or _owed(injected, "silent_change", rnd):
        # a silent position change - only once every earlier one was resolved (matched by a standing adoption of
        # exactly its size) and journal and venue agree: two changes in one disagreement episode would be adopted
        # as one (an adoption a late fill reverses must not open the gate: 33/35 in the first 500-kill run)
        j = Journal(cfg.resolve(cfg.journal))
        try:
            resolved = (silent_changes_matched(j, silent_deltas) if silent_deltas is not None
                        else sum(1 for e in j.entries("adopt") if e.key.startswith("adopt:")))
        finally:
            j.close()
        if resolved >= injected["silent_change"] and not _disagrees(cfg, sim):
            d = round(rng.uniform(0.01, 0.2), 5)
            with sim._lock, sim._tx():
                sim._put("perp_size", sim._f("perp_size") + d)
            injected["silent_change"] += 1
            if silent_deltas is not None:
                silent_deltas.append(d)
            if silent_walls is not None:
                silent_walls.append(time.time())


def _disagrees(cfg: Any, sim: Any) -> bool:
    """Journal-derived balances differ from the venue's (the audit's position_mismatches, taken early)."""
    from basisctl.live.journal import Journal
    from basisctl.live.reconcile import position_mismatches

    j = Journal(cfg.resolve(cfg.journal))
    try:
        return bool(position_mismatches(j.derived_position().to_dict(), sim.state(settle=False)))
    finally:
        j.close()


def _round_walls(rounds: list[dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in rounds:
        kind = r["how"] if r["crash"] is None or r["how"] == "crashpoint" else "crash_point_missed"
        c = out.setdefault(kind, [0, 0.0])
        c[0] += 1
        c[1] = round(c[1] + r["wall_s"], 1)
    return out


class _StateDirSwap:
    """The user state dir (the account locks) made unwritable - swapped for a plain file, which works as root
    too - and restored. The held locks' files move with the folder, so a running controller keeps its lock."""

    def __init__(self, path: Path):
        self.path, self.aside, self.swapped = path, path.with_name(path.name + ".aside"), False

    def swap(self) -> None:
        if self.swapped or not self.path.is_dir():
            return
        self.path.rename(self.aside)
        self.path.write_text("not a folder (chaos: read-only state dir)\n")
        self.swapped = True

    def restore(self) -> None:
        if not self.swapped:
            return
        self.path.unlink()
        self.aside.rename(self.path)
        self.swapped = False


class _GenesisTrials:
    """Genesis with a balance missing (issue 19, N1): each trial starts a controller on a FRESH journal against
    its own venue (a second local server, so the main run's books are untouched) whose first 1-4 balance /
    position reads leave our spot balance or perp position out, and kills it after 1.5-4 s (or it stops after 3
    cycles). Audit from that journal and the venue's own records: no order intent before genesis
    (``early_orders``, added to genesis_unknown_orders), and a genesis, when one was taken, holding the venue's
    true sizes - never a missing balance journaled as zero (``failures``)."""

    def __init__(self, gdir: Path, cfg: Any, policy: Any, p0: float, replay: Any, seed: int):
        from basisctl.live.sim_venue import SimVenue
        from basisctl.venues.hyperliquid.keys import test_wallet_address
        from basisctl.venues.hyperliquid.server import FaultPlan, HLServer

        gdir.mkdir(parents=True, exist_ok=True)
        self.dir, self.seed, self.n = gdir, seed, 0
        self.sim = SimVenue(gdir / "venue.sqlite", cfg.sim_config(policy.alpha_target, p0), replay)
        self.server = HLServer(self.sim, account=test_wallet_address(), faults=FaultPlan(seed=seed + 1))
        self.server.start()
        self.account = test_wallet_address().lower()
        self.early_orders = self.genesis_taken = self.unknown_at_end = 0
        self.failures: list[str] = []

    def run(self, zyg: _Zygote, rng: random.Random) -> None:
        from basisctl.live.journal import Journal
        from basisctl.venues.hyperliquid.server import DROP

        self.n += 1
        name = f"genesis-{self.n}"
        cfg_path = self.dir / f"{name}.toml"
        cfg_path.write_text(chaos_config(self.dir, "http", self.server.port, self.seed, account=self.account,
                                         journal=f"{name}.sqlite", trade_log=f"{name}.csv"))
        truth = self.sim.state(settle=False)
        what = rng.choice(("spotClearinghouseState:balances.1", "clearinghouseState:assetPositions.0"))
        f = self.server.faults
        f.mangle, f.mangle_reads = {what: DROP}, rng.randint(1, 4)
        how = zyg.run(None, rng.uniform(1.5, 4.0), max_cycles=3, first_cfg=cfg_path)
        f.mangle, f.mangle_reads = {}, -1
        if how not in ("external", "exit:0"):
            self.failures.append(f"genesis trial {self.n} ({what} missing): controller {how}")
            return
        j = Journal(self.dir / f"{name}.sqlite")
        try:
            g = j.genesis()
            self.early_orders += sum(1 for e in j.entries("intent") if e.payload.get("kind") == "order"
                                     and (g is None or e.seq < g.seq))
            if g is None:
                self.unknown_at_end += 1
                return
            self.genesis_taken += 1
            for k in ("spot_base", "perp_size"):
                if abs(float(g.payload[k]) - float(getattr(truth, k))) > 1e-9:
                    self.failures.append(f"genesis trial {self.n} ({what} missing): genesis {k} "
                                         f"{g.payload[k]} != venue {getattr(truth, k)}")
        finally:
            j.close()

    def summary(self) -> dict[str, int]:
        return {"trials": self.n, "genesis_taken": self.genesis_taken, "unknown_when_killed": self.unknown_at_end,
                "early_orders": self.early_orders}

    def close(self) -> None:
        self.server.stop()
        self.sim.close()


def run_workdir(workdir: Path | None, prefix: str) -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """(the run's folder, created if needed; the temporary folder to clean up when none was given)."""
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix=prefix)
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir, tmp


def issue19_audit(journal: Any, journal_path: Any, injected: dict[str, int], malformed: int,
                  silent_deltas: list[float] | None = None) -> dict[str, Any]:
    """The issue-19 audit keys, from the journal (independent of the controller's in-memory counters).

    genesis_unknown_orders: order intents journaled before the genesis entry; wrong_direction_orders: repair /
    unwind intents that would NOT reduce |spot + perp| of the journal-derived position at the time they were
    journaled (replayed in journal order); silent_changes: silent position changes injected;
    silent_changes_resolved: injected changes each matched by its own standing venue-truth adoption of exactly
    its size (``silent_changes_matched``; with ``silent_deltas`` None, the older count: standing adoptions, at
    most one per injected change); foreign_controller_detected: FOREIGN_CONTROLLER alerts."""
    from basisctl.live.unexplained import active_adoptions

    g = journal.genesis()
    g_seq = g.seq if g is not None else None
    early = sum(1 for e in journal.entries("intent") if e.payload.get("kind") == "order" and (g_seq is None
                                                                                               or e.seq < g_seq))
    sb = float(g.payload["spot_base"]) if g else 0.0
    ps = float(g.payload["perp_size"]) if g else 0.0
    wrong = 0
    rows = journal._db.execute("SELECT seq, key, kind, payload FROM entries WHERE kind IN ('fill', 'intent', "
                               "'adopt') ORDER BY seq").fetchall()
    for _, _, kind, raw in rows:
        p = json.loads(raw)
        if kind == "fill":
            sgn = 1.0 if p["side"] == "buy" else -1.0
            if p["market"] == "spot":
                sb += sgn * p["size"] - float(p.get("fee_base", 0.0))
            else:
                ps += sgn * p["size"]
        elif kind == "adopt":
            sb += float(p["delta"].get("spot_base", 0.0))
            ps += float(p["delta"].get("perp_size", 0.0))
        elif p.get("kind") == "order" and p.get("leg") in ("hedge_repair", "unwind"):
            gap = sb + ps
            d = p["size"] if p["side"] == "buy" else -p["size"]
            if abs(gap + d) >= abs(gap) - 1e-9:
                wrong += 1
    standing = len(active_adoptions(journal))
    foreign = sum(1 for e in journal.entries("alert") if e.payload.get("kind") == "FOREIGN_CONTROLLER")
    return {
        "malformed_reads": malformed,
        "genesis_unknown_orders": early,
        "silent_changes": injected.get("silent_change", 0),
        "silent_changes_resolved": (min(standing, injected.get("silent_change", 0)) if silent_deltas is None
                                    else silent_changes_matched(journal, silent_deltas)),
        "wrong_direction_orders": wrong,
        "foreign_controller_detected": foreign,
    }


def standing_adoption_deltas(journal: Any) -> list[dict[str, float]]:
    """Each venue-truth adoption no late fill fully explained, in journal order: its delta net of the late fills
    that explained part of it (``adopt-net`` entries) [base units / USDC per balance]."""
    from basisctl.live.unexplained import active_adoptions, adoption_left

    return [adoption_left(journal, e.key[6:], e.payload["delta"]) for e in active_adoptions(journal)]


def silent_changes_matched(journal: Any, silent_deltas: list[float], tol: float = 1e-7) -> int:
    """How many injected silent changes (perp size deltas [base units], in injection order) are each matched by
    their own standing adoption whose net perp size delta equals it within ``tol``. Two changes adopted as one,
    an adoption of the wrong size, or a change never adopted leave the count short."""
    adopted = [d.get("perp_size", 0.0) for d in standing_adoption_deltas(journal)]
    used = [False] * len(adopted)
    n = 0
    for want in silent_deltas:
        for i, got in enumerate(adopted):
            if not used[i] and abs(got - want) <= tol:
                used[i] = True
                n += 1
                break
    return n


def economic_duplicates(journal: Any, sim: Any, lot: float = 1e-5) -> tuple[int, list[str]]:
    """Economic intents (plan, leg) whose venue-executed quantity over ALL their order ids exceeds the intended
    quantity (the first order's size) by more than one lot. Returns (count, details)."""
    filled: dict[str, float] = {}
    for cloid, qty in sim._db.execute("SELECT cloid, SUM(size) FROM fills WHERE cloid != '' GROUP BY cloid"):
        filled[str(cloid)] = float(qty)
    intended: dict[tuple[str, str], float] = {}
    executed: dict[tuple[str, str], float] = {}
    for e in journal.entries("intent"):
        p = e.payload
        if p.get("kind") != "order":
            continue
        key = (str(p["plan"]), str(p["leg"]))
        intended.setdefault(key, float(p.get("plan_qty", p["size"])))
        executed[key] = executed.get(key, 0.0) + filled.get(str(p["cloid"]), 0.0)
    bad = [f"{k[0]}/{k[1]}: executed {executed[k]:.6f} > intended {intended[k]:.6f}"
           for k in intended if executed[k] > intended[k] + lot + 1e-12]
    return len(bad), bad


def repairs_over_cap(journal: Any, sim: Any, max_order_usd: float) -> int:
    """Repair / unwind orders whose executed notional (venue fills) exceeds max_order_usd [USD]."""
    legs = {str(e.payload["cloid"]) for e in journal.entries("intent")
            if e.payload.get("kind") == "order" and e.payload.get("leg") in ("hedge_repair", "unwind")}
    n = 0
    for cloid, notional in sim._db.execute("SELECT cloid, SUM(size * px) FROM fills GROUP BY cloid"):
        if str(cloid) in legs and float(notional) > max_order_usd * (1 + 1e-9):
            n += 1
    return n


_IN_BAND = re.compile(r"inside \[([0-9.]+), ([0-9.]+)\]")


def band_audit(journal: Any) -> dict[str, int]:
    """The band's history against the decisions, from the journal alone (``live/recalibration.py``):

    * recalibrations / recalibrations_failed / recalibrations_interrupted: band entries by outcome;
    * band_chain_breaks: an applied recalibration whose ``old`` band is not exactly the band in force before it
      (a start-up band or the previous applied one), or one whose new band is incomplete;
    * band_mismatches: in-band decisions whose [alpha_L, alpha_U] (4 decimals, from the reason) differ from the
      band the journal says was in force when the decision was journaled.
    """
    from basisctl.model.policy import BandPolicy

    in_force: dict[str, Any] | None = None
    out = {"recalibrations": 0, "recalibrations_failed": 0, "recalibrations_interrupted": 0, "band_chain_breaks": 0,
           "band_mismatches": 0, "band_decisions_checked": 0}
    for e in journal.entries():
        if e.kind == "band":
            st = e.payload.get("status")
            if st == "start":
                in_force = e.payload["band"]
            elif st == "applied":
                out["recalibrations"] += 1
                try:
                    BandPolicy(**e.payload["new"])
                except (TypeError, ValueError):
                    out["band_chain_breaks"] += 1
                if e.payload.get("old") != in_force:
                    out["band_chain_breaks"] += 1
                in_force = e.payload["new"]
            elif st == "failed":
                out["recalibrations_failed"] += 1
            elif st == "interrupted":
                out["recalibrations_interrupted"] += 1
        elif e.kind == "decision" and in_force is not None:
            m = _IN_BAND.search(str(e.payload.get("reason", "")))
            if m and e.payload.get("reason_code") == "in_band":
                out["band_decisions_checked"] += 1
                if (m.group(1), m.group(2)) != (f"{in_force['alpha_lower']:.4f}", f"{in_force['alpha_upper']:.4f}"):
                    out["band_mismatches"] += 1
    return out


def adoption_waits(journal: Any, sim: Any, silent_walls: list[float]) -> list[tuple[float, float]]:
    """Per injected silent change, the wall window [epoch s] in which the controller waits BY DESIGN before acting
    on it: from the injection to the first venue-truth adoption journaled after it (its ``venue_now_ms`` on the
    venue's clock, mapped to wall time); a change never adopted waits until now. Adoptions are matched in wall
    order, each to at most one injection."""
    adopts = sorted(sim.wall_of(int(e.payload.get("venue_now_ms", e.payload["ts_ms"])))
                    for e in journal.entries("adopt") if e.key.startswith("adopt:"))
    waits: list[tuple[float, float]] = []
    i = 0
    for w in sorted(silent_walls):
        while i < len(adopts) and adopts[i] < w:
            i += 1  # an adoption before this injection (a late fill's episode, or the previous change's)
        end = adopts[i] if i < len(adopts) else time.time()
        i += i < len(adopts)
        waits.append((w, max(end, w)))
    return waits


def unhedged_split(episodes: list[tuple[float, float, float]], waits: list[tuple[float, float]]) -> dict[str, float]:
    """Split the venue's one-legged time (``episodes``: (start, end, max gap) [wall s, USD]) into the part inside
    an adoption wait (``waits``, see ``adoption_waits``: the controller must not act on an unexplained change before
    K agreeing reads) and the rest. Returns max_unhedged_seconds_awaiting_adoption (longest wait that overlapped a
    one-legged episode [wall s]) and max_unhedged_seconds_other (longest one-legged stretch outside every wait
    [wall s]: the part the ordinary max_unhedged_seconds bound applies to)."""
    merged: list[list[float]] = []
    for a, b in sorted(waits):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    other = awaiting = 0.0
    for s, e, _ in episodes:
        cur = s
        for a, b in merged:
            if b <= cur or a >= e:
                continue
            other = max(other, a - cur)
            awaiting = max(awaiting, min(b, e) - max(a, s))
            cur = max(cur, b)
        other = max(other, e - cur)
    return {"max_unhedged_seconds_awaiting_adoption": awaiting, "max_unhedged_seconds_other": other}


def adoptions_overdue(journal: Any, adopt_reads: int, adopt_seconds: float, single_leg_timeout_s: float) -> int:
    """Disagreement episodes (journal kind ``mm``) in which K consecutive disagreeing reads lasting past
    single_leg_timeout_s and spanning adopt_seconds (venue clock: the journal keeps no wall time, so this is the
    conservative test - the controller may also count wall time) were journaled and the episode did NOT end by an
    adoption at that read: the controller waited longer than its design (the rule of ``unexplained.py``, replayed on
    the journal). Counted once per episode."""
    overdue = 0
    reads: list[int] = []
    since: int | None = None
    due = False
    for e in journal.entries("mm"):
        if e.key.startswith("mm:read:"):
            ts = int(e.payload["ts_ms"])
            since = ts if since is None else since
            if due:  # a read after the one that met the rule, in the same run of reads: not adopted there
                overdue += 1
                due = False
                reads = []
            reads.append(ts)
            due = (len(reads) >= adopt_reads and (ts - since) / 1e3 > single_leg_timeout_s
                   and (reads[-1] - reads[0]) / 1e3 >= adopt_seconds)  # as unexplained.py: all since the break
        elif e.key.startswith("mm:end:"):
            if due and not str(e.payload.get("by", "")).startswith("adopt:"):
                overdue += 1
            reads, since, due = [], None, False
        else:  # mm:break: not consecutive any more
            reads, due = [], False
    return overdue


def _write_progress(path: Path, cfg: Any, sim: Any, rnd: int, kills: int, injected: dict[str, int],
                    faults: dict[str, int], silent_walls: list[float], t_start: float) -> None:
    """A long run's state so far (rounds, injections, the venue's unhedged figures), written atomically."""
    from basisctl.live.journal import Journal

    j = Journal(cfg.resolve(cfg.journal))
    try:
        waits = adoption_waits(j, sim, silent_walls)
        adopted = sum(1 for e in j.entries("adopt") if e.key.startswith("adopt:"))
    finally:
        j.close()
    st = sim.stats()
    out = {"rounds": rnd + 1, "kills": kills, "wall_s": round(time.time() - t_start, 1),
           "load": os.getloadavg(), "faults_injected": injected, "faults": faults, "adoptions": adopted,
           "max_unhedged_usd": round(st["max_unhedged_usd"], 2),
           "max_unhedged_seconds": round(st["max_unhedged_seconds"], 3),
           **{k: round(v, 3) for k, v in unhedged_split(sim.unhedged_episodes(), waits).items()},
           "silent_change_walls": silent_walls}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(path)


def audit(journal: Any, sim: Any, bound: Any, waits: list[tuple[float, float]] | None = None,
          safety: Any = None) -> dict[str, Any]:
    """Compare the journal with the simulated venue's own records (see the module docstring). ``waits``: the
    adoption waits of injected silent changes (``adoption_waits``); the max_unhedged_seconds bound applies to the
    one-legged time outside them, the K-reads rule (``adoptions_overdue``, with ``safety``) to the time inside."""
    from basisctl.live.reconcile import position_mismatches

    stats = sim.stats()
    venue_fills = {f.fill_id: f for f in sim.fills(0)}
    j_fills = [e.payload["fill_id"] for e in journal.entries("fill")]
    intents = {e.payload.get("cloid") for e in journal.entries("intent") if e.payload.get("kind") == "order"}
    venue_cloids = [r[0] for r in sim._db.execute("SELECT cloid FROM orders").fetchall()]
    orphan_orders = sum(1 for c in venue_cloids if c not in intents)
    lost = sum(1 for fid in venue_fills if fid not in set(j_fills))
    double = (len(j_fills) - len(set(j_fills))) + sum(1 for fid in set(j_fills) if fid not in venue_fills)
    st = sim.state(settle=False)
    mism = position_mismatches(journal.derived_position().to_dict(), st)
    econ, econ_detail = economic_duplicates(journal, sim)
    external = [f.fill_id for f in venue_fills.values() if f.external]
    rehedged = sum(1 for fid in external if journal.has(f"rehedged:{fid}"))
    res: dict[str, Any] = {
        "cycles": journal.count("cycle"),
        "duplicate_orders": stats["duplicate_order_requests"] + stats["duplicate_transfer_requests"] + orphan_orders,
        "economic_duplicates": econ,
        "lost_fills": lost,
        "double_counted_fills": double,
        "position_mismatches": len(mism),
        "external_events": len(external),
        "external_events_rehedged": rehedged,
        "max_unhedged_usd": round(float(stats["max_unhedged_usd"]), 2),
        "max_unhedged_seconds": round(float(stats["max_unhedged_seconds"]), 3),
        "unhedged_usd_seconds": round(float(stats["unhedged_usd_seconds"]), 1),
        "repairs_over_cap": repairs_over_cap(journal, sim, bound.max_order_usd),
        "final_unhedged_usd": round(st.unhedged_usd, 2),
        **{k: round(v, 3) for k, v in unhedged_split(sim.unhedged_episodes(), waits or []).items()},
        "adoption_waits": len(waits or []),
        # the design bound on a wait (unexplained.py), checked by adoptions_overdue: adopt at the first of K
        # consecutive complete, price-sane, stable disagreeing reads once the episode lasted single_leg_timeout_s
        # and the K reads span adopt_seconds (venue or wall clock, whichever is longer)
        "adoption_rule": ({"adopt_reads": safety.adopt_reads, "adopt_seconds": safety.adopt_seconds,
                           "single_leg_timeout_s": bound.single_leg_timeout_s} if safety is not None else None),
        "adoptions_overdue": (adoptions_overdue(journal, safety.adopt_reads, safety.adopt_seconds,
                                                bound.single_leg_timeout_s) if safety is not None else 0),
        "open_intents": len(journal.open_intents()),
        "orders": stats["orders"],
        "fills": stats["fills"],
        "rebalances": journal.count("trade"),
        "liquidations": stats["liquidations"],
        **band_audit(journal),
    }
    failures = []
    for k in (
        "duplicate_orders",
        "economic_duplicates",
        "lost_fills",
        "double_counted_fills",
        "position_mismatches",
        "repairs_over_cap",
        "adoptions_overdue",
        "open_intents",
        "liquidations",
        "band_chain_breaks",
        "band_mismatches",
    ):
        if res[k]:
            failures.append(f"{k}={res[k]}")
    if econ_detail:
        failures.append("economic duplicate detail " + "; ".join(econ_detail[:5]))
    if rehedged != len(external):
        failures.append(f"external events re-hedged {rehedged}/{len(external)}")
    if mism:
        failures.append(f"mismatch detail {mism}")
    if res["max_unhedged_seconds_other"] > bound.max_unhedged_seconds:  # == max_unhedged_seconds with no waits
        failures.append(f"unhedged {res['max_unhedged_seconds_other']}s outside adoption waits > bound "
                        f"{bound.max_unhedged_seconds}s")
    if res["max_unhedged_usd"] > bound.max_unhedged_usd:
        failures.append(f"unhedged ${res['max_unhedged_usd']} > bound ${bound.max_unhedged_usd}")
    if res["final_unhedged_usd"] > bound.hedge_tolerance_usd:
        failures.append(f"final hedge gap ${res['final_unhedged_usd']} > tolerance")
    res["ok"] = not failures
    res["failures"] = failures
    return res


if __name__ == "__main__":  # the chaos worker process
    if len(sys.argv) >= 4 and sys.argv[1] == "zygote":
        _zygote(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "worker":
        _worker(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 10_000)
    else:
        print(json.dumps(run_chaos(int(sys.argv[1]) if len(sys.argv) > 1 else 5, transport="file")))
