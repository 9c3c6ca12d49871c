"""The paper's own window: Table X/XI transcription and the 2024 replay against the printed values."""

from __future__ import annotations

import pytest

from basisctl.backtest.experiment import PAPER_PERIODS, run_experiment
from basisctl.backtest.paper_tables import PAPER_TABLE_X, PAPER_TABLE_XI, compare_with_paper


def test_transcribed_tables_obey_the_papers_own_identities() -> None:
    for key, r in PAPER_TABLE_XI.items():
        # Table XI: average rebalance = turnover / rebalances (printed to 2 decimals of a percent)
        assert r["turnover_pct"] / r["rebalances"] == pytest.approx(r["avg_rebalance_pct"], abs=6e-5), key
    for key, r in PAPER_TABLE_X.items():
        # Table X: APY = acc. return x 365 / days over about one year, so APY <= acc and within 0.1 pp of it
        assert 0.0 <= r["acc_return"] - r["apy"] <= 0.001, key
        assert r["funding_apy"] > r["apy"], key  # costs and MTM are a drag in every printed row


@pytest.mark.needs_data
def test_btc_eth_2024_replay_is_within_about_one_pp_of_table_x() -> None:
    periods = [p for p in PAPER_PERIODS if p.asset in ("BTC", "ETH")]
    assert all(str(p.calib_from.date()) == "2023-01-01" and p.start == "2024-01-01" for p in periods)
    exp = run_experiment(periods)
    cmp = compare_with_paper(exp, periods[0].label)
    apy = cmp[cmp["metric"] == "apy"]
    assert len(apy) == 4
    assert (apy["diff"].abs() < 0.0125).all(), apy
    # every compared cell is ours - paper
    assert ((cmp["ours"] - cmp["paper"]) - cmp["diff"]).abs().max() < 1e-12
    # no look-ahead: the frozen rule of 2024 ends its calibration at the window start
    for rule in exp.rules.values():
        assert str(rule.calib_to.date()) == "2024-01-01"
