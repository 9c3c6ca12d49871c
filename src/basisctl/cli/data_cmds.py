"""``basisctl data``: list shipped datasets, check a data file, fetch venue history into a Parquet store.

Exit codes (the scheme of every command, docs/conventions.md): 0 success (``check``: file valid; gaps and
settlement-grid offsets are printed as warnings), 1 ``check`` read the file and found issues (all listed),
2 usage errors, unreadable files, files whose kind cannot be told and failed downloads (one line on stderr).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from basisctl.cli._common import console, err_console, fail, handle_errors, print_json

if TYPE_CHECKING:
    from basisctl.data.validate import ValidationReport

# numerical/data modules are imported inside the commands: `basisctl --help` must not load numpy/pandas

data_app = typer.Typer(
    rich_markup_mode=None,  # help is printed literally: [days], [h], basisctl[gpu] survive
    help="Data: shipped datasets, file checks, downloads.\n\nUnits: funding rates are decimals per settlement "
    "interval (+ = longs pay shorts), interval_hours in hours; candles are stamped at bar OPEN (UTC).",
    no_args_is_help=True,
)

LIST_COLUMNS = ("kind", "venue", "asset", "interval", "rows", "first", "last", "sources", "notes")
DEFAULT_STORE_ENV = "BASISCTL_STORE"


def default_store() -> Path:
    """``$BASISCTL_STORE`` or ``~/.basisctl/store``."""
    return Path(os.environ.get(DEFAULT_STORE_ENV) or Path.home() / ".basisctl" / "store")


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
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False) -> None:
    """List the datasets shipped inside the package (provenance: source, span, caveats)."""
    import pandas as pd

    from basisctl.data import shipped

    df = shipped.list_datasets()
    cols = [c for c in LIST_COLUMNS if c in df.columns]
    records: list[dict[str, Any]] = [
        {c: (None if pd.isna(r[c]) else r[c]) for c in cols} for r in df.to_dict("records")
    ]
    for r in records:
        if isinstance(r.get("rows"), float):
            r["rows"] = int(r["rows"])
    if as_json:
        print_json(records)
        return
    table = Table(title="Shipped datasets (basisctl/datasets; sources in SOURCES.md)", show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold", no_wrap=c not in ("notes", "sources"))
    for r in records:
        row = [_cell(r[c]) for c in cols]
        for i, c in enumerate(cols):
            if c in ("first", "last") and row[i]:
                row[i] = row[i][:16].replace("T", " ")
        table.add_row(*row)
    console.print(table)


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
        console.print(
            f"[yellow]warning:[/] {_n(len(rep.gaps), 'gap')}, {_n(rep.missing_total, 'missing row')} "
            "(reported, not filled)",
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
        "--exclude-spikes", help="Leave one-bar reverting price spikes out (noted) instead of failing.")] = False,
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
    venue: Annotated[str, typer.Option(help="binance (USD-M) | hyperliquid.")],
    asset: Annotated[str, typer.Option(help="Asset, e.g. BTC (Binance symbol BTCUSDT).")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start (UTC date/time, inclusive). Default: resume after the stored data."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="End (UTC date/time, exclusive). Default: now.")] = None,
    store: Annotated[
        Path | None, typer.Option(help=f"Store root (default ${DEFAULT_STORE_ENV} or ~/.basisctl/store).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="funding | candles | mark (Binance mark-price klines) | meta (Hyperliquid snapshot).")
    ] = "funding",
    interval: Annotated[str, typer.Option(help="Bar length for candles/mark, e.g. 1h, 4h, 1d.")] = "1h",
    base_url: Annotated[str | None, typer.Option(help="Override the API base URL (mirrors, tests).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the append summary as JSON.")] = False,
) -> None:
    """Download history into the local Parquet store (incremental: re-fetching never duplicates rows)."""
    import pandas as pd

    from basisctl.data.fetch import BINANCE_USDM_URL, HYPERLIQUID_URL, BinanceUsdm, HyperliquidInfo
    from basisctl.data.fetch._parse import INTERVAL_MS, to_ms
    from basisctl.data.store import ParquetStore

    venue = venue.lower()
    if venue not in ("binance", "hyperliquid"):
        fail(f"--venue expects binance or hyperliquid (got '{venue}')")
    if kind not in ("funding", "candles", "mark", "meta"):
        fail(f"--kind expects funding, candles, mark or meta (got '{kind}')")
    if kind == "mark" and venue == "hyperliquid":
        fail("Hyperliquid's info API has no mark-price history; use --kind meta for the current mark/oracle snapshot")
    if kind == "meta" and venue != "hyperliquid":
        fail("--kind meta is the Hyperliquid metaAndAssetCtxs snapshot; use --venue hyperliquid")
    if kind in ("candles", "mark") and interval not in INTERVAL_MS:
        fail(f"--interval expects one of {', '.join(INTERVAL_MS)} (got '{interval}')")
    st = ParquetStore(store or default_store())
    if venue == "hyperliquid":
        hl = HyperliquidInfo(base_url=base_url or HYPERLIQUID_URL)
        if kind == "meta":
            with err_console.status("fetching Hyperliquid metaAndAssetCtxs"):
                meta = hl.meta_and_asset_ctxs()
            hl.close()
            now = pd.Timestamp.now(tz="UTC")
            p1 = st.write_snapshot("hyperliquid", "universe", meta.universe, now)
            p2 = st.write_snapshot("hyperliquid", "margin_tables", meta.margin_tables, now)
            out = {"universe": str(p1), "margin_tables": str(p2), "assets": len(meta.universe)}
            print_json(out) if as_json else console.print(f"wrote {p1} ({len(meta.universe)} assets) and {p2}")
            return
    store_interval = None if kind == "funding" else interval
    end_ms = to_ms(to) if to else to_ms(pd.Timestamp.now(tz="UTC"))
    if from_ is not None:
        start_ms = to_ms(from_)
    else:
        last = st.last_ts(kind, venue, asset, store_interval)
        if last is None:
            fail(f"--from is required: nothing stored yet for {kind} {venue} {asset.upper()} in {st.root}")
        start_ms = to_ms(last) + 1
    if start_ms >= end_ms:
        fail(f"empty window: --from {pd.Timestamp(start_ms, unit='ms', tz='UTC')} is not before --to")
    desc = f"{venue} {kind} {asset.upper()}{' ' + interval if store_interval else ''}"
    with err_console.status(f"fetching {desc}"):
        if venue == "binance":
            bn = BinanceUsdm(base_url=base_url or BINANCE_USDM_URL)
            if kind == "funding":
                prev = st.last_ts(kind, venue, asset)
                prev_ms = to_ms(prev) if prev is not None and to_ms(prev) < start_ms else None
                frame = bn.funding_history(asset, start_ms, end_ms, previous=prev_ms)
            elif kind == "candles":
                frame = bn.klines(asset, interval, start_ms, end_ms)
            else:
                frame = bn.mark_price_klines(asset, interval, start_ms, end_ms)
            requests = bn.http.requests
            bn.close()
        else:
            if kind == "funding":
                frame = hl.funding_history(asset, start_ms, end_ms)
            else:
                frame = hl.candles(asset, interval, start_ms, end_ms)
            requests = hl.http.requests
            hl.close()
    if frame.empty:
        summary: dict[str, object] = {
            "path": str(st.path(kind, venue, asset, store_interval)),
            "added": 0,
            "fetched": 0,
            "requests": requests,
        }
        print_json(summary) if as_json else console.print(f"{desc}: no rows in the window; store unchanged")
        return
    res = st.append(frame, kind, venue, asset, store_interval)
    summary = {**res.as_dict(), "fetched": len(frame), "requests": requests}
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{desc}: fetched {_n(len(frame), 'row')} in {_n(requests, 'request')}; added {res.added}, "
        f"replaced {res.replaced}; "
        f"{res.total} rows in {res.path}",
        highlight=False,
    )
    if res.report.gaps:
        console.print(
            f"[yellow]warning:[/] stored series has {_n(len(res.report.gaps), 'gap')}, "
            f"{_n(res.report.missing_total, 'missing row')} (not filled); `basisctl data check` lists them",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    data_app.command("list")(list_cmd)
    data_app.command("check")(check_cmd)
    data_app.command("fetch")(fetch_cmd)
    app.add_typer(data_app, name="data")
