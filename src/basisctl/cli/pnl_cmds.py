"""``basisctl pnl``: P&L attribution of a controller journal (basisctl.pnl)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from basisctl.cli._common import handle_errors, print_json, print_table_or_records
from basisctl.errors import BasisctlError


def _read_flows(path: str) -> list[dict[str, Any]]:
    """Vault flows CSV (basisctl.pnl.flows): ts (ISO UTC or ms), amount_usd (> 0 deposit, < 0 withdrawal),
    optional position, account (spot|perp)."""
    from basisctl.pnl.flows import read_flows

    return read_flows(path)


@handle_errors
def pnl(
    journal: Annotated[str, typer.Option(help="Controller journal (SQLite) to attribute.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    by: Annotated[str, typer.Option(help="'book' (totals) or 'position' (each position, and the book).")] = "book",
    out: Annotated[str | None, typer.Option(help="Write the attributed ledger (one row per event and bucket) "
                                            "to X.parquet or X.csv for accounting.")] = None,
    flows: Annotated[str | None, typer.Option(help="Vault deposits/withdrawals CSV: ts, amount_usd[, position, "
                                              "account].")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Every warning is an error (exit 2).")] = False,
) -> None:
    """P&L attribution per position and for the book [USD]: funding, basis, directional, fees, slippage,
    liquidation, transfers; NAV from venue balances; the unexplained remainder on its own line; NAV per share
    and time-weighted return net of vault flows."""
    from basisctl.pnl import attribute
    from basisctl.pnl.reader import JournalReader

    if by not in ("book", "position"):
        raise BasisctlError(f"--by {by!r}: expected 'book' or 'position'")
    if out is not None and not out.endswith((".parquet", ".csv")):
        raise BasisctlError(f"--out {out}: expected a .parquet or .csv file name")
    if out is not None and not Path(out).resolve().parent.is_dir():  # pandas raised a bare OSError (traceback)
        raise BasisctlError(f"--out {out}: folder {Path(out).resolve().parent} does not exist")
    if out is not None and Path(out).is_dir():
        raise BasisctlError(f"--out {out}: is a folder; expected a .parquet or .csv file name")
    p = Path(journal)
    from basisctl.pnl.attribution import AttributionError

    extra = _read_flows(flows) if flows else None
    with JournalReader(p) as j:  # read-only: a running controller's journal is never written
        try:
            res = attribute(j, extra)
        except AttributionError as e:  # name the journal file in the one line
            raise BasisctlError(str(e) if str(e).startswith(str(p)) else f"{p}: {e}") from None
    doc: dict[str, Any] = {"journal": str(p), "book": res.book()}
    if by == "position":
        doc["positions"] = [x.to_dict() for x in res.positions]
    if out is not None:
        import pandas as pd

        df = pd.DataFrame(res.ledger, columns=["ts_ms", "position", "bucket", "amount_usd", "source"])
        df.insert(0, "ts", pd.to_datetime(df["ts_ms"], unit="ms", utc=True))
        if out.endswith(".parquet"):
            df.to_parquet(out, index=False)
        else:
            df.to_csv(out, index=False)
        doc["out"] = {"path": out, "rows": len(df)}
    if as_json:
        print_json(doc)
        return
    rows = []
    for name, d in ([("book", doc["book"])] + [(x["position"] or "(one)", x) for x in doc.get("positions", [])]):
        for b, v in d["buckets_usd"].items():
            rows.append([name, b, f"{v:,.2f}"])
        rows += [[name, "unexplained", f"{d['unexplained_usd']:,.2f} (bound {d['unexplained_bound_usd']:,.2f})"],
                 [name, "pnl", f"{d['pnl_usd']:,.2f}"], [name, "twr", f"{d['twr']:.4%}"]]
    print_table_or_records("P&L attribution [USD]", ["scope", "line", "value"], rows)


def register(app: typer.Typer) -> None:
    app.command("pnl")(pnl)
