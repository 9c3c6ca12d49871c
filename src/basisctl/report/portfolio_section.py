"""Report section: the walk-forward book against a Hyperliquid-only and an equal-weight book (NAV figure) and the
book's allocation over time (stacked capital per asset/venue). Takes results, returns HTML (figures embedded)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from basisctl.backtest.portfolio import PortfolioResult
from basisctl.report._html import _no_negative_zero
from basisctl.report.rules_section import _utc_naive


def _img(fig: plt.Figure, caption: str, cmd: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}"/>'
            f"<figcaption>{html.escape(caption)} <code>{html.escape(cmd)}</code></figcaption></figure>")


def nav_figure(books: Sequence[PortfolioResult]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for b in books:
        ax.plot(_utc_naive(b.nav.index), b.nav.to_numpy() / b.capital_usd, label=b.label, lw=1.2)
    ax.set_ylabel("NAV / capital")
    ax.set_xlabel("time [UTC]")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.autofmt_xdate(rotation=30)
    fig.tight_layout()
    return fig


def allocation_figure(book: PortfolioResult) -> plt.Figure:
    a = book.allocations.assign(position=lambda d: d["asset"] + " " + d["venue"])
    wide = a.pivot_table(index="date", columns="position", values="capital_usd", aggfunc="sum").fillna(0.0)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    if len(wide):
        ax.stackplot(_utc_naive(pd.DatetimeIndex(wide.index)), wide.T.to_numpy() / book.capital_usd,
                     labels=list(wide.columns), step="post")
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the stack
    ax.set_ylabel("capital share at re-allocation")
    ax.set_xlabel("re-allocation date [UTC]")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate(rotation=30)
    fig.tight_layout()
    return fig


PCT_COLUMNS = {"acc_return": "return over window [%]", "apy": "APY [% per year]",
               "apy_simple": "APY simple [% per year]", "cagr": "CAGR [% per year]", "max_drawdown": "max drawdown [%]"}


def metrics_table(books: Sequence[PortfolioResult]) -> pd.DataFrame:
    """The books' metrics as printed: fractions as percentages (2 decimals, '%' in the cell and the header);
    a metric that cannot be computed (NaN, e.g. APY of a one-bar book) reads 'n/a', never 0."""
    rows = pd.DataFrame([b.metrics() for b in books])
    for c in PCT_COLUMNS:
        if c in rows:
            rows[c] = ["n/a" if pd.isna(v) else _no_negative_zero(f"{float(v):.2%}") for v in rows[c]]
    return rows.rename(columns=PCT_COLUMNS)


def portfolio_section(books: Sequence[PortfolioResult], cmd: str) -> str:
    """HTML for the section: metrics table, NAV of every book, allocation over time of the first book."""
    table = metrics_table(books).to_html(index=False, border=0)
    return ("<h2 id='portfolio'>Portfolio across venues and assets</h2>"
            "<p>Walk-forward allocation (data up to each re-allocation date only); each position runs the frozen band "
            "rule as a single-position backtest; venue switches pay exit and entry costs.</p>"
            f"{table}"
            + _img(nav_figure(books), "Book NAV against a Hyperliquid-only and an equal-weight book.", cmd)
            + _img(allocation_figure(books[0]), "Allocation over time (capital share per asset/venue).", cmd))


def standalone_html(section: str) -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>basisctl portfolio</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
            "table{border-collapse:collapse}td,th{padding:2px 8px}</style></head><body>"
            f"{section}</body></html>")


def report_section(assets: Sequence[str], quick: bool = False) -> str:
    """The section for ``basisctl report``: the three books over the default test year (quick: the first asset,
    one quarter), from the data dir; a missing input is stated instead of failing the report."""
    from basisctl.backtest.portfolio import SharedInputs, run_portfolio
    from basisctl.errors import BasisctlError
    from basisctl.risk.registry import DEFAULT_RISK_MODEL
    from basisctl.risk.rule import ModelSizer
    from basisctl.venues.registry import venue_names
    from basisctl.venues.sources import streams

    names = [a.upper() for a in assets][: 1 if quick else 2]
    start = pd.Timestamp("2025-12-10" if quick else "2025-03-10", tz="UTC")
    end = pd.Timestamp("2026-03-10", tz="UTC")
    cmd = (f"basisctl backtest-portfolio --from {start:%Y-%m-%d} --to {end:%Y-%m-%d} --rebalance monthly "
           f"--assets {','.join(names)} --risk-model {DEFAULT_RISK_MODEL} --report DIR")
    try:
        st = {(a, v): f for a in names for v, (f, _) in streams(a, venue_names(), {}).items() if f is not None}
        if not st:
            raise BasisctlError(f"no funding data for {', '.join(names)} in the data dir")
        shared = SharedInputs()  # the three books share sigma and frozen rules (same streams)
        sz = ModelSizer(DEFAULT_RISK_MODEL)  # as the printed `backtest-portfolio` command (default model)
        books = [run_portfolio(names, st, start, end, label="book", shared=shared, sizer=sz),
                 run_portfolio(names, st, start, end, venues=["hyperliquid"], label="hyperliquid only", shared=shared,
                               sizer=sz),
                 run_portfolio(names, st, start, end, equal_weight=True, label="equal weight", shared=shared,
                               sizer=sz)]
    except BasisctlError as e:
        return (f"<section id='portfolio'><h2>Portfolio across venues and assets</h2><p class='warn'>Not computed: "
                f"{html.escape(str(e))}</p></section>")
    return portfolio_section(books, cmd)
