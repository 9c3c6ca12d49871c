"""The report through the result cache: a second run is served from the cache, appending one funding row
recomputes exactly the sections that read that file, ``--no-cache`` recomputes everything, and the Data section
lists every file read (cached sections and worker processes included)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from basisctl.report import builder
from tests.conftest import DATA_DIR

pytestmark = pytest.mark.needs_data

APPENDED = "funding/hyperliquid/BTC.csv"


def _small_data_dir(root: Path) -> Path:
    """BTC only (plus the margin snapshot): the shared files symlinked in place, the one funding file that the
    test appends to copied."""
    assert DATA_DIR is not None
    rels = [p.relative_to(DATA_DIR) for p in DATA_DIR.rglob("*BTC*") if p.is_file()]
    rels += [p.relative_to(DATA_DIR) for p in (DATA_DIR / "hyperliquid").glob("metaAndAssetCtxs_*.json")]
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() == APPENDED:
            (root / rel).write_bytes((DATA_DIR / rel).read_bytes())
        else:
            (root / rel).symlink_to(DATA_DIR / rel)
    return root


def _append_one_settlement(path: Path) -> None:
    last = path.read_text().rstrip("\n").rsplit("\n", 1)[-1].split(",")
    t = pd.Timestamp(last[0]) + pd.Timedelta(hours=float(last[3]))
    row = [f"{t:%Y-%m-%dT%H:%M:%SZ}", str(int(t.timestamp() * 1000)), *last[2:]]
    with open(path, "a") as f:
        f.write(",".join(row) + "\n")


def _lines(stderr: str, status: str) -> int:
    """Lasting progress lines, one per section: ``report: <section> (computed|cached)``."""
    return len(re.findall(rf"^report: [^\n]+ \({status}\)$", stderr, flags=re.M))


def _data_rows(page: str) -> list[str]:
    sec = page[page.index("<section id='data'>"):]
    return sorted(re.findall(r"<tr><td>([^<]+)</td>", sec))


@pytest.mark.slow
@pytest.mark.timeout(1200)  # three quick reports (the first computes everything): ~100 s idle, ~300 s at load 13
def test_cached_run_then_one_appended_row_recomputes_only_its_readers(tmp_path: Path) -> None:
    root = _small_data_dir(tmp_path / "data")
    appended = str(root / APPENDED)
    locator.set_data_dir(root)
    try:
        cold = builder.build_report(tmp_path / "r1", assets=["BTC"], quick=True).read_text()
        assert set(builder.LAST_RUN.values()) == {"computed"}
        inputs = dict(builder.LAST_INPUTS)
        readers = {s for s, paths in inputs.items() if appended in paths}
        # the appended file is read by some sections and not by others (else the test proves nothing)
        assert readers and readers != set(inputs), inputs
        assert "risk honesty" not in readers  # the coverage study reads prices only

        warm = builder.build_report(tmp_path / "r2", assets=["BTC"], quick=True).read_text()
        assert set(builder.LAST_RUN.values()) == {"cached"}
        assert inputs == builder.LAST_INPUTS
        # the cached page equals the computed one, Data section included (files listed from the cache entries)
        assert warm.replace(str(tmp_path / "r2"), "OUT") == cold.replace(str(tmp_path / "r1"), "OUT")
        assert "funding hyperliquid BTC" in _data_rows(warm)

        _append_one_settlement(root / APPENDED)
        builder.build_report(tmp_path / "r3", assets=["BTC"], quick=True)
        recomputed = {s for s, st in builder.LAST_RUN.items() if st == "computed"}
        assert recomputed == readers, builder.LAST_RUN
    finally:
        locator.set_data_dir(None)


def test_no_cache_recomputes_every_section_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.report import forecast_section, portfolio_section, risk_section

    calls: list[str] = []

    def stub(name: str, value: object = "") -> object:
        def f(*a: object, **k: object) -> object:
            calls.append(name)
            locator.load_funding("binance", "BTC")  # a real input read, so the Data section has a row
            return value
        return f

    monkeypatch.setattr(builder, "static_section", stub("static", ("", None)))
    monkeypatch.setattr(builder, "bands_section", stub("bands"))
    monkeypatch.setattr(builder, "mc_section", stub("mc"))
    monkeypatch.setattr(builder, "execution_section", stub("execution"))
    monkeypatch.setattr(builder, "funding_section", stub("funding"))
    monkeypatch.setattr(builder, "run_experiment", stub("experiment", None))
    monkeypatch.setattr(builder, "backtest_section", lambda exp, periods, **kw: "")
    monkeypatch.setattr(builder, "paper_section", lambda exp, periods: "")
    monkeypatch.setattr(builder, "compare_rules", stub("rules", None))
    monkeypatch.setattr(builder, "rules_section", lambda cmp: "")
    monkeypatch.setattr(risk_section, "risk_section", stub("risk"))
    monkeypatch.setattr(portfolio_section, "report_section", stub("portfolio"))
    monkeypatch.setattr(forecast_section, "forecast_section", stub("carry persistence"))
    args = ["report", "--out", str(tmp_path / "r"), "--assets", "BTC", "--quick"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    n = len(calls)
    assert n == 11 and _lines(first.stderr, "computed") == 11  # 11 cached sections (issue 23 added one)
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and len(calls) == n and _lines(second.stderr, "cached") == 11
    assert "funding binance BTC" in _data_rows((tmp_path / "r" / "index.html").read_text())
    third = CliRunner().invoke(app, [*args, "--no-cache"])
    assert third.exit_code == 0 and len(calls) == 2 * n and _lines(third.stderr, "computed") == 11


def test_study_lists_files_read_in_worker_processes() -> None:
    from basisctl.risk.coverage import StudyConfig
    from basisctl.risk.study import run_study

    locator.clear_files_read()
    cfg = StudyConfig(models=("gbm",), horizons_hours=(24.0,), epsilons=(1e-2,))
    run_study(["BTC", "ETH"], cfg, workers=2, last_days=30)
    read = locator.files_read()
    for a in ("BTC", "ETH"):
        assert f"prices binance_perp {a} 1h" in read, read
