"""The chaos audit's silent_changes_resolved: each injected silent change matched by its own standing adoption.

The first 500-kill run reported 33/35: two adoptions of late fills (later reversed) were counted by the injection
gate, so two silent changes were injected while an earlier one still awaited adoption, and each pair was adopted
as one. These hand-built journals pin the matching (pure functions of the journal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.chaos import silent_changes_matched, standing_adoption_deltas
from basisctl.live.journal import Journal


def _adopt(j: Journal, aid: str, delta: dict[str, float], ts: int) -> None:
    j.append("adopt", f"adopt:{aid}", {"delta": delta, "ts_ms": ts}, ts)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "j.sqlite")
    yield j
    j.close()


def test_one_adoption_per_change_matches(journal: Journal) -> None:
    _adopt(journal, "a", {"perp_size": 0.04791000000000167}, 1)  # float noise of venue - journal
    _adopt(journal, "b", {"perp_size": 0.15889}, 2)
    assert silent_changes_matched(journal, [0.04791, 0.15889]) == 2
    assert silent_changes_matched(journal, [0.15889, 0.04791]) == 2  # order-free
    assert silent_changes_matched(journal, [0.04791, 0.15889, 0.1]) == 2  # the third never adopted


def test_two_changes_adopted_as_one_are_not_resolved(journal: Journal) -> None:
    # the 500-kill run's case: 0.04571 then 0.18243 inside one episode, adopted as 0.22814
    _adopt(journal, "m", {"perp_size": 0.22814}, 1)
    assert silent_changes_matched(journal, [0.04571, 0.18243]) == 0


def test_reversed_and_partly_explained_adoptions(journal: Journal) -> None:
    # a late fill's adoption (perp bought 0.15279 at 90,930), fully explained later: reversed, matches nothing
    _adopt(journal, "f", {"perp_size": 0.15279, "perp_cash": -13893.6}, 1)
    journal.append("adopt", "adopt-net:f:102", {"delta": {"perp_size": -0.15279, "perp_cash": 13893.6}}, 2)
    journal.append("adopt", "adopt-reversal:f", {"delta": {}, "explained_by": "102"}, 2)
    # a silent change of 0.1 adopted together with a hidden fill of 0.05; the fill explains its part later
    _adopt(journal, "p", {"perp_size": 0.15, "perp_cash": -4500.0}, 3)
    journal.append("adopt", "adopt-net:p:103", {"delta": {"perp_size": -0.05, "perp_cash": 4500.0}}, 4)
    nets = standing_adoption_deltas(journal)
    assert len(nets) == 1
    assert nets[0]["perp_size"] == pytest.approx(0.1, abs=1e-12)
    assert nets[0]["perp_cash"] == pytest.approx(0.0, abs=1e-9)
    assert silent_changes_matched(journal, [0.1]) == 1
    assert silent_changes_matched(journal, [0.15279]) == 0  # a reversed adoption resolves no silent change
    assert silent_changes_matched(journal, [0.1, 0.1]) == 1  # one adoption resolves one change, not two
