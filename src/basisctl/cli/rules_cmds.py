"""Rule commands: ``compare-rules`` (walk-forward comparison of paper, optimal and baseline rules)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from basisctl.cli._common import console, err_console, fail, handle_errors, parse_strs, print_json
from basisctl.cli._defaults import DEFAULT_RULE_NAMES as DEFAULT_RULES
from basisctl.cli._defaults import EXPERIMENT_VENUES as VENUES
from basisctl.cli._defaults import EXTRA_RULE_NAMES as EXTRA_RULES
from basisctl.cli._defaults import RULE_NAMES as RULES
from basisctl.errors import DataCoverageError

STUDY_RULES: tuple[str, ...] = ("paper_fhs",)  # basisctl.rules.builders.STUDY_RULES

if TYPE_CHECKING:
    from basisctl.backtest.experiment import Period


def _periods(assets: list[str], date_from: str | None, date_to: str | None, paper_window: bool = False
             ) -> list[Period]:
    from basisctl.backtest.data import utc
    from basisctl.backtest.experiment import DEFAULT_PERIODS, PAPER_PERIODS, Period

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
    rules: Annotated[str, typer.Option(help=f"Rules, comma-separated: "
                                   f"{', '.join(RULES + EXTRA_RULES + STUDY_RULES)}.")]
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
    model: Annotated[str | None, typer.Option("--model", help="Risk model of the optimal rule's floor: fhs (the "
                                              "default: max of alpha_L and the FHS alpha_L fitted on the data "
                                              "dir's bars) or gbm (alpha_L of eq. 38, the paper's model; the "
                                              "default with --prices-file). The rule paper stays GBM as "
                                              "published.")] = None,
    study: Annotated[bool, typer.Option("--study", help="The path study instead (issue 18): real walk-forward "
                                        "windows + simulated paths, paired statistics and a verdict, all from the "
                                        "study file.")] = False,
    study_file: Annotated[Path | None, typer.Option(help="Study file (TOML); default: the packaged "
                                                    "default_study.toml. Its SHA-256 is printed.")] = None,
    paths: Annotated[int | None, typer.Option(help="Simulated paths per generator and asset (overrides the "
                                              "study file; 0 = real paths only).")] = None,
    final: Annotated[bool, typer.Option("--final", help="Also run the holdout (from the study's holdout_from) "
                                        "and print it separately.")] = False,
    executor: Annotated[str, typer.Option(help="serial | ray (local cluster; results bit-equal to serial).")]
    = "serial",
    window: Annotated[str | None, typer.Option(help="Real-window length 3M | 6M | 1Y (overrides the study "
                                               "file).")] = None,
    parquet: Annotated[Path | None, typer.Option(help="Write every (rule, path) row here (default: next to the "
                                                 "cached result, see BASISCTL_STUDY_DIR).")] = None,
) -> None:
    """Walk-forward comparison: every rule calibrated only on data before its window, same bars and costs."""
    if study:
        _run_study(study_file, paths, final, executor, window, parquet, asset, as_json)
        return
    if model is not None and model not in ("fhs", "gbm"):
        fail(f"--model must be fhs or gbm (got {model!r})")
    assets = [a.upper() for x in (asset or []) for a in parse_strs(x)]
    rule_list = parse_strs(rules)
    bad = [r for r in rule_list if r not in RULES + EXTRA_RULES + STUDY_RULES]
    if bad or not rule_list:
        fail(f"--rules: unknown rule(s) {', '.join(bad) or '(none)'}; expected "
             f"{', '.join(RULES + EXTRA_RULES + STUDY_RULES)}")
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
    if model is None:
        model = "fhs"
        if prices is not None:
            model = "gbm"
            from basisctl.warnings import substitute

            substitute("default_input", "compare-rules: the optimal rule's floor uses GBM with --prices-file (the "
                                        "FHS floor is fitted on the data dir's bars); pass --model gbm to silence",
                       echo=True)
    periods = _periods(assets, date_from, date_to, paper_window)
    if not periods:
        fail(f"no window for {', '.join(assets)}")
    from basisctl.backtest.engine import BacktestConfig
    from basisctl.backtest.rule import RuleSpec
    from basisctl.rules.compare import ROW_KEYS, compare_rules

    cfg = BacktestConfig(capital_usd=capital_usd, q_min_usd=q_min_usd)
    try:
        res = compare_rules(periods, venue_list, rule_list, cfg, RuleSpec(l_max=l_max), prices=prices,
                            funding=funding, cost_bps=cost_bps, optimal_model=model,
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


def _run_study(study_file: Path | None, paths: int | None, final: bool, executor: str, window: str | None,
               parquet: Path | None, asset: list[str] | None, as_json: bool) -> None:
    """``compare-rules --study``: run the study file's study on the data dir, cache it, print it."""
    from basisctl.study.run import EXECUTORS
    from basisctl.study.studyfile import WINDOWS, load_study

    if executor not in EXECUTORS:
        fail(f"--executor must be one of {', '.join(EXECUTORS)} (got {executor!r})")
    if executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            fail("--executor ray needs the [ray] extra: pip install 'basisctl[ray]'")
    try:
        import arch  # noqa: F401
    except ImportError:
        fail("compare-rules --study needs the [study] extra (arch): pip install 'basisctl[study]'")
    st = load_study(study_file)
    if paths is not None:
        if paths < 0:
            fail(f"--paths must be >= 0 (got {paths})")
        st = st.with_(paths=paths)
    if window is not None:
        if window not in WINDOWS:
            fail(f"--window must be one of {', '.join(WINDOWS)} (got {window!r})")
        st = st.with_(window=window)
    err_console.print(f"study {st.source} sha256 {st.sha256}", highlight=False)
    from basisctl.study import store
    from basisctl.study.data import data_inputs
    from basisctl.study.run import run_study

    assets = [a.upper() for x in (asset or []) for a in parse_strs(x)] or None
    step = lambda s: err_console.print(f"study: {s}", highlight=False)  # noqa: E731
    history, real, hold, cfg, spec = data_inputs(st, final, assets, step)
    res = run_study(st, history=history, real=real, holdout=hold, cfg=cfg, spec=spec, executor=executor,
                    on_step=step)
    summary = res.summary()
    cdir, pq = store.save(summary, res.rows, parquet=parquet)
    err_console.print(f"study: rows -> {pq}; summary and rows -> result cache {cdir} ({store.ENTRY})",
                      highlight=False)
    if as_json:
        print_json(summary)
        return
    _print_study(summary)


