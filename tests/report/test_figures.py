"""Report figures (issue 20 n): one rules panel per asset, no overlapping text, portfolio table in %, the MC
alpha_L check stated as one test. Figures are built from small synthetic inputs (no data dir)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from basisctl.backtest.portfolio import PortfolioResult
from basisctl.report import mc_section as mc
from basisctl.report import portfolio_section as ps
from basisctl.report import rules_section as rs
from basisctl.report.risk_section import breaches_figure
from basisctl.report.study_section import _paired_figure
from basisctl.rules.compare import CompareResult

RULES = ("paper", "optimal", "hold", "fixed_leverage", "periodic")


def _compare(assets: tuple[str, ...] = ("BTC", "ETH", "SOL"), windows: tuple[str, ...] = ("2025Q3", "2025Q4"),
             bars: int = 24 * 30, venue: str = "hyperliquid") -> CompareResult:
    """A CompareResult whose backtests are stubs with the two attributes the figures read."""
    rng = np.random.default_rng(0)
    cmp = CompareResult()
    for w, lab in enumerate(windows):
        idx = pd.date_range(pd.Timestamp("2025-07-01", tz="UTC") + pd.Timedelta(hours=bars * w), periods=bars,
                            freq="h")
        for a, r in itertools.product(assets, RULES):
            fr = pd.DataFrame({"nav": 1e6 * np.exp(np.cumsum(rng.normal(0, 1e-3, bars))),
                               "alpha": np.clip(0.3 + np.cumsum(rng.normal(0, 5e-3, bars)), 0.05, 0.9)}, index=idx)
            cmp.results[(lab, a, venue, r)] = SimpleNamespace(to_frame=lambda fr=fr: fr,  # type: ignore[assignment]
                                                              config=SimpleNamespace(capital_usd=1e6))
    return cmp


def _books() -> list[PortfolioResult]:
    idx = pd.date_range("2025-03-10", periods=24 * 200, freq="h", tz="UTC")
    alloc = pd.DataFrame({"date": np.repeat(idx[::24 * 30][:4], 2), "asset": ["BTC", "ETH"] * 4,
                          "venue": ["hyperliquid", "binance"] * 4, "capital_usd": [5e5, 5e5] * 4})
    nav = pd.Series(1e6 * np.linspace(1.0, 1.05, len(idx)), index=idx)
    dip = nav.copy()
    dip.iloc[100] = 0.9 * nav.iloc[99]  # a 10% drawdown from the running peak
    return [PortfolioResult(nav=nav, allocations=alloc, label="book"),
            PortfolioResult(nav=dip, allocations=alloc, label="equal weight")]


def _texts(fig: plt.Figure) -> list[Text]:
    """Titles (figure and axes), axis labels and the drawn tick labels (inside the view limits, not hidden by a
    shared axis) of every axes; non-empty only. Call after ``fig.canvas.draw()``."""
    f: Any = fig
    out: list[Text] = [f._suptitle] if f._suptitle is not None else []
    for ax in f.axes:
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        axis: Any
        for axis in (ax.xaxis, ax.yaxis):
            out += [lab for tick in axis._update_ticks() for lab in (tick.label1, tick.label2)]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _box(t: Text, r: Any) -> tuple[float, float, float, float, float]:
    """Centre (px), unrotated width and height (px) and rotation (rad) of the drawn text rectangle."""
    bb = t.get_window_extent(r)
    rot = t.get_rotation()
    t.set_rotation(0.0)
    w, h = t.get_window_extent(r).width, t.get_window_extent(r).height
    t.set_rotation(rot)
    return (bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2, w, h, np.deg2rad(rot)


def _collide(a: tuple[float, ...], b: tuple[float, ...], tol: float = 1.0) -> bool:
    """Two text rectangles overlap (by more than ``tol`` px): exact for equal rotations (rotated frame),
    conservative (axis-aligned hulls) otherwise."""
    (xa, ya, wa, ha, ra), (xb, yb, wb, hb, rb) = a, b
    if np.isclose(ra, rb):
        dx, dy = xb - xa, yb - ya
        u = abs(dx * np.cos(ra) + dy * np.sin(ra))
        v = abs(-dx * np.sin(ra) + dy * np.cos(ra))
        return u < (wa + wb) / 2 - tol and v < (ha + hb) / 2 - tol

    def hull(x: float, y: float, w: float, h: float, r: float) -> tuple[float, float]:
        return (abs(w * np.cos(r)) + abs(h * np.sin(r))) / 2, (abs(w * np.sin(r)) + abs(h * np.cos(r))) / 2

    (ha_x, ha_y), (hb_x, hb_y) = hull(*a), hull(*b)
    return abs(xb - xa) < ha_x + hb_x - tol and abs(yb - ya) < ha_y + hb_y - tol


def _overlaps(fig: plt.Figure) -> list[tuple[str, str]]:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), _box(t, r)) for t in _texts(fig)]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if _collide(ba, bb)]


def test_overlap_detector_can_fail() -> None:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title("a long title that collides with the axis label")
    ax.set_xlabel("x")
    ax.set_ylabel("a very long y label " * 5)
    ax.set_xticks(range(30))
    assert _overlaps(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(3, 2))  # rotated labels, too many for the width: the rotated frame sees it
    ax.set_xticks(range(12), [f"2025-{m:02d}-01" for m in range(1, 13)], rotation=30)
    assert _overlaps(fig)
    ax.set_xticks(range(0, 12, 4), ["2025-01-01", "2025-05-01", "2025-09-01"], rotation=30)
    assert _overlaps(fig) == []
    plt.close(fig)


def test_rules_figure_one_axes_per_asset() -> None:
    cmp = _compare()
    for make in (rs._nav_alpha_figure, rs._alpha_figure):
        fig = make(cmp, "hyperliquid")
        assert fig is not None
        assert len(fig.axes) == 3
        assert [ax.get_title(loc="left").split()[0] for ax in fig.axes] == ["BTC", "ETH", "SOL"]
        assert all(len(ax.get_lines()) == len(RULES) * 2 for ax in fig.axes)  # every rule, both windows
        assert fig.axes[-1].get_xlabel() == "time [UTC]"
        plt.close(fig)
    assert rs._nav_alpha_figure(cmp, "binance") is None


def test_rules_figure_plots_naive_utc_times() -> None:
    cmp = _compare(assets=("BTC",), windows=("w",), bars=48)
    fig = rs._nav_alpha_figure(cmp, "hyperliquid")
    assert fig is not None
    x = np.asarray(fig.axes[0].get_lines()[0].get_xdata())
    assert x.dtype.kind == "M"  # datetime64, not Timestamp objects
    assert pd.Timestamp(x[0]) == pd.Timestamp("2025-07-01 00:00")  # UTC wall time, tz dropped
    y = np.asarray(fig.axes[0].get_lines()[0].get_ydata(), dtype=float)
    f = cmp.results[("w", "BTC", "hyperliquid", "paper")].to_frame()
    np.testing.assert_allclose(y, f["nav"].to_numpy() / 1e6)
    plt.close(fig)


def _mc_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    up = pd.DataFrame([{"venue": v, "asset": a, "cost_bps": c, "hit_rate": 0.1 * c / 10, "hit_rate_se": 0.01,
                        "median_hit_days": 40.0 + c, "alpha_upper": 0.5, "alpha_target": 0.3, "kappa14_bps": 3.0,
                        "clipped": False}
                       for v in mc.VENUES for a in ("BTC", "ETH", "SOL", "HYPE") for c in mc.DEFAULT_COSTS_BPS])
    lo = pd.DataFrame([{"venue": v, "asset": a, "sigma_stressed": 0.9, "theta_f": 0.1, "alpha_liq": 0.05,
                        "alpha_lower": 0.08, "mc_liq_rate": 1.1e-4, "mc_liq_rate_se": 1e-5,
                        "alpha_lower_boot": 0.09, "alpha_lower_boot_ci": (0.085, 0.095), "boot_paths": 100_000,
                        "alpha_target": 0.3}
                       for v in mc.VENUES for a in ("BTC", "ETH", "SOL", "HYPE")])
    return up, lo


def _figures() -> list[tuple[str, plt.Figure | None]]:
    cmp = _compare()
    books = _books()
    up, lo = _mc_frames()
    lo = lo.assign(boot_ci_low=0.085, boot_ci_high=0.095)
    ts = pd.date_range("2025-01-01", periods=200, freq="D", tz="UTC")
    det = pd.DataFrame([{"asset": a, "model": m, "epsilon": 1e-3, "horizon_hours": 8.0, "ts": t, "breach": b}
                        for a in ("BTC", "ETH", "SOL") for m in ("gbm", "fhs")
                        for t, b in zip(ts, np.random.default_rng(1).random(len(ts)) < 0.01, strict=True)])
    study = pd.DataFrame([{"kind": "historical", "rule": r, "path": p, "apy": 0.05 + 0.01 * np.sin(p + i)}
                          for i, r in enumerate([*RULES, "paper_fhs"]) for p in range(50)])
    return [("rules nav", rs._nav_alpha_figure(cmp, "hyperliquid")),
            ("rules alpha", rs._alpha_figure(cmp, "hyperliquid")),
            ("portfolio nav", ps.nav_figure(books)), ("portfolio allocation", ps.allocation_figure(books[0])),
            ("mc hit rate", mc._hit_rate_figure(up)), ("mc lower", mc._lower_figure(lo)),
            ("risk breaches", breaches_figure(det, 1e-3, 8.0)),
            ("study paired", _paired_figure(study, [*RULES, "paper_fhs"], "historical"))]


@pytest.mark.parametrize("i", range(8))
def test_no_overlapping_text(i: int) -> None:
    name, fig = _figures()[i]
    assert fig is not None
    assert _overlaps(fig) == [], name
    plt.close("all")


def test_portfolio_table_in_percent() -> None:
    t = ps.metrics_table(_books())
    for h in ps.PCT_COLUMNS.values():
        assert "%" in h
        assert all(str(v).endswith("%") for v in t[h])
    assert t["max drawdown [%]"].tolist() == ["0.00%", "-10.00%"]
    html = ps.portfolio_section(_books(), "cmd")
    assert "-10.00%" in html and "[% per year]" in html


def test_mc_section_says_one_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mc, "mc_grids", lambda assets, note=None: _mc_frames())
    html = mc.mc_section(["BTC", "ETH", "SOL", "HYPE"])
    assert "over its 8 venue &times; asset cells is one test, not 8" in html
