"""``basisctl compare-rules --study``: the JSON contract on a small real study (BTC, yearly windows, no simulated
paths), the Parquet rows, the cached result, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.study.run import PAIR_KEYS, RULE_KEYS, TOP_KEYS
from tests.skips import need_extra

runner = CliRunner()


@pytest.mark.needs_extra
@pytest.mark.needs_data
def test_study_json_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_extra("arch", "study")
    monkeypatch.setenv("BASISCTL_STUDY_DIR", str(tmp_path))
    pq = tmp_path / "rows.parquet"
    res = runner.invoke(app, ["compare-rules", "--study", "--asset", "BTC", "--window", "1Y", "--paths", "0",
                              "--parquet", str(pq), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert list(s)[:len(TOP_KEYS)] == list(TOP_KEYS)
    assert len(s["study_hash"]) == 64 and s["paths_real"] >= 2 and s["paths_simulated"] == 0
    assert list(s["rules"]) == ["paper", "paper_fhs", "optimal", "hold", "fixed_leverage", "periodic"]
    for v in s["rules"].values():
        assert set(RULE_KEYS) <= set(v)
    assert "paper" not in s["paired"]
    for v in s["paired"].values():
        assert set(PAIR_KEYS) <= set(v)
    assert s["verdict"] in s["rules"]
    rows = pd.read_parquet(pq)
    assert {"rule", "asset", "path", "cluster", "ret", "apy", "liquidations"} <= set(rows.columns)
    assert (rows["start"] < s["holdout_from"]).all()  # the holdout is excluded without --final
    from basisctl.study import store

    got = store.load()  # the result cache's study entry (keyed on BASISCTL_STUDY_DIR here)
    assert got is not None and got[0]["study_hash"] == s["study_hash"] and got[1] is not None
    assert got[1].equals(rows)


@pytest.mark.needs_extra
def test_study_bad_inputs_one_line(tmp_path: Path) -> None:
    need_extra("arch", "study")  # without the extra the command stops first, naming it
    bad = tmp_path / "s.toml"
    bad.write_text("[study]\nname = 1\n")
    for args, text in ((["--study-file", str(bad)], "s.toml"), (["--executor", "dask"], "--executor"),
                       (["--window", "2W"], "--window"), (["--paths", "-1"], "--paths")):
        res = runner.invoke(app, ["compare-rules", "--study", *args])
        assert res.exit_code == 2, res.output
        assert text in res.output
