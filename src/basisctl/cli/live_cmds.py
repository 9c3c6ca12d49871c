"""Live/paper operation: `basisctl run` (the controller), `basisctl ack` (lift a halt that waits for an operator)
and `basisctl chaos` (the fault-injection suite)."""

from __future__ import annotations

import os
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import typer

from basisctl.cli._common import console, err_console, fail, handle_errors, print_json


def _wait_for_interrupt() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM; both end the wait normally."""
    import signal

    done = threading.Event()
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in old:
        signal.signal(sig, lambda signum, frame: done.set())
    try:
        while not done.wait(0.2):
            pass
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def plural(count: int, noun: str) -> str:
    """``1 rebalance``, ``2 rebalances``, ``0 rebalances``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def chaos_table(res: dict[str, Any]) -> Any:
    """The chaos audit as a two-column table (nested counters flattened to ``faults: restart_delays``; lists
    joined, an empty one shown as ``none``), not a Python dict."""
    from rich.table import Table

    t = Table(title="chaos audit", show_header=True)
    t.add_column("check")
    t.add_column("value", justify="right")

    def cell(v: Any) -> str:
        if isinstance(v, list | tuple):
            return "; ".join(map(str, v)) or "none"
        return "yes" if v is True else "no" if v is False else str(v)

    for k, v in res.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                t.add_row(f"{k}: {k2}", cell(v2))
        else:
            t.add_row(k, cell(v))
    return t


