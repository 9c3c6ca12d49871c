"""Issue 17 speed: `basisctl static` on a warm result cache imports no numerical library, prints the same bytes
(stdout and stderr) as the run that computed it, and recomputes when an input file changes.

Not a timing test: what is pinned is the set of modules a cache hit loads (pandas, scipy, numba and numpy cost
~1.5 s of CPU to import; docs/performance.md, "static end to end") and the equality of the outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.datadir import data_dir, require

from ._cli_probe import probe_source

HEAVY = ("numpy", "pandas", "scipy", "scipy.optimize", "scipy.special", "numba", "pyarrow")

_PROBE = probe_source(HEAVY)


def _run(args: list[str], cache: Path, data: Path) -> tuple[str, str, dict[str, Any]]:
    """(stdout, stderr without the probe line, probe) of ``basisctl ARGS`` in a fresh interpreter."""
    env = {**os.environ, "BASISCTL_CACHE_DIR": str(cache), "BASISCTL_DATA_DIR": str(data)}
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], capture_output=True, text=True,
                       timeout=600, env=env)
    lines = r.stderr.splitlines(keepends=True)
    probe = [x for x in lines if x.startswith("PROBE ")]
    assert probe, r.stderr
    return r.stdout, "".join(x for x in lines if not x.startswith("PROBE ")), json.loads(probe[-1][6:])


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable data dir holding only what `static --venue hyperliquid --asset BTC` reads (copied)."""
    src = require(data_dir())
    dst = tmp_path_factory.mktemp("static-data")
    for rel in ("prices/binance_perp/BTC_1h.csv", "funding/hyperliquid/BTC.csv"):
        require(src / rel)
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    (dst / "hyperliquid").mkdir()
    for p in sorted((src / "hyperliquid").glob("metaAndAssetCtxs_*.json")):
        shutil.copyfile(p, dst / "hyperliquid" / p.name)
    return dst


@pytest.mark.parametrize("extra", [["--model", "gbm"], [], ["--sigma", "0.5", "--strict"]],
                         ids=["gbm", "fhs-default", "sigma-warning"])
def test_cache_hit_imports_no_numerical_stack_and_prints_the_same_bytes(
        extra: list[str], small_data: Path, tmp_path: Path) -> None:
    args = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--json", "--asof", "2026-01-01", *extra]
    out1, err1, p1 = _run(args, tmp_path, small_data)
    assert p1["code"] == 0, err1
    assert "pandas" in p1["heavy"]  # the computing run does read data (else this test proves nothing)
    out2, err2, p2 = _run(args, tmp_path, small_data)
    assert p2["code"] == 0, err2
    assert p2["heavy"] == [], f"a cache hit imported {p2['heavy']}"
    assert (out2, err2) == (out1, err1)
    res = json.loads(out1)
    assert res["model"] == (extra[1] if extra and extra[0] == "--model" else "fhs")
    if "--sigma" in extra:  # the --sigma warning is printed on a hit as on the computing run
        assert err1.count("warning: --sigma sizes the paper's GBM answers only") == 1


_GBM_ARGS = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--json", "--model", "gbm", "--asof", "2026-01-01"]


def _first_run(small_data: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    """(a writable copy of the data dir, the cache dir, stdout) after one computing gbm run on them."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    shutil.copytree(small_data, data)
    return data, cache, _run(_GBM_ARGS, cache, data)[0]


def test_a_changed_input_file_is_recomputed(small_data: Path, tmp_path: Path) -> None:
    data, cache, before = _first_run(small_data, tmp_path)
    args = _GBM_ARGS
    # double every funding rate of 2025 (inside the 180-day lookback): kappa and alpha_econ change
    f = data / "funding" / "hyperliquid" / "BTC.csv"
    lines = f.read_text().splitlines(keepends=True)
    head = lines[0].rstrip("\n").split(",")
    ts_i, rate_i = head.index("timestamp"), head.index("rate")
    changed = 0
    for i, line in enumerate(lines[1:], start=1):
        cells = line.rstrip("\n").split(",")
        if cells[ts_i].startswith("2025-1"):
            cells[rate_i] = repr(2 * float(cells[rate_i]))
            lines[i] = ",".join(cells) + "\n"
            changed += 1
    assert changed > 100
    f.write_text("".join(lines))
    after, err, probe = _run(args, cache, data)
    assert probe["code"] == 0, err
    assert "pandas" in probe["heavy"], "the changed file was served from the cache"
    fresh, _, _ = _run(args, tmp_path / "fresh-cache", data)
    assert after == fresh
    b, a = json.loads(before), json.loads(after)
    assert a["kappa_bps"] != b["kappa_bps"]
    assert a["alpha_risk"] == b["alpha_risk"]  # sigma comes from the unchanged candles


def test_a_new_file_that_shadows_an_input_is_recomputed(small_data: Path, tmp_path: Path) -> None:
    data, cache, first = _first_run(small_data, tmp_path)
    args = _GBM_ARGS
    # the --data-dir root is searched before BASISCTL_DATA_DIR: a funding file there shadows the old one
    top = tmp_path / "top"
    (top / "funding" / "hyperliquid").mkdir(parents=True)
    shutil.copyfile(data / "funding" / "hyperliquid" / "BTC.csv", top / "funding" / "hyperliquid" / "BTC.csv")
    out, err, probe = _run(["--data-dir", str(top), *args], cache, data)
    assert probe["code"] == 0, err
    assert "pandas" in probe["heavy"], "a run with another data dir was served the old entry"
    assert out == first  # the same bytes, recomputed from the shadowing copy


def test_the_table_of_a_hit_names_the_normalised_venue_and_asset(small_data: Path, tmp_path: Path) -> None:
    args = ["static", "--venue", "HyperLiquid", "--asset", "btc", "--model", "gbm", "--asof", "2026-01-01"]
    out1, err1, _ = _run(args, tmp_path, small_data)
    out2, err2, p2 = _run(args, tmp_path, small_data)
    assert p2["heavy"] == []
    assert (out2, err2) == (out1, err1)
    assert "Static control: hyperliquid BTC" in out1
