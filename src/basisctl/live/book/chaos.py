"""Chaos for books (``basisctl chaos --book N``): SIGKILLs and faults across an N-position paper book run by ONE
process with ONE journal, audited per position against each position's own simulated venue.

Set-up: N positions (BTC and ETH on Hyperliquid, BTC on Binance, ...), each on its own simulated venue (shared
state file, wall clock x14400, partial fills and rejects), all from the single-controller chaos config of
``live/chaos.py`` (narrow calibrated band, recalibrated every 4 venue hours). Each round forks the book process
from a warm zygote and kills it with SIGKILL at a named crash point (the k-th time ANY position reaches it) or
from outside after a random delay. Faults besides the kills (seeded): external liquidation / ADL fills on one
position's venue while the book is down (that position halts until the driver acknowledges it once re-hedged,
as an operator would with `basisctl ack --book --position`), an injected exception in one position's cycle for a
round (a bug: the bulkhead must contain it), the book kill switch for a round, restart delays.

Audit: every position's rows are exported to a single-position journal (:func:`export_position`) and audited by
``live/chaos.py``'s own ``audit`` and ``issue19_audit`` against that position's venue: the same keys as the
single-controller suite, per position (``per_position``) and in total (sums; maxima for ``max_*``). Plus
``cross_position_interference``: external changes on one position whose re-hedge came more than one of that
position's cycles after their detection while ANOTHER position was halted or failing (from the journal's
``book_cycle`` records). It must be 0.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from basisctl.live import chaos as single

#: position candidates (id, asset, venue), in the order a book of N takes them
CANDIDATES: tuple[tuple[str, str, str], ...] = (
    ("btc-hl", "BTC", "hyperliquid"), ("eth-hl", "ETH", "hyperliquid"), ("btc-bn", "BTC", "binance"),
    ("eth-bn", "ETH", "binance"), ("link-hl", "LINK", "hyperliquid"), ("doge-hl", "DOGE", "hyperliquid"),
    ("link-bn", "LINK", "binance"), ("doge-bn", "DOGE", "binance"),
)
#: fault flag files (in the book's folder) the chaos worker reads
RAISE_FLAG = "chaos-raise-{}"
#: seconds after the book's start-up at which the worker is SIGKILLed (absent: killed by the round timeout only)
KILL_AFTER = "chaos-kill-after"


def book_chaos_toml(n: int) -> str:
    """The chaos book file: ``n`` positions of 1,000,000 USD each on the chaos base config."""
    lines = ['mode = "paper"', 'journal = "book.sqlite"', 'base_config = "chaos.toml"', "",
             "[kill]", 'file = "book.kill"', "flatten = false"]
    for pid, asset, venue in CANDIDATES[:n]:
        lines += ["", "[[positions]]", f'id = "{pid}"', f'asset = "{asset}"', f'venue = "{venue}"',
                  "capital_usd = 1000000.0", 'risk_model = "gbm"']
    return "\n".join(lines) + "\n"


def export_position(journal_path: Path, pid: str, dest: Path) -> Path:
    """Copy position ``pid``'s rows of a book journal into a fresh single-position journal at ``dest`` (keys and
    kinds unprefixed, order kept, its cloid prefix and the nonce counter copied): every single-controller tool
    (audit, ack, inspection) then reads it unchanged."""
    from basisctl.live.journal import Journal

    if dest.exists():
        dest.unlink()
    Journal(dest).close()
    pfx = pid + "/"
    src = sqlite3.connect(str(journal_path))
    dst = sqlite3.connect(str(dest))
    try:
        rows = src.execute("SELECT key, kind, ts_ms, wall_ms, payload FROM entries WHERE kind >= ? AND kind < ? "
                           "ORDER BY seq", (pfx, pid + "0")).fetchall()
        dst.executemany("INSERT INTO entries(key, kind, ts_ms, wall_ms, payload) VALUES(?,?,?,?,?)",
                        [(k[len(pfx):], kd[len(pfx):], t, w, p) for k, kd, t, w, p in rows])
        for name, value in src.execute("SELECT name, value FROM counters WHERE name IN (?, 'nonce')",
                                       (pfx + "cloid_prefix",)).fetchall():
            dst.execute("INSERT OR REPLACE INTO counters(name, value) VALUES(?, ?)",
                        (str(name)[len(pfx):] if str(name).startswith(pfx) else name, value))
        dst.commit()
    finally:
        src.close()
        dst.close()
    return dest


def cross_position_interference(journal_path: Path) -> tuple[int, list[str]]:
    """External changes on a position P whose re-hedge waited more than one IDLE cycle of P while another position
    was halted or failing. An idle cycle: P's cycle ran, raised nothing, P had no own reason to hold protective
    orders back (journal vs venue mismatch, undecided intents) and yet journaled no protective order (unwind /
    hedge repair). Cycles in which P tried and its venue rejected or partly filled the order are P's venue's
    doing, not another position's. Returns (count, details)."""
    con = sqlite3.connect(str(journal_path))
    try:
        rows = con.execute("SELECT seq, key, kind, payload FROM entries ORDER BY seq").fetchall()
    finally:
        con.close()
    detected: dict[tuple[str, str], int] = {}
    rehedged: dict[tuple[str, str], int] = {}
    protective: dict[str, list[int]] = {}
    book_cycles: list[tuple[int, dict[str, Any]]] = []
    for seq, key, kind, payload in rows:
        pid, _, k = str(kind).partition("/")
        if not k:
            if kind == "book_cycle":
                book_cycles.append((int(seq), json.loads(payload)["positions"]))
            continue
        rkey = str(key)[len(pid) + 1:]
        if k == "intent" and json.loads(payload).get("leg") in ("unwind", "hedge_repair"):
            protective.setdefault(pid, []).append(int(seq))
        elif k == "external" and rkey.startswith("external:"):
            detected[(pid, rkey[9:])] = int(seq)
        elif k == "external" and rkey.startswith("rehedged:"):
            rehedged[(pid, rkey[9:])] = int(seq)
    bad = []
    for (pid, fid), s0 in detected.items():
        s1 = rehedged.get((pid, fid), 1 << 62)
        idle, others, prev = 0, set(), s0
        for s, rec in book_cycles:
            if s <= s0:
                continue
            if s > s1:
                break
            r = rec.get(pid, {})
            tried = any(prev < x < s for x in protective.get(pid, []))
            if r.get("ran") and not r.get("error") and not r.get("blocked_own") and not tried:
                idle += 1
                others |= {q for q, o in rec.items() if q != pid and (o.get("halted") or o.get("error"))}
            prev = s
        if idle > 1 and others:
            bad.append(f"{pid}: external {fid} waited {idle} idle cycles while {', '.join(sorted(others))} "
                       "halted/failing")
    return len(bad), bad