def register(app: typer.Typer) -> None:
    from basisctl.cli.book_cmds import register as register_book

    register_book(app)  # `basisctl kill --book`

    @app.command("run")
    @handle_errors
    def run_cmd(
        config: Path | None = typer.Option(
            None, "--config", help="controller TOML; default: the BTC paper example on the simulated venue"
        ),
        paper: bool = typer.Option(
            True,
            "--paper/--live",
            help="paper (default) or live; live also needs mode='live' and 'account' in the config",
        ),
        max_cycles: int | None = typer.Option(
            None, "--max-cycles", min=1, help="stop after N cycles (default: 48 for the example, unbounded otherwise)"
        ),
        serve: bool = typer.Option(
            False, "--serve/--no-serve", help="serve /health /state /metrics and the dashboard on 127.0.0.1"
        ),
        port: int = typer.Option(8787, "--port", help="dashboard/API port"),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="dashboard/API bind address; anything but loopback needs BASISCTL_API_TOKEN"
        ),
        openapi: bool = typer.Option(False, "--openapi", help="also serve /openapi.json and /docs"),
        force_config: bool = typer.Option(
            False, "--force-config", help="resume a journal although its [sim]/[venue] sections changed"
        ),
        state_dir: Path = typer.Option(
            Path("basisctl-paper"),
            "--state-dir",
            help="example only: folder for the journal, sim state and trade log (an existing one is resumed)",
        ),
        pace: float = typer.Option(0.0, "--pace", min=0.0, help="paper replay: wall seconds between cycles"),
        json_out: bool = typer.Option(False, "--json", help="print the final state as JSON"),
        quiet: bool = typer.Option(False, "--quiet", help="no per-cycle lines"),
        book: Path | None = typer.Option(
            None, "--book", help="run a book (TOML: N positions, one journal; docs/operations.md, Books)"),
    ) -> None:
        """Run the band-policy controller: observe -> alpha_t & band -> policy -> execute (spot leg first)."""
        from basisctl.errors import DataCoverageError
        from basisctl.live.config import example_config_path, load_config, parse_config
        from basisctl.live.runner import build

        info = err_console if json_out else console  # --json: stdout carries the JSON only
        if book is not None:
            from basisctl.cli.book_cmds import run_book

            if config is not None:
                fail("--book and --config exclude each other (a book names its base config in 'base_config')")
            if not paper:
                fail("--live with --book: a book runs in paper mode (a live book needs per-position margin); "
                     "refusing")
            run_book(book, max_cycles, serve, port, host, force_config, pace, json_out, quiet)
            return
        if config is None and not paper:
            fail("--live needs --config: a controller TOML with mode = 'live' and account = '<address>' "
                 "(the built-in example is paper only); refusing")
        if config is None:
            state_dir.mkdir(parents=True, exist_ok=True)
            src = example_config_path()
            cfg = parse_config(tomllib.loads(src.read_text()), str(src), state_dir.resolve())
            if max_cycles is None:
                max_cycles = 48
            info.print(
                f"[bold]basisctl paper example[/]: BTC on the simulated venue (Hyperliquid "
                f"data); state in {state_dir}/",
                highlight=False,
            )
        else:
            cfg = load_config(config)
        live = not paper
        if serve and host != "127.0.0.1":
            from basisctl.live.api import TOKEN_ENV, is_loopback

            if not is_loopback(host) and not os.environ.get(TOKEN_ENV):
                fail(f"--host {host} is not loopback: set a bearer token in {TOKEN_ENV} (required on every route)")
        sock = None
        if serve:  # listen before anything starts: a port in use is refused here, not logged while trading
            from basisctl.live.api import bind_socket

            sock = bind_socket(host, port)
        built = build(cfg, live=live, force_config=force_config)
        ctl = built.controller
        if live:
            info.print(f"[bold red]LIVE[/] on {cfg.venue.base_url} account {cfg.account}", highlight=False)
        ctl.install_signal_handlers()
        server = None
        if serve:
            from basisctl.live.api import serve_in_thread

            server = serve_in_thread(ctl, port, host, openapi, sock)
            info.print(f"dashboard: http://{host}:{port}/  (API: /health /state /metrics)", highlight=False)
        p = ctl.policy
        info.print(
            f"band: alpha_L={p.alpha_lower:.4f}  alpha_target={p.alpha_target:.4f}  "
            f"alpha_U={p.alpha_upper:.4f}  ({ctl.band_info.get('source')})",
            highlight=False,
        )

        def advance(seconds: float) -> None:
            if pace:
                time.sleep(pace)
            if built.advance is not None:
                built.advance(seconds)
            else:
                time.sleep(seconds)

        from basisctl.live import backup as _backup

        backups = _backup.scheduler_for(cfg)  # [backup] every_hours > 0: online journal backups between cycles
        ctl.backups = backups  # /health shows its status
        ctl.start()
        n = 0
        while not ctl.stop_requested and (max_cycles is None or n < max_cycles):
            try:
                rec = ctl.safe_cycle()  # read failures: alert + skipped cycle (None), with backoff
            except DataCoverageError as e:
                info.print(f"replay data ended: {e}", highlight=False)
                break
            n += 1
            if rec is not None and not quiet and not json_out:
                d = ctl.last_decision
                st = ctl.last_state
                ts = time.strftime("%Y-%m-%d %H:%M", time.gmtime(rec["ts_ms"] / 1000))
                px = f"{st.spot_mid:,.0f}" if st else "-"
                console.print(
                    f"{ts}  px {px:>9}  alpha {rec['alpha']:.4f}  equity ${rec['equity_usd']:,.0f}  "
                    f"{(d.action.name.lower() if d else '-'):<16} {d.reason if d and d.action else ''}",
                    highlight=False,
                )
            if backups is not None:
                _backup.report(ctl.alerts, backups.poll(), ctl._now())
            if ctl.stop_requested or (max_cycles is not None and n >= max_cycles):
                break
            try:
                advance(cfg.cadence_seconds)
            except DataCoverageError as e:
                info.print(f"replay data ended: {e}", highlight=False)
                break
        if ctl.halted and cfg.safety.flatten_on_kill and not ctl.flattened:
            ctl.flatten(built.venue.state())
        if backups is not None:  # a backup in flight finishes (its .part file is never left as a backup)
            _backup.report(ctl.alerts, backups.wait(30.0), ctl._now())
        if ctl.alerts.notifier is not None:  # deliver what is queued (the SIGTERM alert too), at most 10 s
            ctl.alerts.notifier.close(10.0)
        state = ctl.public_state()
        if json_out:
            print_json(
                {
                    k: state[k]
                    for k in (
                        "mode",
                        "asset",
                        "cycles",
                        "halted",
                        "halt_reason",
                        "band",
                        "state",
                        "last",
                        "alert_counts",
                        "trades",
                        "unhedged",
                    )
                }
            )
        else:
            console.print(
                f"done: {plural(n, 'cycle')}, {plural(state['journal']['fills'], 'fill')} journaled, "
                f"{plural(len(state['trades']), 'rebalance')}, alerts {state['alert_counts'] or 'none'}; "
                f"trade log {cfg.resolve(cfg.trade_log)}",
                highlight=False,
            )
        if server is not None:
            if not ctl.stop_requested:  # the run ended by itself: keep the printed URL alive until Ctrl-C
                info.print(f"serving the final state at http://{host}:{port}/ until Ctrl-C", highlight=False)
                _wait_for_interrupt()
            server.stop()

    @app.command("ack")
    @handle_errors
    def ack_cmd(
        config: Path | None = typer.Option(None, "--config", help="the controller TOML whose journal to acknowledge"),
        note: str = typer.Option("", "--note", help="free text kept in the journal with the ack"),
        book: Path | None = typer.Option(None, "--book", help="a book file: acknowledge one of its positions"),
        position: str | None = typer.Option(None, "--position", help="with --book: the position id"),
    ) -> None:
        """Acknowledge a halt that waits for an operator (EXTERNAL_POSITION_CHANGE, ONE_LEGGED_TIMEOUT): the
        running controller (or the next start) allows new risk again. Safe while the controller runs."""
        from basisctl.live.ack import acknowledge
        from basisctl.live.config import load_config

        if book is not None:
            from basisctl.live.book.control import acknowledge_position

            if position is None:
                fail("--book needs --position ID (the position whose halt to acknowledge)")
            console.print(acknowledge_position(book, str(position), note), highlight=False)
            return
        if config is None:
            fail("ack needs --config FILE (or --book FILE --position ID)")
        msg = acknowledge(load_config(config), note)
        console.print(msg, highlight=False)

    @app.command("chaos")
    @handle_errors
    def chaos_cmd(
        kills: int = typer.Option(20, "--kills", min=1, help="number of SIGKILLs of the controller process"),
        seed: int = typer.Option(0, "--seed", help="seed of the kill schedule and the injected faults"),
        transport: str = typer.Option(
            "auto",
            "--transport",
            help="'http' (local Hyperliquid-shaped server, "
            "needs the 'live' extra), 'file' (shared sim state file) or 'auto'",
        ),
        workdir: Path | None = typer.Option(None, "--workdir", help="keep the run's files here (default: temp)"),
        json_out: bool = typer.Option(False, "--json", help="machine-readable result"),
        book: int = typer.Option(0, "--book", min=0, max=8, help="kill a paper BOOK of this many positions "
                                 "(one process, one journal) instead of one controller; per-position audit"),
    ) -> None:
        """Kill the controller with SIGKILL at random points during rebalances, restart it, audit the books."""
        from basisctl.live.chaos import run_chaos

        if book:
            from basisctl.live.book.chaos import run_book_chaos

            res = run_book_chaos(positions=book, kills=kills, seed=seed, workdir=workdir)
            if json_out:
                print_json(res)
            else:
                console.print(chaos_table({k: v for k, v in res.items() if k != "per_position"}))
            if not res["ok"]:
                fail("book chaos audit failed: " + "; ".join(res["failures"]), code=1)
            return

        res = run_chaos(kills=kills, seed=seed, transport=transport, workdir=workdir)
        if json_out:
            print_json(res)
        else:
            console.print(chaos_table(res))
        if not res["ok"]:
            fail("chaos audit failed: " + "; ".join(res["failures"]), code=1)
