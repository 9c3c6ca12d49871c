"""The one result cache (basisctl.cache): keys, invalidation by inputs, corrupt entries, disabling, warnings."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from basisctl import cache
from basisctl.data import locator
from basisctl.warnings import collecting, substitute

FUNDING = ("timestamp,ts_ms,rate,interval_hours,source\n"
           "2024-01-01T00:00:00Z,1704067200000,0.0001,8,T\n"
           "2024-01-01T08:00:00Z,1704096000000,0.0002,8,T\n")
ROW = "2024-01-01T16:00:00Z,1704124800000,0.0003,8,T\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "data"
    (root / "funding" / "binance").mkdir(parents=True)
    (root / "funding" / "binance" / "ZZZ.csv").write_text(FUNDING)
    locator.set_data_dir(root)
    yield root
    locator.set_data_dir(None)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def funding_sum(self) -> float:
        self.calls += 1
        return float(locator.load_funding("binance", "ZZZ")["rate"].sum())


def test_second_call_is_a_hit_with_the_same_value(data_dir: Path) -> None:
    c = Counter()
    first = cache.memoize("t", {"x": 1}, c.funding_sum)
    second = cache.memoize("t", {"x": 1}, c.funding_sum)
    assert (first.hit, second.hit, c.calls) == (False, True, 1)
    assert first.value == second.value == pytest.approx(0.0003)
    assert second.status == "cached" and first.status == "computed"
    assert [fp.label for fp in second.files] == ["funding binance ZZZ"]
    assert any(p.suffix == ".pkl" for p in Path(os.environ[cache.ENV_CACHE_DIR]).rglob("*"))


def test_key_changes_with_parameters_and_defaults(data_dir: Path) -> None:
    c = Counter()
    cache.memoize("t", {"x": 1}, c.funding_sum)
    assert not cache.memoize("t", {"x": 2}, c.funding_sum).hit
    assert not cache.memoize("t", {"x": 1, "y": None}, c.funding_sum).hit  # an added (default) parameter
    assert not cache.memoize("t", {"x": 1.0000000001}, c.funding_sum).hit
    assert not cache.memoize("u", {"x": 1}, c.funding_sum).hit  # another name
    assert c.calls == 5
    assert cache.memoize("t", {"x": 1}, c.funding_sum).hit


def test_key_changes_with_the_package_source(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    c = Counter()
    cache.memoize("t", {}, c.funding_sum)
    monkeypatch.setattr(cache, "source_hash", lambda: "an edited package")
    assert not cache.memoize("t", {}, c.funding_sum).hit
    # and the source hash does see an edit of any module file
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    h0 = cache.tree_hash(pkg)
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert cache.tree_hash(pkg) != h0
    monkeypatch.undo()
    assert len(cache.source_hash()) == 64


def test_appended_row_recomputes_touch_does_not(data_dir: Path) -> None:
    c = Counter()
    f = data_dir / "funding" / "binance" / "ZZZ.csv"
    cache.memoize("t", {}, c.funding_sum)
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))  # same bytes, new mtime
    assert cache.memoize("t", {}, c.funding_sum).hit
    with open(f, "a") as h:
        h.write(ROW)
    out = cache.memoize("t", {}, c.funding_sum)
    assert not out.hit and out.value == pytest.approx(0.0006) and c.calls == 2
    assert cache.memoize("t", {}, c.funding_sum).hit


def test_a_file_that_appears_where_none_was_invalidates(data_dir: Path) -> None:
    calls = []

    def probe() -> bool:
        calls.append(1)
        return locator.has_funding("hyperliquid", "ZZZ")

    assert cache.memoize("p", {}, probe).value is False
    assert cache.memoize("p", {}, probe).hit
    (data_dir / "funding" / "hyperliquid").mkdir()
    (data_dir / "funding" / "hyperliquid" / "ZZZ.csv").write_text(FUNDING)
    out = cache.memoize("p", {}, probe)
    assert not out.hit and out.value is True and len(calls) == 2


def test_corrupt_entry_is_recomputed_with_a_warning(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = Counter()
    cache.memoize("t", {}, c.funding_sum)
    [entry] = list((Path(os.environ[cache.ENV_CACHE_DIR]) / "t").glob("*.pkl"))  # (the parsed file has its own)
    entry.write_bytes(b"\x80\x05 not a pickle")
    out = cache.memoize("t", {}, c.funding_sum)
    assert not out.hit and out.value == pytest.approx(0.0003) and c.calls == 2
    err = capsys.readouterr().err
    assert err.startswith("warning: cache: unreadable entry") and err.count("\n") == 1
    assert cache.memoize("t", {}, c.funding_sum).hit  # replaced by a good entry
    entry.write_bytes(pickle.dumps({"something": "else"}))  # readable, but not an entry
    assert not cache.memoize("t", {}, c.funding_sum).hit
    assert "not a basisctl cache entry" in capsys.readouterr().err


def test_unwritable_cache_dir_warns_and_still_returns(data_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_CACHE_DIR, str(blocker))
    out = cache.memoize("t", {}, Counter().funding_sum)
    assert out.value == pytest.approx(0.0003) and not out.hit
    assert "warning: cache: could not store" in capsys.readouterr().err


def test_disabled_recomputes_and_refreshes(data_dir: Path) -> None:
    c = Counter()
    cache.memoize("t", {}, c.funding_sum)
    with cache.disabled():
        assert not cache.memoize("t", {}, c.funding_sum).hit
    assert cache.enabled() and cache.memoize("t", {}, c.funding_sum).hit and c.calls == 2


def test_warnings_are_replayed_and_files_reported_on_a_hit(data_dir: Path) -> None:
    def warns() -> int:
        locator.load_funding("binance", "ZZZ")
        substitute("thin_sample", "ZZZ: only 2 settlements")
        return 7

    with collecting() as col:
        cache.memoize("w", {}, warns)
    assert col.messages == ["ZZZ: only 2 settlements"]
    locator.clear_files_read()
    with collecting() as col:
        out = cache.memoize("w", {}, warns)
    assert out.hit and col.messages == ["ZZZ: only 2 settlements"]
    assert locator.files_read() == {"funding binance ZZZ": str(data_dir / "funding" / "binance" / "ZZZ.csv")}
    with pytest.raises(Exception, match="strict"), collecting(strict=True):
        cache.memoize("w", {}, warns)  # --strict refuses a cached substitution too


def test_canonical_params() -> None:
    ts = pd.Timestamp("2025-03-10", tz="UTC")
    assert cache.entry_key("n", {"a": ts, "b": (1, 2)}) == cache.entry_key("n", {"b": [1, 2], "a": ts})
    assert cache.entry_key("n", {"a": ts}) != cache.entry_key("n", {"a": ts + pd.Timedelta(hours=1)})
    with pytest.raises(TypeError, match="cannot canonicalise"):
        cache.canonical(object())


def _read_in_worker(root: str) -> locator.Reads:
    locator.set_data_dir(root)
    with locator.recording() as rec:
        locator.load_funding("binance", "ZZZ")
    return rec


def test_reads_made_in_a_worker_process_reach_the_parent(data_dir: Path) -> None:
    locator.clear_files_read()
    with locator.recording() as outer, ProcessPoolExecutor(1) as ex:
        rec = ex.submit(_read_in_worker, str(data_dir)).result()
        locator.note_reads(rec)
    path = str(data_dir / "funding" / "binance" / "ZZZ.csv")
    assert locator.files_read() == {"funding binance ZZZ": path}
    assert outer.files == {"funding binance ZZZ": path} and path in outer.stats


def test_garch_fits_are_cached_by_window_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from basisctl.risk import garch

    r = garch.simulate_garch(3000, 1e-6, 0.06, 0.9, seed=3)
    real = garch.fit_garch
    calls: list[int] = []

    def counting(*a: object, **k: object) -> garch.GarchFit:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(garch, "fit_garch", counting)
    g1, g2 = garch.fit_garch_cached(r), garch.fit_garch_cached(r.copy())
    assert g1 == g2 == real(r) and len(calls) == 1  # identical floats, one fit
    garch.fit_garch_cached(r[1:])  # another window
    garch.fit_garch_cached(r, start=(0.05, 0.9))  # another optimiser start
    assert len(calls) == 3
    table: dict[str, object] = {}
    assert garch.fit_garch_cached(r, table=table) == g1 and len(table) == 1 and len(calls) == 4
    cache.store_table("risk/garch fits", {"series": 1}, table)
    again = cache.load_table("risk/garch fits", {"series": 1})
    assert garch.fit_garch_cached(r, table=again) == g1 and len(calls) == 4
    assert cache.load_table("risk/garch fits", {"series": 2}) == {}


# a funding file whose settlements sit 1 h off the 8 h grid: valid, with one validation warning
OFF_GRID = ("timestamp,ts_ms,rate,interval_hours,source\n"
            "2024-01-01T01:00:00Z,1704070800000,0.0001,8,T\n"
            "2024-01-01T09:00:00Z,1704099600000,0.0002,8,T\n")


def test_a_parsed_data_file_is_served_from_the_cache_with_its_warnings(data_dir: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 speed: a second process reads a data file parsed and validated from the result cache (keyed by
    the file's content), with the validation warnings replayed, and never a stale frame."""
    from basisctl.data import io

    f = data_dir / "funding" / "binance" / "ZZZ.csv"
    f.write_text(OFF_GRID)
    locator.clear_caches()  # the in-process cache stands for "the same process"; clearing it = a new process
    with collecting() as c1:
        first = locator.load_funding("binance", "ZZZ")
    assert len(c1.messages) == 1 and "off the 8 h UTC grid" in c1.messages[0]
    assert len(list((Path(os.environ[cache.ENV_CACHE_DIR]) / "data_parsed_funding").glob("*.pkl"))) == 1
    real = io.read_funding
    monkeypatch.setattr(io, "read_funding", lambda *a, **k: pytest.fail("parsed again despite a cache entry"))
    locator.clear_caches()
    with collecting() as c2:
        second = locator.load_funding("binance", "ZZZ")
    pd.testing.assert_frame_equal(first, second)
    assert second.attrs == first.attrs and c2.messages == c1.messages
    with pytest.raises(Exception, match="strict"), collecting(strict=True):  # --strict refuses the replay
        locator.clear_caches()
        locator.load_funding("binance", "ZZZ")
    monkeypatch.setattr(io, "read_funding", real)
    with open(f, "a") as h:  # new content: parsed again, never the stale frame
        h.write("2024-01-01T17:00:00Z,1704128400000,0.0003,8,T\n")
    locator.clear_caches()
    with collecting():
        assert locator.load_funding("binance", "ZZZ")["rate"].sum() == pytest.approx(0.0006)
    with pytest.warns(Warning, match="off the 8 h UTC grid"):  # no collector: a Python warning, computed or not
        locator.clear_caches()
        f.write_text(OFF_GRID.replace("0.0002", "0.0004"))
        locator.load_funding("binance", "ZZZ")
    with pytest.warns(Warning, match="off the 8 h UTC grid"):
        locator.clear_caches()
        locator.load_funding("binance", "ZZZ")
