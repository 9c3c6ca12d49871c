"""``basisctl report --out DIR``: static grid, bands, Monte Carlo evidence for the band (Sec. VIII.B-E),
execution costs and capacity (Secs. X-XI), funding diagnostics and the funding-environment backtests on the
data-dir data, written as one offline, self-contained ``DIR/index.html`` (figures are matplotlib PNGs embedded as
base64; no scripts, fonts or styles are fetched).

Every table and figure caption prints the CLI command that regenerates its numbers.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from basisctl import __version__
from basisctl.backtest.experiment import DEFAULT_PERIODS, PAPER_PERIODS, ExperimentResult, Period, run_experiment
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.errors import DataNotFoundError
from basisctl.report._html import CSS
from basisctl.report.backtest_section import backtest_section
from basisctl.report.bands_section import bands_section
from basisctl.report.data_section import data_section
from basisctl.report.execution_section import execution_frames, execution_section
from basisctl.report.funding_section import funding_section
from basisctl.report.mc_section import mc_grids, mc_section
from basisctl.report.paper_section import PAPER_SPOT, paper_section
from basisctl.report.rules_section import rules_section
from basisctl.report.static_section import static_section
from basisctl.report.warnings_section import with_warnings
from basisctl.rules.compare import compare_rules

__all__ = ["LAST_INPUTS", "LAST_RUN", "build_report", "execution_frames", "mc_grids"]

Step = Callable[[str, int, int], None]
#: section name -> "computed" | "cached" for the last :func:`build_report` in this process
LAST_RUN: dict[str, str] = {}
#: section name -> paths of the data files its result was computed from (recorded, or from its cache entry)
LAST_INPUTS: dict[str, tuple[str, ...]] = {}


def build_report(out: str | Path, assets: Sequence[str] = ("BTC", "ETH", "LINK", "DOGE"), quick: bool = False,
                 on_step: Step | None = None, allow_missing_funding: bool = False, use_cache: bool = True) -> Path:
    """Write ``out/index.html`` and return its path. ``quick`` = one period per asset and a smaller grid.

    Each section lists the warnings (substitutions, thin samples, missing funding) made while building it.
    Sections come from the result cache (:mod:`basisctl.cache`) when their inputs are unchanged; ``use_cache``
    False (``--no-cache``) recomputes every section (and refreshes the cache). The progress labels end in
    ``(computed)`` or ``(cached)`` per section; :data:`LAST_RUN` records which."""
    from basisctl import cache

    if not use_cache:
        with cache.disabled():
            return build_report(out, assets, quick, on_step, allow_missing_funding, True)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    from basisctl.data.locator import clear_files_read

    clear_files_read()  # the Data section lists the files of this run only
    LAST_RUN.clear()
    LAST_INPUTS.clear()
    assets = [a.upper() for a in assets]
    periods = [p for p in DEFAULT_PERIODS if p.asset in assets]
    if quick:
        seen: set[str] = set()
        periods = [p for p in periods if not (p.asset in seen or seen.add(p.asset))]  # type: ignore[func-returns-value]
    paper_periods = [p for p in PAPER_PERIODS if p.asset in assets]
    # (section, progress steps made inside it): each section then makes one more step when it is done
    inner = {"static grid": 0, "bands": 0, "Monte Carlo grids": 0, "execution costs and capacity": 0,
             "funding diagnostics": 0, "risk honesty": 0, "backtests": 2 * len(periods),
             "paper window": 2 * len(paper_periods), "rules compared": 2 * (len(periods) + len(paper_periods)),
             "portfolio": 0, "carry persistence": 0}
    total = sum(inner.values()) + len(inner)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if on_step:
            on_step(label, done, total)

    def note(label: str) -> None:  # progress inside a step (per Monte Carlo cell)
        if on_step:
            on_step(label, done, total)

    base = {"assets": assets, "quick": quick, "allow_missing_funding": allow_missing_funding}

    def section(name: str, build: Callable[[], str], **params: object) -> str:
        """One section through the result cache, with its warnings listed under it."""
        nonlocal done
        first = done
        got, w = with_warnings(lambda: cache.memoize(f"report/{name}", {**base, **params}, build))
        LAST_RUN[name] = got.status
        LAST_INPUTS[name] = tuple(fp.path for fp in got.files)
        done = max(done, first + inner[name])  # a cached section made no inner steps
        step(f"{name} ({got.status})")
        return got.value + w

    def static() -> str:
        html_, _ = static_section(assets, quick)
        return html_

    def execution() -> str:
        try:
            return execution_section()
        except DataNotFoundError as e:  # liquidity snapshots are optional inputs: say what is missing, go on
            from basisctl.warnings import substitute

            substitute("missing_data", f"report: execution section skipped: {e}")
            return ("<section id='execution'><h2>Execution</h2><p class='warn'>Not computed: "
                    f"{html.escape(str(e))}</p></section>")

    def experiment(ps: list[Period], label: str, spot: str | None = None) -> ExperimentResult:
        kw: dict[str, Any] = {} if spot is None else {"spot": spot}  # flags only when set (test stubs)
        if allow_missing_funding:
            return run_experiment(ps, on_step=lambda s: step(f"{label}{s}"), allow_missing_funding=True, **kw)
        return run_experiment(ps, on_step=lambda s: step(f"{label}{s}"), **kw)

    def risk() -> str:
        from basisctl.report.risk_section import risk_section

        return risk_section(assets, quick)

    def portfolio() -> str:
        from basisctl.report.portfolio_section import report_section  # issue 14: the book across venues

        return report_section(assets, quick)

    static_html = section("static grid", static)
    bands_html = section("bands", lambda: bands_section(assets))
    mc_html = section("Monte Carlo grids", lambda: mc_section(assets, note))
    exec_html = section("execution costs and capacity", execution)
    funding_html = section("funding diagnostics", lambda: funding_section(assets))
    risk_html = section("risk honesty", risk)
    bt_html = section("backtests", lambda: backtest_section(
        experiment(periods, "backtest "), periods, title="Out-of-time extension: the funding-environment experiment "
        "on the later windows (paper Sec. IX, Tables VII, IX-XI)"), periods=periods)
    # the headline uses real spot bars where the data dir has them, as its printed command (`--spot auto`) does
    paper_html = section("paper window", lambda: paper_section(
        experiment(paper_periods, "paper window ", spot=PAPER_SPOT), paper_periods), periods=paper_periods,
        spot=PAPER_SPOT)
    rules_html = section("rules compared", lambda: rules_section(compare_rules(
        [*paper_periods, *periods], on_step=lambda s: step(f"compare-rules {s}"))), periods=[*paper_periods, *periods])
    from basisctl.report.study_section import study_section  # issue 18: reads the cached path study

    # The path study (issue 18) is read from its stored result (basisctl.study.store: the result cache's
    # "study/latest" entry, written by `compare-rules --study`); reading it is cheap, so it is not memoised here.
    study_html, w = with_warnings(study_section)
    rules_html = study_html + w + rules_html
    portfolio_html = section("portfolio", portfolio)
    from basisctl.report.forecast_section import forecast_section  # issue 23: does carry persist?

    forecast_html = section("carry persistence", lambda: forecast_section(assets))
    nav = ("<nav><a href='#paper'>Paper window 2024</a><a href='#study'>Which rule?</a>"
           "<a href='#rules'>Rules compared</a>"
           "<a href='#backtest'>Backtests</a><a href='#static'>Static &alpha;*</a><a href='#bands'>Bands</a>"
           "<a href='#mc'>Monte Carlo</a><a href='#execution'>Execution</a><a href='#funding'>Funding</a>"
           "<a href='#portfolio'>Portfolio</a><a href='#forecast'>Does carry persist?</a>"
           "<a href='#risk'>Risk honesty</a><a href='#data'>Data</a></nav>")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>basisctl report</title>"
           f"<style>{CSS}</style></head><body><h1>basisctl report</h1>"
           f"<p>basisctl {__version__}; market data from the data dirs listed under <a href='#data'>Data</a>; "
           f"static layer calibrated at {DEFAULT_ASOF:%Y-%m-%d}. "
           "All returns are fractions of initial capital shown as %. Generated offline by "
           f"<code>basisctl report --out {html.escape(str(out_dir))}{' --quick' if quick else ''}</code>.</p>{nav}"
           f"{paper_html}{rules_html}{bt_html}{static_html}{bands_html}{mc_html}{exec_html}{funding_html}"
           f"{portfolio_html}{forecast_html}{risk_html}{data_section()}</body></html>")
    path = out_dir / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
