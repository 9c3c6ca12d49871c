"""``basisctl data``: list the data the locator finds, check a file, download venue history into a Parquet store.

Exit codes (the scheme of every command, docs/conventions.md): 0 success (``check``: file valid; gaps and
settlement-grid offsets are printed as warnings), 1 ``check`` read the file and found issues (all listed),
2 usage errors, unreadable files, files whose kind cannot be told and failed downloads (one line on stderr).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from basisctl.cli import pool_cmds
from basisctl.cli._common import console, err_console, fail, handle_errors, print_json
from basisctl.cli._defaults import BINANCE_USDM_URL, DATA_ASSETS, HYPERLIQUID_URL

if TYPE_CHECKING:
    from basisctl.data.validate import ValidationReport

# data/numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas

data_app = typer.Typer(
    rich_markup_mode=None,  # help is printed literally: [days], [h], basisctl[gpu] survive
    help="Data: where it is read from (data dirs, user store), file checks, downloads.\n\n"
    "Units: funding rates are decimals per settlement "
    "interval (+ = longs pay shorts), interval_hours in hours; candles are stamped at bar OPEN (UTC).",
    no_args_is_help=True,
)

LIST_COLUMNS = ("kind", "venue", "asset", "interval", "format", "root", "path")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------------------------------------------- list
@handle_errors
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False) -> None:
    """List the data the locator finds: each data dir in search order and every funding/price file in it."""
    from basisctl.data import locator

    rts = locator.roots()
    records = locator.describe()
    meta = locator.hyperliquid_meta_path()
    if as_json:
        print_json({"roots": [{"path": str(r.path), "origin": r.origin, "exists": r.path.is_dir()} for r in rts],
                    "files": records, "hyperliquid_meta": str(meta) if meta else None})
        return
    for k, r in enumerate(rts, 1):
        state = "" if r.path.is_dir() else " [dim](empty: not created yet)[/]"
        console.print(f"{k}. {escape(str(r.path))} ({r.origin}){state}", highlight=False)
    if not records:
        console.print("no market data found. Download the default set with `basisctl data pull`, or point "
                      "--data-dir / BASISCTL_DATA_DIR at a folder in the shared layout (see docs/data.md).",
                      highlight=False, markup=False)
        return
    table = Table(title="Data files (first data dir holding a file wins)", show_lines=False)
    for c in LIST_COLUMNS:
        table.add_column(c, overflow="fold", no_wrap=c != "path")
    for rec in records:
        table.add_row(*[escape(_cell(rec[c])) for c in LIST_COLUMNS])
    console.print(table)
    console.print(f"Hyperliquid margin tables: {escape(str(meta)) if meta else 'none found'}", highlight=False)


# ---------------------------------------------------------------------------------------------------- check
def _print_report(rep: ValidationReport, max_issues: int) -> None:
    status = "[bold green]OK[/]" if rep.ok else f"[bold red]INVALID[/] ({len(rep.issues)} issues)"
    console.print(f"{escape(rep.source)}: {rep.kind}, {rep.rows} rows: {status}", highlight=False)
    if rep.first is not None:
        iv = f", interval {rep.interval_hours:g} h" if rep.interval_hours else ""
        console.print(f"  span {rep.first.isoformat()} -> {rep.last.isoformat() if rep.last else ''}{iv}")
    for n in rep.notes:
        console.print(f"  note: {n}", highlight=False, markup=False)
    for w in rep.warnings:
        err_console.print(f"warning: {rep.source}: {w}", highlight=False, markup=False)
    if rep.issues:
        t = Table(title="Issues (row = 0-based data row; line = file line, header = line 1)")
        for c in ("row", "line", "column", "expected", "got"):
            t.add_column(c, overflow="fold")
        for i in rep.issues[:max_issues]:
            t.add_row(_cell(i.row), _cell(i.line), escape(_cell(i.column)), escape(i.expected), escape(i.got))
        console.print(t)
        if len(rep.issues) > max_issues:
            console.print(f"  ... and {len(rep.issues) - max_issues} more issues (use --max-issues or --json)")
    if rep.gaps:
        err_console.print(
            f"[yellow]warning:[/] {escape(rep.source)}: {_n(len(rep.gaps), 'gap')}, "
            f"{_n(rep.missing_total, 'missing row')} (reported, not filled)",
            highlight=False,
        )
        t = Table(title="Gaps (first and last missing instant)")
        for c in ("after row", "start", "end", "missing"):
            t.add_column(c)
        for g in rep.gaps[:max_issues]:
            t.add_row(str(g.after_row), g.start.isoformat(), g.end.isoformat(), str(g.missing))
        console.print(t)
        if len(rep.gaps) > max_issues:
            console.print(f"  ... and {len(rep.gaps) - max_issues} more gaps")


@handle_errors
def check_cmd(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file (funding or candles; detected by columns).")],
    kind: Annotated[str | None, typer.Option(help="Force funding | candles instead of detecting.")] = None,
    interval: Annotated[
        str | None, typer.Option(help="Candle bar length, e.g. 1h (default: file-name suffix, else inferred).")
    ] = None,
    max_issues: Annotated[int, typer.Option(help="Issues and gaps printed in the table.")] = 50,
    exclude_spikes: Annotated[bool, typer.Option(
        "--exclude-spikes", help="Leave one-bar reverting price spikes out (a warning lists them) instead of "
        "failing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Validate a funding or candle file; exit 1 and list every issue if it is invalid. Gaps are warnings.

    Exit codes: 0 valid, 1 invalid (every issue listed), 2 unreadable file, unknown kind or bad option."""
    from basisctl.data.fetch._parse import INTERVAL_MS
    from basisctl.data.io import check_file

    if kind not in (None, "funding", "candles"):
        fail(f"--kind expects funding or candles (got '{kind}')")
    if not path.exists():
        fail(f"{path}: no such file")
    ih = None
    if interval is not None:
        if interval not in INTERVAL_MS:
            fail(f"--interval expects one of {', '.join(INTERVAL_MS)} (got '{interval}')")
        ih = INTERVAL_MS[interval] / 3_600_000
    rep = check_file(path, kind, ih, exclude_spikes=exclude_spikes)  # type: ignore[arg-type]
    if as_json:
        print_json(rep.as_dict())
    else:
        _print_report(rep, max_issues)
    if not rep.ok:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------------- fetch
