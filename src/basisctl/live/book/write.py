"""Write a book file from an allocation (``basisctl allocate ... --out book.toml``): weights -> positions."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from basisctl.errors import BasisctlError
from basisctl.live.book.config import BookFile, load_book


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if not math.isfinite(float(v)):
            raise BasisctlError(f"book value {v!r} is not finite")
        return repr(float(v))
    return json.dumps(str(v))  # a TOML basic string is a JSON string for the characters written here


def book_toml(positions: Iterable[Mapping[Any, Any]], capital_usd: float, risk_model: str = "fhs",
              header: str = "", min_capital_usd: float = 1.0, start: str | None = None) -> str:
    """The book file for ``positions`` (rows with asset, venue, capital_usd [USD]); weights = capital / capital_usd.
    Rows below ``min_capital_usd`` [USD] are left out (said in a comment)."""
    if not capital_usd > 0:
        raise BasisctlError(f"book capital_usd must be > 0 (got {capital_usd!r})")
    lines = [f"# {ln}" for ln in header.splitlines()] if header else []
    lines += ['mode = "paper"', f"capital_usd = {_toml_value(capital_usd)}", 'journal = "book.sqlite"']
    if start is not None:
        lines.append(f"start = {_toml_value(start)}")
    lines += ["", "[limits]", "# book caps on NEW risk [USD] (docs/operations.md, Books):",
              "# max_gross_notional_usd = 0.0",
              "# max_unhedged_usd = 0.0", "", "[kill]", 'file = "book.kill"', "flatten = false"]
    n = 0
    for r in positions:
        cap = float(r["capital_usd"])
        asset, venue = str(r["asset"]).upper(), str(r["venue"]).lower()
        if not cap >= min_capital_usd:
            lines.append(f"# {asset}/{venue}: allocated ${cap:,.2f} < ${min_capital_usd:,.2f}: left out")
            continue
        n += 1
        w = round(min(cap / capital_usd, 1.0), 10)
        lines += ["", "[[positions]]", f"id = {_toml_value(f'{asset.lower()}-{venue}')}",
                  f"asset = {_toml_value(asset)}", f"venue = {_toml_value(venue)}", f"weight = {w!r}",
                  'band_rule = "paper"', f"risk_model = {_toml_value(risk_model)}"]
    if n == 0:
        raise BasisctlError("the allocation has no position with capital: no book file written")
    return "\n".join(lines) + "\n"


def write_book(path: Path, positions: Iterable[Mapping[Any, Any]], capital_usd: float, risk_model: str = "fhs",
               header: str = "", start: str | None = None) -> BookFile:
    """Write the book file and read it back through the validator (the file written is a valid book)."""
    text = book_toml(positions, capital_usd, risk_model, header, start=start)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return load_book(path)