def _book_worker(config_path: str, max_cycles: int) -> None:
    """The book process of a chaos round (``config_path``: the book file; runs until killed or ``max_cycles``)."""
    import os
    import signal
    import threading

    from basisctl.errors import DataCoverageError
    from basisctl.live.book.config import load_book
    from basisctl.live.book.runner import build_book

    book = load_book(config_path)
    b = build_book(book, config_path)
    for bp in b.positions:  # an injected bug: this position's cycle raises while its flag file exists
        flag = book.resolve(RAISE_FLAG.format(bp.spec.id))
        orig = bp.ctl.safe_cycle

        def faulty(orig: Any = orig, flag: Path = flag) -> Any:
            if flag.exists():
                raise RuntimeError("chaos: injected bug in this position's cycle")
            return orig()

        bp.ctl.safe_cycle = faulty  # type: ignore[method-assign]
    b.start()
    after = book.resolve(KILL_AFTER)
    if after.exists():  # an outside kill timed from the end of start-up (a slow start must not eat the round)
        delay = float(after.read_text())

        def kill() -> None:
            time.sleep(delay)
            book.resolve(KILL_AFTER + ".fired").write_text("1")
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()
    n = 0
    while n < max_cycles and not b.stop_requested:
        try:
            b.cycle()
        except DataCoverageError:
            break
        n += 1
        time.sleep(b.cadence())
    b.finish()


