"""`basisctl run --book FILE` (a book of positions under one process and one journal) and `basisctl kill --book`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from basisctl.cli._common import console, err_console, handle_errors, print_json


def run_book(book_path: Path, max_cycles: int | None, serve: bool, port: int, host: str, force_config: bool,
             pace: float, json_out: bool, quiet: bool) -> None:
    """Build the book, serve its API when asked, cycle until ``max_cycles`` / SIGTERM / the end of the replay."""
    from basisctl.errors import DataCoverageError
    from basisctl.live.book.config import load_book
    from basisctl.live.book.runner import build_book

    info = err_console if json_out else console
    sock = None
    if serve:  # listen before anything starts: a busy port is refused before trading
        from basisctl.live.api import bind_socket

        sock = bind_socket(host, port)
    bk = build_book(load_book(book_path), str(book_path), force_config=force_config)
    bk.install_signal_handlers()
    server = None
    if serve:
        from basisctl.live.book.api import serve_book_in_thread

        server = serve_book_in_thread(bk, port, host, sock)
        info.print(f"book API: http://{host}:{port}/positions  (/health /state /metrics, POST /kill)", highlight=False)
    for bp in bk.positions:
        p = bp.ctl.policy
        info.print(f"{bp.spec.id}: {bp.spec.asset} on {bp.spec.venue}, ${bp.cfg.sim.capital_usd:,.0f}; band "
                   f"alpha_L={p.alpha_lower:.4f} alpha_target={p.alpha_target:.4f} alpha_U={p.alpha_upper:.4f}",
                   highlight=False)
    bk.start()
    n = 0
    while not bk.stop_requested and (max_cycles is None or n < max_cycles):
        try:
            rec = bk.cycle()
        except DataCoverageError as e:
            info.print(f"replay data ended: {e}", highlight=False)
            break
        n += 1
        if not quiet and not json_out:
            parts = []
            for pid, r in rec.items():
                a = f"{r['alpha']:.4f}" if r.get("alpha") is not None else "-"
                flag = " HALTED" if r.get("halted") else ""
                parts.append(f"{pid} a={a} {r.get('action') or '-'}{flag}" + (" ERROR" if r.get("error") else ""))
            console.print(f"cycle {n}: " + " | ".join(parts), highlight=False)
        if bk.stop_requested or (max_cycles is not None and n >= max_cycles):
            break
        try:
            if pace:
                time.sleep(pace)
            bk._default_sleep(bk.cadence())
        except DataCoverageError as e:
            info.print(f"replay data ended: {e}", highlight=False)
            break
    bk.finish()
    if json_out:
        print_json({"cycles": n, "totals": bk.totals(), "positions": bk.position_rows()})
    else:
        t = bk.totals()
        console.print(f"done: {n} book cycle(s), {t['positions']} positions, {t['halted_positions']} halted; "
                      f"journal {bk.journal.path}", highlight=False)
    if server is not None:
        if not bk.stop_requested:
            from basisctl.cli.live_cmds import _wait_for_interrupt

            info.print(f"serving the final state at http://{host}:{port}/positions until Ctrl-C", highlight=False)
            _wait_for_interrupt()
        server.stop()


def register(app: typer.Typer) -> None:
    @app.command("kill")
    @handle_errors
    def kill_cmd(
        book: Path = typer.Option(..., "--book", help="the book file whose kill switch to throw"),
        note: str = typer.Option("", "--note", help="free text written into the kill file"),
    ) -> None:
        """The book kill switch: every position halts new risk at its next cycle (flattens with kill.flatten)."""
        from basisctl.live.book.control import kill_book

        f = kill_book(book, note)
        console.print(f"kill file {f} written: every position halts new risk at its next cycle", highlight=False)