@handle_errors
def fetch_cmd(
    venue: Annotated[str, typer.Option(help="binance (USD-M) | hyperliquid | bybit | okx | dydx | kraken "
                                            "(the last four: funding).")],
    asset: Annotated[str | None, typer.Option(help="Asset, e.g. BTC (Binance symbol BTCUSDT); not for meta.")] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start (UTC date/time, inclusive). Default: resume after the stored data."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="End (UTC date/time, exclusive). Default: now.")] = None,
    store: Annotated[
        Path | None, typer.Option(help="Store root (default: the user store, $BASISCTL_STORE or the platform "
                                       "cache dir; see `basisctl data list`).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="funding | candles | mark (Binance mark-price klines) | meta (Hyperliquid snapshot).")
    ] = "funding",
    interval: Annotated[str, typer.Option(help="Bar length for candles/mark, e.g. 1h, 4h, 1d.")] = "1h",
    base_url: Annotated[str | None, typer.Option(help="Override the API base URL (mirrors, tests).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the append summary as JSON.")] = False,
) -> None:
    """Download history into the local Parquet store (incremental: re-fetching never duplicates rows)."""
    from basisctl.data.fetch._parse import INTERVAL_MS
    from basisctl.venues.pull import OTHER_FUNDING_VENUES, Clients, Series, fetch_series, store_for

    venue = venue.lower()
    if venue not in ("binance", "hyperliquid", *OTHER_FUNDING_VENUES):
        fail(f"--venue expects binance, hyperliquid or (funding only) {', '.join(OTHER_FUNDING_VENUES)} "
             f"(got '{venue}')")
    if venue in OTHER_FUNDING_VENUES and kind != "funding":
        fail(f"--venue {venue}: only --kind funding is downloaded for this venue")
    if kind not in ("funding", "candles", "mark", "meta"):
        fail(f"--kind expects funding, candles, mark or meta (got '{kind}')")
    if kind == "mark" and venue == "hyperliquid":
        fail("Hyperliquid's info API has no mark-price history; use --kind meta for the current mark/oracle snapshot")
    if kind == "meta" and venue != "hyperliquid":
        fail("--kind meta is the Hyperliquid metaAndAssetCtxs snapshot; use --venue hyperliquid")
    if kind in ("candles", "mark") and interval not in INTERVAL_MS:
        fail(f"--interval expects one of {', '.join(INTERVAL_MS)} (got '{interval}')")
    if kind != "meta" and not asset:
        fail("--asset is required (e.g. --asset BTC)")
    st = store_for(store)
    if st.root.exists() and not st.root.is_dir():
        fail(f"store {st.root}: not a directory")
    series = Series(venue, kind, (asset or "").upper(), None if kind in ("funding", "meta") else interval)
    if kind != "meta" and from_ is None and st.last_ts(kind, venue, series.asset, series.interval) is None:
        fail(f"--from is required: nothing stored yet for {series.label} in {st.root}")
    clients = Clients(binance_url=base_url or BINANCE_USDM_URL, hyperliquid_url=base_url or HYPERLIQUID_URL,
                      other_url=base_url)
    try:
        with err_console.status(f"fetching {series.label}"):
            summary = fetch_series(st, series, clients, start=from_, end=to)
    finally:
        summary_requests = clients.requests()
        clients.close()
    summary["requests"] = summary_requests
    if as_json:
        print_json(summary)
        return
    if kind != "meta" and (summary.get("up_to_date") or summary.get("fetched", 0) == 0):
        console.print(f"{series.label}: nothing new in the window; store unchanged ({summary['path']})",
                      highlight=False, markup=False)
        return
    if kind == "meta":
        console.print(f"wrote {summary['path']} ({summary['assets']} assets)", highlight=False, markup=False)
        return
    console.print(
        f"{series.label}: fetched {_n(summary['fetched'], 'row')} in {_n(summary_requests, 'request')}; "
        f"added {summary['added']}, replaced {summary['replaced']}; {summary['total']} rows in {summary['path']}",
        highlight=False, markup=False,
    )
    if summary.get("gaps"):
        err_console.print(
            f"warning: stored series has {_n(len(summary['gaps']), 'gap')}, "
            f"{_n(summary['missing_total'], 'missing row')} (not filled); `basisctl data check` lists them",
            highlight=False, markup=False,
        )


# ---------------------------------------------------------------------------------------------------- pull
@handle_errors
def pull_cmd(
    assets: Annotated[str, typer.Option(help="Comma-separated assets.")] = ",".join(DATA_ASSETS),
    from_: Annotated[str, typer.Option("--from", help="Earliest UTC date of the history (resumes after what is "
                                                      "stored).")] = "2020-11-01",
    store: Annotated[Path | None, typer.Option(help="Store root (default: the user store, see `data list`).")] = None,
    binance_url: Annotated[str, typer.Option(help="Binance USD-M API base URL (mirrors, tests).")] = BINANCE_USDM_URL,
    hyperliquid_url: Annotated[str, typer.Option(help="Hyperliquid API base URL (mirrors, tests).")] = HYPERLIQUID_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print one summary row per series as JSON.")] = False,
) -> None:
    """Download the data the main job needs (public endpoints, no keys): Binance USD-M funding and 1h/4h klines,
    Hyperliquid funding, recent 1h candles and margin tables. Resumable: run it again to continue or update."""
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from basisctl.venues.pull import Clients, default_set, pull, store_for

    names = tuple(a.strip().upper() for a in assets.split(",") if a.strip())
    if not names:
        fail("--assets is empty")
    from basisctl.venues.pull import parse_time_ms

    if parse_time_ms(from_, "--from") >= parse_time_ms(pd.Timestamp.now(tz="UTC"), "--from"):
        fail(f"--from {from_} is not in the past")
    st = store_for(store)
    if st.root.exists() and not st.root.is_dir():
        fail(f"store {st.root}: not a directory")
    series = default_set(names, from_)
    clients = Clients(binance_url=binance_url, hyperliquid_url=hyperliquid_url)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=as_json or not err_console.is_terminal)
    with progress:
        task = progress.add_task("pull", total=len(series))

        def step(s: Any, row: dict[str, Any] | None, err: str | None) -> None:
            progress.advance(task)
            progress.update(task, description=s.label)
            if err:
                err_console.print(f"warning: {s.label}: {err}", highlight=False, markup=False)
            elif not as_json and row is not None:
                if "assets" in row:
                    what = f"snapshot of {row['assets']} assets"
                elif row.get("up_to_date"):
                    what = f"up to date, {row.get('total', 0)} stored (last row {row.get('last') or 'none'})"
                else:
                    what = f"+{row.get('added', 0)} rows, {row.get('total', 0)} stored"
                err_console.print(f"{s.label}: {what}", highlight=False, markup=False)

        try:
            rows = pull(st, series, clients, on_item=step)
        finally:
            clients.close()
    failed = [r for r in rows if not r["ok"]]
    if as_json:
        print_json({"store": str(st.root), "series": rows, "failed": len(failed)})
    else:
        console.print(f"store {st.root}: {len(rows) - len(failed)} of {len(rows)} series up to date",
                      highlight=False, markup=False)
    if failed:
        fail(f"{len(failed)} of {len(rows)} series failed (first: {failed[0]['series']}: {failed[0]['error']}); "
             "run `basisctl data pull` again to resume")


def register(app: typer.Typer) -> None:
    pool_cmds.register(data_app)
    data_app.command("list")(list_cmd)
    data_app.command("check")(check_cmd)
    data_app.command("fetch")(fetch_cmd)
    data_app.command("pull")(pull_cmd)
    app.add_typer(data_app, name="data")
