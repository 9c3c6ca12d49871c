"""Stand-ins for the computed sections of ``basisctl report``: they take minutes, and tests of the CLI, the
warnings collector or the page layout do not need them (``tests/report/test_report_cache.py`` counts its own)."""

from __future__ import annotations

import pytest


def stub_report_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace every computed section (static grid, bands, Monte Carlo, execution, funding, backtests, paper
    window, rules compared, Data, risk, portfolio) by an empty one, with the signature ``build_report`` calls."""
    from basisctl.report import builder, portfolio_section, risk_section

    monkeypatch.setattr(builder, "static_section", lambda assets, quick: ("", None))
    monkeypatch.setattr(builder, "bands_section", lambda assets: "")
    monkeypatch.setattr(builder, "mc_section", lambda assets, note=None: "")
    monkeypatch.setattr(builder, "execution_section", lambda: "")
    monkeypatch.setattr(builder, "funding_section", lambda assets: "")
    monkeypatch.setattr(builder, "run_experiment", lambda periods, on_step=None, **kw: None)
    monkeypatch.setattr(builder, "backtest_section", lambda exp, periods, **kw: "")
    monkeypatch.setattr(builder, "paper_section", lambda exp, periods: "")
    monkeypatch.setattr(builder, "compare_rules", lambda periods, on_step=None: None)
    monkeypatch.setattr(builder, "rules_section", lambda cmp: "")
    monkeypatch.setattr(builder, "data_section", lambda: "")
    monkeypatch.setattr(risk_section, "risk_section", lambda assets, quick: "")
    monkeypatch.setattr(portfolio_section, "report_section", lambda assets, quick: "")