class _BookZygote(single._Zygote):
    """The single-controller suite's zygote, forking book processes (this module's ``zygote`` entry)."""

    def __init__(self, book_path: Path, err_path: Path):
        import os
        import subprocess

        env = dict(os.environ, BASISCTL_DISABLE_JIT="1")
        env.pop("BASISCTL_CRASHPOINT", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "basisctl.live.book.chaos", "zygote", str(book_path), str(err_path)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        line = self._read()
        if line != "ready":
            raise RuntimeError(f"book chaos zygote failed to start: {line!r}")


def _zygote(book_path: str, err_path: str) -> None:
    import contextlib

    import basisctl.live.book.runner  # noqa: F401  (pre-import: each fork starts warm)

    with contextlib.suppress(Exception):  # warm the data each position replays and calibrates on (the
        import pandas as pd  # candles, funding and margin tiers are cached in-process: every fork starts warm)

        from basisctl.live.book.config import load_book, position_config
        from basisctl.live.book.runner import _replay
        from basisctl.live.calibration import calibrate_band

        book = load_book(book_path)
        for p in book.positions:
            _replay(p.venue, p.asset)
            cfg = position_config(book, p, book_path)
            calibrate_band(cfg, pd.Timestamp(cfg.band.asof or cfg.sim.start), cfg.sim.capital_usd, warn=False)
    single._worker = _book_worker  # the forked process runs the book, not one controller
    single._zygote(book_path, err_path)


def _totals(per: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Book totals of the per-position audits: sums of counters, maxima of ``max_*``, nested dicts summed."""
    out: dict[str, Any] = {}
    for res in per.values():
        for k, v in res.items():
            if k in ("ok", "failures"):
                continue
            if isinstance(v, bool) or not isinstance(v, int | float | dict):
                out.setdefault(k, v)
            elif isinstance(v, dict):
                d = out.setdefault(k, {})
                for k2, v2 in v.items():
                    d[k2] = d.get(k2, 0) + v2 if isinstance(v2, int | float) else v2
            elif k.startswith("max_"):
                out[k] = max(out.get(k, v), v)
            else:
                out[k] = out.get(k, 0) + v
    for k, v in list(out.items()):
        if isinstance(v, float):
            out[k] = round(v, 3)
    return out


def run_book_chaos(positions: int = 3, kills: int = 20, seed: int = 0, workdir: Path | None = None,
                   round_timeout_s: float = 4.0) -> dict[str, Any]:
    """Run the book suite; returns the audit (``ok`` False with ``failures`` when a guarantee broke)."""
    import pandas as pd

    from basisctl.live.ack import pending_halts
    from basisctl.live.book.config import load_book, position_config
    from basisctl.live.book.control import acknowledge_position
    from basisctl.live.book.runner import _replay
    from basisctl.live.calibration import calibrate_band
    from basisctl.live.controller import Controller
    from basisctl.live.journal import Journal
    from basisctl.live.sim_venue import SimVenue

    if not 1 <= positions <= len(CANDIDATES):
        raise ValueError(f"--book takes 1..{len(CANDIDATES)} positions (got {positions})")
    workdir, tmp = single.run_workdir(workdir, "basisctl-book-chaos-")
    rng = random.Random(seed)
    t_start = time.time()
    (workdir / "chaos.toml").write_text(single.chaos_config(workdir, "file", None, seed))
    book_path = workdir / "book.toml"
    book_path.write_text(book_chaos_toml(positions))
    book = load_book(book_path)
    jpath = book.resolve(book.journal)
    sims: dict[str, SimVenue] = {}
    cfgs = {}
    root = Journal(jpath)
    for p in book.positions:  # each venue opened hedged at alpha_target, genesis taken atomically on it
        cfg = position_config(book, p, str(book_path))
        cfgs[p.id] = cfg
        policy, _ = calibrate_band(cfg, pd.Timestamp(cfg.sim.start), cfg.sim.capital_usd, warn=False)
        replay = _replay(p.venue, p.asset)
        p0 = replay.mid(int(pd.Timestamp(cfg.sim.start).value // 10**6))
        sims[p.id] = SimVenue(cfg.resolve(cfg.sim.state_file), cfg.sim_config(policy.alpha_target, p0), replay)
        Controller(cfg, sims[p.id], root.scoped(p.id), policy)._ensure_genesis(sims[p.id].state())
    root.close()
    err_path = workdir / "book-stderr.log"
    zyg = _BookZygote(book_path, err_path)
    faults = {"restart_delays": 0, "external_injected": 0, "bug_rounds": 0, "kill_switch_rounds": 0, "acks": 0}
    rounds: list[dict[str, Any]] = []
    kill_file = book.resolve(book.kill.file)
    ids = [p.id for p in book.positions]
    n_killed = 0
    try:
        while n_killed < kills:
            crash = None
            if rng.random() < 0.6:
                crash = f"{rng.choice(single.CRASH_POINTS)}@{rng.randint(1, 2)}"
            delay = rng.uniform(0.3, 2.0) if crash is None else round_timeout_s
            timer = book.resolve(KILL_AFTER)
            timer.unlink(missing_ok=True)
            if crash is not None or rng.random() < 0.8:  # most kills after start-up; the rest may land inside it
                timer.write_text(f"{delay:.3f}")
                delay = 120.0  # the round's backstop
            for f in workdir.glob(RAISE_FLAG.format("*")):
                f.unlink()
            kill_file.unlink(missing_ok=True)
            if rng.random() < 0.12:  # external liquidation / ADL on one position while the book is down
                pid = rng.choice(ids)
                sim = sims[pid]
                px = sim.replay.mid(sim.now_ms())
                size = round(rng.uniform(2_000.0, 40_000.0) / px, sim.config.sz_decimals)
                if size > 0:
                    sim.external_fill("perp", "buy", size, rng.choice(("liquidation", "adl")))
                    faults["external_injected"] += 1
            if rng.random() < 0.08:  # a bug in one position's cycle for this round
                (workdir / RAISE_FLAG.format(rng.choice(ids))).write_text("1")
                faults["bug_rounds"] += 1
            if rng.random() < 0.04:  # the book kill switch for this round (halts new risk; repairs go on)
                kill_file.write_text("chaos\n")
                faults["kill_switch_rounds"] += 1
            fired = book.resolve(KILL_AFTER + ".fired")
            fired.unlink(missing_ok=True)
            how = zyg.run(crash, delay)
            if how == "crashpoint" and fired.exists():
                how = "external"  # the post-start-up timer, not a crash point
            rounds.append({"crash": crash, "how": how})
            if how.startswith("exit"):
                raise RuntimeError(f"book process {how} instead of being killed:\n{single._tail(err_path)}")
            n_killed += 1
            j = Journal(jpath)
            try:
                for pid in ids:  # an operator acknowledges a position's halt once it re-hedged its external change
                    pj = j.scoped(pid)
                    ext = [e for e in pj.entries("external") if e.key.startswith("external:")]
                    if pending_halts(pj) and all(pj.has(f"rehedged:{e.payload['fill_id']}") for e in ext):
                        acknowledge_position(book_path, pid, "chaos driver")
                        faults["acks"] += 1
            finally:
                j.close()
            if rng.random() < 0.05:
                time.sleep(rng.uniform(0.0, 5.0))
                faults["restart_delays"] += 1
        for f in workdir.glob(RAISE_FLAG.format("*")):
            f.unlink()
        kill_file.unlink(missing_ok=True)
        book.resolve(KILL_AFTER).unlink(missing_ok=True)
        how = zyg.run(None, 120.0 * positions, max_cycles=10)  # N positions start N times slower
        if how != "exit:0":
            raise RuntimeError(f"final reconciling run failed ({how}):\n{single._tail(err_path)}")
    finally:
        zyg.close()
    per: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for pid in ids:
        dest = export_position(jpath, pid, workdir / f"audit-{pid}.sqlite")
        j = Journal(dest)
        try:
            res = {**single.audit(j, sims[pid], cfgs[pid].limits),
                   **single.issue19_audit(j, dest, {}, 0)}
        finally:
            j.close()
        for key in ("genesis_unknown_orders", "wrong_direction_orders"):
            if res[key]:
                res["ok"] = False
                res["failures"].append(f"{key}={res[key]}")
        failures += [f"{pid}: {f}" for f in res["failures"]]
        per[pid] = res
    interference, detail = cross_position_interference(jpath)
    if interference:
        failures.append(f"cross_position_interference={interference}: " + "; ".join(detail[:5]))
    ej = Journal(jpath)
    try:
        errors = sum(ej.scoped(pid).count("error") for pid in ids)
    finally:
        ej.close()
    out: dict[str, Any] = {"kills": n_killed, "positions": positions, **_totals(per)}
    out.update(
        transport="file", seed=seed,
        crash_point_kills=sum(1 for r in rounds if r["how"] == "crashpoint"),
        cross_position_interference=interference,
        contained_errors=errors,
        faults=faults,
        wall_s=round(time.time() - t_start, 1),
        ok=not failures, failures=failures, per_position=per,
    )
    for s in sims.values():
        s.close()
    if tmp is not None:
        tmp.cleanup()
    return out


if __name__ == "__main__":  # the book chaos zygote
    if len(sys.argv) >= 4 and sys.argv[1] == "zygote":
        _zygote(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(run_book_chaos(int(sys.argv[1]) if len(sys.argv) > 1 else 3, kills=5)))
