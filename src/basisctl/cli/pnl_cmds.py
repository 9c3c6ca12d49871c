"""``basisctl pnl``: P&L attribution of a controller journal (basisctl.pnl)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from basisctl.cli._common import handle_errors, print_json, print_table_or_records
from basisctl.errors import BasisctlError


def _read_flows(path: str) -> list[dict[str, Any]]:
    """Vault flows CSV: ts (ISO UTC or ms), amount_usd (> 0 deposit, < 0 withdrawal), optional position,
    account (spot|perp)."""
    import pandas as pd

    df = pd.read_csv(path)
    for col in ("ts", "amount_usd"):
        if col not in df.columns:
            raise BasisctlError(f"{path}: column '{col}' missing (expected ts, amount_usd[, position, account])")
    out = []
    for i, r in df.iterrows():
        try:
            ts = int(r["ts"]) if str(r["ts"]).isdigit() else int(pd.Timestamp(r["ts"]).tz_localize(None).value // 10**6)
            amt = float(r["amount_usd"])
        except (TypeError, ValueError):
            raise BasisctlError(f"{path}: row {int(i) + 2}: ts / amount_usd not a time / number "  # type: ignore[call-overload]
                                f"(got {r['ts']!r}, {r['amount_usd']!r})") from None
        if not pd.notna(amt) or amt == 0:
            raise BasisctlError(f"{path}: row {int(i) + 2}: amount_usd must be a non-zero number")  # type: ignore[call-overload]
        out.append({"ts_ms": ts, "amount_usd": amt, "position": str(r.get("position", "") or ""),
                    "account": str(r.get("account", "spot") or "spot")})
    return out


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
    p = Path(journal)
    with JournalReader(p) as j:  # read-only: a running controller's journal is never written
        res = attribute(j, _read_flows(flows) if flows else None)
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
