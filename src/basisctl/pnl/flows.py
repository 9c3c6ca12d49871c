"""Vault flows CSV for ``basisctl pnl --flows``: deposits and withdrawals the venue balances do not explain.

Columns: ``ts`` (integer Unix milliseconds, or an ISO-8601 time: with an offset it is converted to UTC, without
one it is taken as UTC), ``amount_usd`` [USD, > 0 deposit, < 0 withdrawal, finite, non-zero], optional
``position`` (a book position id; '' = the single position) and ``account`` (``spot`` | ``perp``, default spot).
Every bad cell is a one-line error naming the file, row and column (never a silently shifted or dropped flow).
"""

from __future__ import annotations

import math
import re
from typing import Any

from basisctl.errors import BasisctlError

ACCOUNTS = ("spot", "perp")
_MS = re.compile(r"[0-9]{1,15}")


def _ts_ms(v: Any, where: str) -> int:
    import pandas as pd

    s = "" if v is None else str(v).strip()
    if _MS.fullmatch(s):
        return int(s)
    if not s or s.lower() in ("nan", "nat", "none") or re.fullmatch(r"[-+0-9.eE]+", s):
        raise BasisctlError(f"{where}: column 'ts': expected integer Unix milliseconds or an ISO-8601 time "
                            f"(got {s!r})")
    try:
        t = pd.Timestamp(s)
    except (TypeError, ValueError):
        t = None
    if t is None or t is pd.NaT:
        raise BasisctlError(f"{where}: column 'ts': expected integer Unix milliseconds or an ISO-8601 time "
                            f"(got {s!r})")
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return int(t.value // 10**6)


def read_flows(path: str) -> list[dict[str, Any]]:
    """The flows of ``path``, one dict per row (ts_ms, amount_usd, position, account); BasisctlError naming the
    file, row (1 = the header) and column for anything that is not a valid flow."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise BasisctlError(f"{path}: flows file not found") from None
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise BasisctlError(f"{path}: not a readable CSV ({' '.join(str(e).split())})") from None
    for col in ("ts", "amount_usd"):
        if col not in df.columns:
            raise BasisctlError(f"{path}: column '{col}' missing (expected ts, amount_usd[, position, account])")
    out = []
    for i, r in enumerate(df.to_dict("records")):
        where = f"{path}: row {i + 2}"
        ts = _ts_ms(r["ts"], where)
        try:
            amt = float(str(r["amount_usd"]).strip())
        except ValueError:
            amt = math.nan
        if not math.isfinite(amt) or amt == 0.0:
            raise BasisctlError(f"{where}: column 'amount_usd': expected a finite non-zero number of USD "
                                f"(got {r['amount_usd']!r})")
        account = str(r.get("account", "") or "spot").strip()
        if account not in ACCOUNTS:
            raise BasisctlError(f"{where}: column 'account': expected 'spot' or 'perp' (got {account!r})")
        out.append({"ts_ms": ts, "amount_usd": amt, "position": str(r.get("position", "") or "").strip(),
                    "account": account})
    return out
