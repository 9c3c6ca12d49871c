"""Rule commands: ``compare-rules`` (walk-forward comparison of paper, optimal and baseline rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from basisctl.backtest.data import utc
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.experiment import DEFAULT_PERIODS, PAPER_PERIODS, VENUES, Period
from basisctl.backtest.rule import RuleSpec
from basisctl.cli._common import console, err_console, fail, handle_errors, parse_strs, print_json
from basisctl.errors import DataCoverageError
from basisctl.rules.builders import DEFAULT_RULES, EXTRA_RULES, RULES
from basisctl.rules.compare import ROW_KEYS, compare_rules


def _periods(assets: list[str], date_from: str | None, date_to: str | None, paper_window: bool = False
             ) -> list[Period]:
    if paper_window:
        if date_from is not None or date_to is not None:
            fail("--paper-window sets the window itself (2024, rule frozen on 2023): drop --from/--to")
        return [p for p in PAPER_PERIODS if not assets or p.asset in assets]
    if (date_from is None) != (date_to is None):
        fail("--from and --to go together (or neither: the funding-environment experiment's windows)")
    if date_from is not None and date_to is not None:
        if utc(date_to) <= utc(date_from):
            fail(f"--to {date_to} must be after --from {date_from}")
        if not assets:
            fail("--from/--to need at least one --asset")
        return [Period(a, date_from, date_to, f"{date_from}..{date_to}") for a in assets]
    ps = [p for p in DEFAULT_PERIODS if not assets or p.asset in assets]
    if not ps:
        fail(f"no default window for {', '.join(assets)}: pass --from/--to")
    return ps


@handle_errors
def compare_rules_cmd(
    asset: Annotated[list[str] | None, typer.Option("--asset", help="Asset(s), repeatable or comma-separated "
                                                    "(default: every asset of the default windows).")] = None,
    prices_file: Annotated[Path | None, typer.Option(help="CSV/Parquet candles replacing the shipped bars "
                                                     "(calibration and test).")] = None,
    funding_file: Annotated[Path | None, typer.Option(help="CSV/Parquet funding replacing the shipped streams "
                                                      "(calibration and test).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Test start (UTC date); the rules are "
                                                  "calibrated on the 2 years before it.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Test end (UTC date, exclusive).")] = None,
    rules: Annotated[str, typer.Option(help=f"Rules, comma-separated: {', '.join(RULES + EXTRA_RULES)}.")]
    = ",".join(DEFAULT_RULES),
    venues: Annotated[str, typer.Option(help="Funding venues credited to the short.")] = ",".join(VENUES),
    cost_bps: Annotated[float | None, typer.Option(help="Flat cost [bps of notional]; default Table VIII.")]
    = None,
    q_min_usd: Annotated[float, typer.Option(help="Minimum trade q_min [USD].")] = 10_000.0,
    capital_usd: Annotated[float, typer.Option(help="Initial capital D [USD].")] = 1_000_000.0,
    l_max: Annotated[float | None, typer.Option(help="Hyperliquid max leverage (theta_F = 1/(2 L_max)); "
                                                "default: the paper's table.")] = None,
    paper_window: Annotated[bool, typer.Option("--paper-window", help="The paper's validation year instead: "
                                               "2024-01-01 -> 2025-01-01, rules frozen on 2023.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows and per-rule summary as JSON.")] = False,
) -> None:
    """Walk-forward comparison: every rule calibrated only on data before its window, same bars and costs."""
    assets = [a.upper() for x in (asset or []) for a in parse_strs(x)]
    rule_list = parse_strs(rules)
    bad = [r for r in rule_list if r not in RULES + EXTRA_RULES]
    if bad or not rule_list:
        fail(f"--rules: unknown rule(s) {', '.join(bad) or '(none)'}; expected {', '.join(RULES + EXTRA_RULES)}")
    venue_list = parse_strs(venues)
    prices = funding = None
    if prices_file is not None or funding_file is not None:
        if len(assets) != 1:
            fail("--prices-file/--funding-file need exactly one --asset")
        from basisctl.data.io import read_candles, read_funding

        prices = read_candles(prices_file) if prices_file is not None else None
        funding = read_funding(funding_file) if funding_file is not None else None
        if funding is not None:
            venue_list = [str(funding_file)]
    periods = _periods(assets, date_from, date_to, paper_window)
    if not periods:
        fail(f"no window for {', '.join(assets)}")
    cfg = BacktestConfig(capital_usd=capital_usd, q_min_usd=q_min_usd)
    try:
        res = compare_rules(periods, venue_list, rule_list, cfg, RuleSpec(l_max=l_max), prices=prices,
                            funding=funding, cost_bps=cost_bps,
                            on_step=lambda s: err_console.print(f"compare-rules: {s}", highlight=False))
    except DataCoverageError as e:
        raise DataCoverageError(f"compare-rules: {e}") from e
    if as_json:
        print_json({"row_keys": list(ROW_KEYS), "rows": res.rows, "summary": res.summary(),
                    "rules": {f"{k[0]} {k[1]} {k[2]}": r.to_dict() for k, r in res.rules.items()}})
        return
    t = Table(title="compare-rules (fractions; apy_vs_paper paired on the same window)")
    cols = ["rule", "asset", "window", "venue", "apy", "apy_ci90", "apy_vs_paper", "funding_apy", "ret_costs",
            "rebalances", "liquidations", "max_drawdown", "time_in_band", "avg_idle_margin"]
    for c in cols:
        t.add_column(c, justify="right")
    for r in res.rows:
        cells = []
        for c in cols:
            v = r[c]
            if c == "apy_ci90":
                cells.append(f"[{v[0]:.2%}, {v[1]:.2%}]")
            elif isinstance(v, float):
                cells.append(f"{v:.2%}" if c not in ("time_in_band",) else f"{v:.3f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    console.print(t)
    for name, s in res.summary().items():
        console.print(f"{name}: beats paper in {s['beats_paper']}/{s['windows']} windows, mean APY vs paper "
                      f"{s['mean_apy_vs_paper']:+.2%}, liquidations {s['liquidations']}, rebalances "
                      f"{s['rebalances']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compare-rules")(compare_rules_cmd)
