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
from basisctl.report.paper_section import paper_section
from basisctl.report.rules_section import rules_section
from basisctl.report.static_section import static_section
from basisctl.report.warnings_section import with_warnings
from basisctl.rules.compare import compare_rules

__all__ = ["build_report", "execution_frames", "mc_grids"]

Step = Callable[[str, int, int], None]


def build_report(out: str | Path, assets: Sequence[str] = ("BTC", "ETH", "LINK", "DOGE"), quick: bool = False,
                 on_step: Step | None = None, allow_missing_funding: bool = False) -> Path:
    """Write ``out/index.html`` and return its path. ``quick`` = one period per asset and a smaller grid.

    Each section lists the warnings (substitutions, thin samples, missing funding) made while building it."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    from basisctl.data.locator import clear_files_read

    clear_files_read()  # the Data section lists the files of this run only
    assets = [a.upper() for a in assets]
    periods = [p for p in DEFAULT_PERIODS if p.asset in assets]
    if quick:
        seen: set[str] = set()
        periods = [p for p in periods if not (p.asset in seen or seen.add(p.asset))]  # type: ignore[func-returns-value]
    paper_periods = [p for p in PAPER_PERIODS if p.asset in assets]
    total = 3 + 2 * len(periods) + 1 + 2 + 1 + 2 * len(paper_periods) + 2 * (len(periods) + len(paper_periods))
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if on_step:
            on_step(label, done, total)

    def note(label: str) -> None:  # progress inside a step (per Monte Carlo cell)
        if on_step:
            on_step(label, done, total)

    (static_html, _), w = with_warnings(lambda: static_section(assets, quick))
    static_html += w
    step("static grid")
    bands_html, w = with_warnings(lambda: bands_section(assets))
    bands_html += w
    step("bands")
    mc_html, w = with_warnings(lambda: mc_section(assets, note))
    mc_html += w
    step("Monte Carlo grids")

    def execution() -> str:
        try:
            return execution_section()
        except DataNotFoundError as e:  # liquidity snapshots are optional inputs: say what is missing, go on
            from basisctl.warnings import substitute

            substitute("missing_data", f"report: execution section skipped: {e}")
            return ("<section id='execution'><h2>Execution</h2><p class='warn'>Not computed: "
                    f"{html.escape(str(e))}</p></section>")

    exec_html, w = with_warnings(execution)
    exec_html += w
    step("execution costs and capacity")
    funding_html, w = with_warnings(lambda: funding_section(assets))
    funding_html += w
    step("funding diagnostics")
    from basisctl.report.risk_section import risk_section

    risk_html, w = with_warnings(lambda: risk_section(assets, quick))
    risk_html += w

    def experiment(ps: list[Period], label: str) -> ExperimentResult:  # flag only when set (test stubs)
        if allow_missing_funding:
            return run_experiment(ps, on_step=lambda s: step(f"{label}{s}"), allow_missing_funding=True)
        return run_experiment(ps, on_step=lambda s: step(f"{label}{s}"))

    exp, w = with_warnings(lambda: experiment(periods, "backtest "))
    bt_html = backtest_section(exp, periods, title="Out-of-time extension: the funding-environment experiment on the "
                               "later windows (paper Sec. IX, Tables VII, IX-XI)") + w
    step("figures")
    exp_paper, w = with_warnings(lambda: experiment(paper_periods, "paper window "))
    paper_html = paper_section(exp_paper, paper_periods) + w
    cmp, w = with_warnings(lambda: compare_rules([*paper_periods, *periods],
                                                 on_step=lambda s: step(f"compare-rules {s}")))
    rules_html = rules_section(cmp) + w
    from basisctl.report.study_section import study_section  # issue 18: reads the cached path study

    study_html, w = with_warnings(study_section)
    rules_html = study_html + w + rules_html
    from basisctl.report.portfolio_section import report_section  # issue 14: the book across venues

    portfolio_html, w = with_warnings(lambda: report_section(assets, quick))
    portfolio_html += w
    step("portfolio")
    nav = ("<nav><a href='#paper'>Paper window 2024</a><a href='#study'>Which rule?</a>"
           "<a href='#rules'>Rules compared</a>"
           "<a href='#backtest'>Backtests</a><a href='#static'>Static &alpha;*</a><a href='#bands'>Bands</a>"
           "<a href='#mc'>Monte Carlo</a><a href='#execution'>Execution</a><a href='#funding'>Funding</a>"
           "<a href='#portfolio'>Portfolio</a><a href='#risk'>Risk honesty</a><a href='#data'>Data</a></nav>")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>basisctl report</title>"
           f"<style>{CSS}</style></head><body><h1>basisctl report</h1>"
           f"<p>basisctl {__version__}; market data from the data dirs listed under <a href='#data'>Data</a>; "
           f"static layer calibrated at {DEFAULT_ASOF:%Y-%m-%d}. "
           "All returns are fractions of initial capital shown as %. Generated offline by "
           f"<code>basisctl report --out {html.escape(str(out_dir))}{' --quick' if quick else ''}</code>.</p>{nav}"
           f"{paper_html}{rules_html}{bt_html}{static_html}{bands_html}{mc_html}{exec_html}{funding_html}"
           f"{portfolio_html}{risk_html}{data_section()}</body></html>")
    path = out_dir / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