def _study_table(b: dict, title: str) -> Table:
    t = Table(title=title)
    for c in ("rule", "apy_mean", "apy_median", "P(liq)", "liq/path-yr [CI]", "dd_q95", "turnover/yr",
              "d_apy vs paper [CI]", "wilcoxon_p", "d_liq_rate [CI]"):
        t.add_column(c, justify="right")
    for r, v in b["rules"].items():
        p = b["paired"].get(r)
        pair = ["", "", ""] if p is None else [
            f"{p['d_apy_mean']:+.2%} [{p['d_apy_ci'][0]:+.2%}, {p['d_apy_ci'][1]:+.2%}]", f"{p['wilcoxon_p']:.3g}",
            f"{p['d_liq_rate']:+.3f} [{p['d_liq_rate_ci'][0]:+.3f}, {p['d_liq_rate_ci'][1]:+.3f}]"]
        t.add_row(r, f"{v['apy_mean']:.2%}", f"{v['apy_median']:.2%}", f"{v['p_liq']:.3f}",
                  f"{v['liq_rate']:.3f} [{v['liq_rate_ci'][0]:.3f}, {v['liq_rate_ci'][1]:.3f}]",
                  f"{v['dd_q95']:.2%}", f"{v['turnover']:.2f}", *pair)
    return t


def _print_study(s: dict) -> None:
    console.print(_study_table(s, f"path study {s['study_hash'][:12]} ({s['sample']} paths; real {s['paths_real']}, "
                                  f"simulated {s['paths_simulated']}; fractions)"))
    console.print(f"decision rule: {s['decision_rule']}", highlight=False)
    console.print(f"SPA p (best candidate vs paper, snooping-adjusted): {s['spa_p']:.3g}", highlight=False)
    console.print(f"verdict: {s['verdict_text']}", highlight=False)
    if "real" in s and s["sample"] != "real":
        console.print(f"real walk-forward windows alone: verdict {s['real']['verdict']} (SPA p "
                      f"{s['real']['spa_p']:.3g})", highlight=False)
    if s.get("holdout"):
        h = s["holdout"]
        console.print(_study_table(h, f"HOLDOUT from {s['holdout_from']} ({h['paths']} real paths; printed "
                                      "separately, not part of the verdict)"))
        console.print(f"holdout verdict: {h['verdict']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compare-rules")(compare_rules_cmd)
