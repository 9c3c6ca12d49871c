"""The study file: the packaged default parses, its hash is the file's SHA-256, bad fields fail with one line."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from basisctl.study.studyfile import StudyFileError, load_study, parse_study


def _default() -> bytes:
    return resources.files("basisctl.study").joinpath("default_study.toml").read_bytes()


def test_default_study_and_hash() -> None:
    s = load_study()
    assert s.sha256 == hashlib.sha256(_default()).hexdigest()
    assert s.candidates == ("paper", "paper_fhs", "optimal", "hold", "fixed_leverage", "periodic")
    assert s.regime is None  # the default study stays as registered; regime has its own packaged study
    assert s.block_days >= 30 and s.paths == 1000 and s.burn_in_days == 180
    assert f"{s.holdout_from:%Y-%m-%d}" == "2025-10-01"
    assert s.generators == ("fhs", "kou") and s.optimal_floor_model == "fhs"


def test_any_edit_changes_the_hash(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_bytes(_default().replace(b"seed = 20260101", b"seed = 20260102"))
    assert load_study(p).sha256 != load_study().sha256


@pytest.mark.parametrize(("old", "new", "field"), [
    (b"block_days = 30", b"block_days = 7", "block_days"),
    (b'window = "3M"', b'window = "2W"', "window"),
    (b'candidates = ["paper", ', b'candidates = ["nope", ', "candidates"),
    (b'holdout_from = "2025-10-01"', b'holdout_from = "soon"', "holdout_from"),
    (b"level = 0.90", b"level = 1.5", "level"),
    (b'cost_bps = "paper"', b'cost_bps = "cheap"', "cost_bps"),
])
def test_bad_fields_name_the_field(old: bytes, new: bytes, field: str) -> None:
    with pytest.raises(StudyFileError, match=field):
        parse_study(_default().replace(old, new), "x.toml")


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match="cannot read"):
        load_study(tmp_path / "none.toml")
    with pytest.raises(StudyFileError, match="not valid TOML"):
        parse_study(b"[study\n", "y.toml")


def test_packaged_regime_study_is_the_default_plus_regime() -> None:
    """Issue 23: the regime rule joins the path study through a second packaged, pre-registered file
    (``--study-file regime``), so that the default study, its hash and its published verdict do not move."""
    d, r = load_study(), load_study("regime")
    assert r.candidates == (*d.candidates, "regime") and r.regime is not None and r.regime.inner_rule == "paper"
    assert r.sha256 != d.sha256 and load_study("default").sha256 == d.sha256
    assert (r.block_days, r.paths, r.burn_in_days, r.holdout_from, r.seed) == (
        d.block_days, d.paths, d.burn_in_days, d.holdout_from, d.seed)
