"""The report section reads the cached study result: verdict, table and figure; without a cache, the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.report.study_section import CMD, study_section
from basisctl.study import store
from basisctl.study.run import run_study
from basisctl.study.studyfile import load_study
from tests.skips import need_extra
from tests.study.worlds import gbm_history


@pytest.mark.needs_extra
def test_section_reads_the_cached_result(tmp_path: Path) -> None:
    need_extra("arch", "study")
    st = load_study().with_(paths=6, cost_bps=0.0, generators=("fhs",), years=0.25, candidates=("paper", "hold"))
    res = run_study(st, history=gbm_history(days=500), cfg=BacktestConfig(margin_tiers=(), q_min_usd=0.0),
                    spec=RuleSpec(l_max=10.0))
    s = res.summary()
    store.save(s, res.rows, tmp_path)
    h = study_section(tmp_path)
    assert "Which rule should you run?" in h and s["study_hash"] in h and "<img" in h
    assert s["verdict_text"].replace("`", "&#x27;")[:5] in h or s["verdict"] in h


def test_section_without_cache_names_the_command(tmp_path: Path) -> None:
    assert CMD in study_section(tmp_path / "none")
