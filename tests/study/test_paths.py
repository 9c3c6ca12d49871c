"""Real walk-forward windows: calendar-aligned, non-overlapping, inside [first, last]."""

from __future__ import annotations

import pandas as pd

from basisctl.study.paths import window_bounds


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_quarterly_windows_are_aligned_and_disjoint() -> None:
    w = window_bounds(_t("2022-06-30 13:00"), _t("2023-10-01"), 3)
    assert [(a.strftime("%Y-%m-%d"), b.strftime("%Y-%m-%d")) for a, b in w] == [
        ("2022-07-01", "2022-10-01"), ("2022-10-01", "2023-01-01"), ("2023-01-01", "2023-04-01"),
        ("2023-04-01", "2023-07-01"), ("2023-07-01", "2023-10-01")]
    assert all(w[i][1] == w[i + 1][0] for i in range(len(w) - 1))


def test_half_year_and_year_windows() -> None:
    assert [a.month for a, _ in window_bounds(_t("2022-01-01"), _t("2024-01-01"), 6)] == [1, 7, 1, 7]
    assert [a.year for a, _ in window_bounds(_t("2022-01-02"), _t("2025-06-01"), 12)] == [2023, 2024]
    assert window_bounds(_t("2022-01-01"), _t("2022-03-31"), 3) == []
