"""Shared set-up of the book tests: a fixed-band base config and a book file in a temp folder."""

from __future__ import annotations

from pathlib import Path

from tests.simrun import FLAT_COSTS, SIM_HEADER

BASE = """
mode = "paper"
""" + SIM_HEADER + """[band]
mode = "fixed"
alpha_target = 0.30
alpha_lower = {lo}
alpha_upper = {hi}
kappa_fix = 0.5
k_reb_fix_bps = 5
[risk]
recalibrate_every_hours = 0
""" + FLAT_COSTS + """q_min_usd = 1000
[limits]
stale_after_seconds = 7200
"""

POSITIONS = (("btc-hl", "BTC", "hyperliquid"), ("eth-hl", "ETH", "hyperliquid"), ("btc-bn", "BTC", "binance"))


def write_book(tmp: Path, limits: str = "", lo: float = 0.25, hi: float = 0.40, n: int = 3,
               extra: str = "") -> Path:
    """A book of ``n`` positions (1,000,000 USD each) on a fixed band [lo, hi] around 0.30; returns its path."""
    (tmp / "base.toml").write_text(BASE.format(lo=lo, hi=hi))
    lines = ['capital_usd = 3000000.0', 'journal = "book.sqlite"', 'base_config = "base.toml"', extra, "",
             "[limits]", limits]
    for pid, asset, venue in POSITIONS[:n]:
        lines += ["", "[[positions]]", f'id = "{pid}"', f'asset = "{asset}"', f'venue = "{venue}"',
                  f"weight = {1.0 / 3.0!r}"]
    p = tmp / "book.toml"
    p.write_text("\n".join(lines) + "\n")
    return p
