"""Walk-forward portfolio backtest composed of single-position runs (``run_backtest``), never a re-implementation.

At each re-allocation date d (``rebalance``: ``monthly`` | ``quarterly`` | ``none``) the allocation is computed
from data truncated to d (funding settled at or before d, candles closed by d): venue table per asset
(:mod:`basisctl.venues.choice`) -> :func:`basisctl.portfolio.book.allocate`. Positions then run as single-position
backtests under the frozen band rule (calibrated on the two years before the position opens, margin rule and
carry of the position's venue):

- a position kept at the next date (same asset and venue) *continues* its single run (one run per holding
  segment, its capital fixed at opening) unless its target differs from its NAV by more than
  ``resize_tolerance`` (25 %), in which case it is closed and reopened at the target, paying both costs;
- a position dropped is closed: its spot notional pays the exit cost (Table VIII bps), and it is credited the
  settlements after its last bar open up to the closing instant (the one *at* a switch date accrued on the old
  short; the new position's run starts after it), so a switch loses no settlement;
- a new position (a new asset, or a venue switch) opens with ``charge_entry`` (the kernel's entry cost) and gets
  min(weight x book NAV, free cash).

Book NAV = cash + the NAV of every open segment. A one-asset, one-venue book is therefore exactly one
single-position run plus zero cash. Benchmarks: a Hyperliquid-only book and an equal-weight book over the same
ranked positions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel, paper_cost_bps
from basisctl.backtest.data import MAX_MISSING_FUNDING_SHARE, prepare
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.results import BacktestResult
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule
from basisctl.calibration.inputs import calibrate_sigma
from basisctl.errors import BasisctlError, DataCoverageError
from basisctl.model.margin import check_within_margin_table, venue_margin_tiers
from basisctl.portfolio.book import allocate, weekly_apy
from basisctl.venues.choice import venue_table

FREQ = {"monthly": "MS", "quarterly": "QS"}
# MAX_MISSING_FUNDING_SHARE (backtest.data): the share of a position's expected settlements that may be missing
# before the run is refused (missing settlements pay zero funding: a half-empty stream would look like weak carry).
Streams = Mapping[tuple[str, str], pd.DataFrame]  # (asset, venue) -> funding frame


def rebalance_dates(start: pd.Timestamp, end: pd.Timestamp, rebalance: str) -> list[pd.Timestamp]:
    if rebalance == "none":
        return [start]
    if rebalance not in FREQ:
        raise BasisctlError(f"--rebalance '{rebalance}': expected monthly, quarterly or none")
    ds = [d for d in pd.date_range(start, end, freq=FREQ[rebalance], tz="UTC") if start < d < end]
    return [start, *ds]


class Sizer(Protocol):
    """Sizes positions under a liquidation-risk model (``basisctl.risk.rule.ModelSizer``, injected from above:
    risk/ sits above backtest/); None everywhere = the paper's stressed GBM."""

    def barriers(self, asset: str, asof: pd.Timestamp, lookback_days: float) -> Mapping[str, float] | None:
        """Log barriers {"target", "lower"} on the bars before ``asof`` (None: the paper's closed form)."""
        ...

    def rule(self, rule: FrozenRule, spec: RuleSpec) -> FrozenRule:
        """``rule`` with alpha_target / alpha_L of the model."""
        ...


def allocation_at(d: pd.Timestamp, assets: list[str], streams: Streams, capital_usd: float, *,
                  lookback_days: float, max_venue_share: float, max_asset_share: float, risk_aversion: float,
                  venues: list[str] | None = None, equal_weight: bool = False,
                  sigma_of: Callable[[str, pd.Timestamp], float] | None = None,
                  shared: SharedInputs | None = None, sizer: Sizer | None = None) -> pd.DataFrame:
    """Positions (asset, venue, capital_usd, alpha_target, expected_apy) decided at ``d`` from data <= d only;
    alpha_target under ``sizer``'s risk model (calibrated on the bars before ``d``; None = the paper's GBM).
    ``shared``: venue tables and weekly funding APYs memoised across books over the same streams."""
    memo = shared if shared is not None else SharedInputs()
    rows, hist = [], {}
    for a in assets:
        past = {v: f[f["ts"] <= d] for (aa, v), f in streams.items() if aa == a and (venues is None or v in venues)}
        if not past:
            continue
        sigma = (sigma_of or _sigma)(a, d)
        tkey = (a, d, tuple(past), float(lookback_days), float(sigma), id(sizer))
        if tkey not in memo.tables:
            bar = sizer.barriers(a, d, lookback_days) if sizer is not None else None
            memo.tables[tkey] = venue_table(a, past, asof=d, lookback_days=lookback_days, sigma_annual=sigma,
                                            barriers=bar)
        tab = memo.tables[tkey]
        for r in tab.to_dict(orient="records"):
            if r["net_carry_apy"] is None or pd.isna(r["net_carry_apy"]):
                continue
            rows.append({"asset": a, "venue": r["venue"], "expected_apy": r["net_carry_apy"],
                         "alpha_target": r["alpha_target"], "capacity_usd": np.inf})
            wkey = (a, str(r["venue"]), d, float(lookback_days))
            if wkey not in memo.weekly:
                f = past[r["venue"]]
                memo.weekly[wkey] = weekly_apy(f[f["ts"] > d - pd.Timedelta(days=lookback_days)])
            hist[(a, r["venue"])] = memo.weekly[wkey]
    if not rows:
        return pd.DataFrame(columns=["asset", "venue", "capital_usd", "alpha_target", "expected_apy"])
    table = pd.DataFrame(rows)
    if equal_weight:
        pos = table[table["expected_apy"] > 0].copy()
        pos["capital_usd"] = capital_usd / max(len(pos), 1)
        return pos[["asset", "venue", "capital_usd", "alpha_target", "expected_apy"]].reset_index(drop=True)
    return allocate(table, capital_usd, max_venue_share=max_venue_share, max_asset_share=max_asset_share,
                    risk_aversion=risk_aversion, history=hist).positions


def missing_funding_check(res: BacktestResult, what: str, allow: bool = False,
                          max_share: float = MAX_MISSING_FUNDING_SHARE) -> str | None:
    """A ``warning:`` text when settlements are missing in ``res``'s window (None when none are); above
    ``max_share`` of the expected settlements (present + missing) it is a DataCoverageError naming ``what``,
    the window and the counts, unless ``allow`` (then the warning says so)."""
    m = res.metrics()
    n, miss = int(m["funding_settlements"]), int(m["missing_funding_settlements"])
    if miss <= 0:
        return None
    share = miss / max(n + miss, 1)
    src = "" if m["funding_source"] in ("frame", "", None) else f" in {m['funding_source']}"
    text = (f"{what} {m['start']}..{m['end']}: {miss} of {n + miss} funding settlements missing ({share:.1%})"
            f"{src}; missing settlements are credited as zero funding")
    if share > max_share and not allow:
        raise DataCoverageError(f"{text} -- more than {max_share:.0%} of the window: refusing (pass "
                                "--allow-missing-funding to run anyway)")
    return text


def _sigma(asset: str, d: pd.Timestamp) -> float:
    return calibrate_sigma(asset, d, 180.0, own_hint="this command reads candles from the data dirs only").sigma_annual


def position_rule(asset: str, venue: str, start: pd.Timestamp, funding: pd.DataFrame,
                  sizer: Sizer | None = None) -> FrozenRule:
    """The frozen rule of a position opened at ``start``: ``venue``'s margin rule and carry, two years before;
    alpha_target / alpha_L under ``sizer``'s risk model when given (as `backtest --risk-model`)."""
    spec = RuleSpec(margin_venue=venue, kappa_venue=venue)
    rule = calibrate_rule(asset, start - pd.DateOffset(years=2), start, paper_cost_bps(asset), spec,
                          funding=funding[funding["ts"] <= start])
    return sizer.rule(rule, spec) if sizer is not None else rule


@dataclass
class SharedInputs:
    """Calibrations that do not depend on the book, shared by books run over the SAME streams (the report's three
    books): sigma per (asset, date) and the frozen rule per (asset, venue, opening date). Pure memoisation: a book
    gets exactly the values it would compute itself (the profile of the report's Portfolio section showed the
    same rule recalibrated at every monthly mark and the same sigma once per book)."""

    sigmas: dict[tuple[str, pd.Timestamp], float] = field(default_factory=dict)
    rules: dict[tuple[str, str, pd.Timestamp, int], FrozenRule] = field(default_factory=dict)
    #: venue table per (asset, date, venues offered, lookback, sigma, sizer id); weekly APYs per (asset, venue, date,
    #: lookback)
    tables: dict[tuple[str, pd.Timestamp, tuple[str, ...], float, float, int], pd.DataFrame] = field(
        default_factory=dict)
    weekly: dict[tuple[str, str, pd.Timestamp, float], pd.Series] = field(default_factory=dict)

    def sigma(self, asset: str, d: pd.Timestamp) -> float:
        if (asset, d) not in self.sigmas:
            self.sigmas[(asset, d)] = _sigma(asset, d)
        return self.sigmas[(asset, d)]

    def rule(self, asset: str, venue: str, start: pd.Timestamp, funding: pd.DataFrame,
             sizer: Sizer | None = None) -> FrozenRule:
        key = (asset, venue, start, id(sizer))
        if key not in self.rules:
            self.rules[key] = position_rule(asset, venue, start, funding, sizer)
        return self.rules[key]


def position_run(asset: str, venue: str, start: pd.Timestamp, end: pd.Timestamp, capital_usd: float,
                 funding: pd.DataFrame, charge_entry: bool = True, rule: FrozenRule | None = None,
                 sizer: Sizer | None = None) -> BacktestResult:
    """One single-position backtest: the frozen rule of ``venue`` on the two years before ``start`` (``rule``:
    that rule, already calibrated by :func:`position_rule`); the spot leg as ``backtest``'s default (``--spot
    auto``: real spot bars where the data dir covers the window, else the proxy)."""
    if rule is None:
        rule = position_rule(asset, venue, start, funding, sizer)
    data = prepare(asset, start, end, "binance", venue, funding=funding, spot="auto")  # as `backtest`
    cfg = BacktestConfig(capital_usd=capital_usd, charge_entry=charge_entry,
                         margin_tiers=venue_margin_tiers(venue, asset))
    res = run_backtest(data, rule, CostModel.paper(asset), cfg)
    check_within_margin_table(venue, asset, max_perp_notional_usd(res))
    return res


def max_perp_notional_usd(res: BacktestResult) -> float:
    """Largest short perp notional of a run, |hedge_qty| x perp close [USD]."""
    fr = res.to_frame()
    return float((fr["hedge_qty"].abs() * fr["perp_close"]).max()) if len(fr) else 0.0


@dataclass
class PortfolioResult:
    """Book NAV per bar [USD], the allocation at each date (long frame: date, asset, venue, capital_usd) and the
    single runs that made it (one per holding segment)."""

    nav: pd.Series
    allocations: pd.DataFrame
    segments: list[dict[str, object]] = field(default_factory=list)
    label: str = "book"

    def metrics(self) -> dict[str, float | str]:
        nav = self.nav
        days = (nav.index[-1] - nav.index[0]).total_seconds() / 86400.0 if len(nav) > 1 else 0.0
        acc = float(nav.iloc[-1] / self.capital_usd - 1.0)
        path = np.concatenate([[self.capital_usd], nav.to_numpy()])
        dd = float(np.min(path / np.maximum.accumulate(path) - 1.0))
        cagr = (1.0 + acc) ** (365.0 / days) - 1.0 if days and acc > -1.0 else float("nan")
        return {"book": self.label, "acc_return": acc, "apy": acc * 365.0 / days if days else float("nan"),
                "apy_simple": acc * 365.0 / days if days else float("nan"), "cagr": cagr,
                "short_window": bool(days < 365.0),
                "max_drawdown": dd, "positions_opened": len(self.segments),
                "rebalance_dates": int(self.allocations["date"].nunique()) if len(self.allocations) else 0}

    capital_usd: float = 1_000_000.0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Open:
    start: pd.Timestamp
    capital: float


@dataclass(frozen=True)
class _Segment:
    asset: str
    venue: str
    start: pd.Timestamp
    end: pd.Timestamp
    capital_usd: float
    result: BacktestResult
    closed: bool
    #: settlements after the last bar's open up to and including ``end`` (the switch instant): they accrue on
    #: the short carried into ``end``, which this segment held, and the next segment must not count them
    close_settlements: int = 0
    close_funding_usd: float = 0.0

    def exit_cost_usd(self) -> float:
        fr = self.result.to_frame()
        return float(fr["spot_qty"].iloc[-1] * fr["spot_close"].iloc[-1]) * paper_cost_bps(self.asset) * 1e-4

    def proceeds_usd(self) -> float:
        """Cash the closed segment returns at ``end``: NAV - exit cost + the settlements at the close [USD]."""
        return float(self.result.nav[-1]) - self.exit_cost_usd() + self.close_funding_usd

    def public(self) -> dict[str, object]:
        m = self.result.metrics()
        if self.close_settlements:
            m = {**m, "funding_settlements": int(m["funding_settlements"]) + self.close_settlements,
                 "close_funding_usd": self.close_funding_usd}
        return {"asset": self.asset, "venue": self.venue, "kappa_venue": self.venue, "start": self.start,
                "end": self.end, "capital_usd": self.capital_usd, "metrics": m}


def close_settlements(res: BacktestResult, funding: pd.DataFrame, end: pd.Timestamp) -> tuple[int, float]:
    """(count, funding [USD, + = received by the short]) of the settlements in (last bar open, ``end``] on the
    hedge held through the last bar, priced at its close (the kernel's -h * rate * price): a run over [start, end)
    credits only settlements up to its last bar open, so a position closed at ``end`` would otherwise lose the
    one at ``end`` (8 h of carry on an 8-hourly venue) to neither segment."""
    fr = res.to_frame()
    last_open = res.data.ts[-1]
    f = funding[(funding["ts"] > last_open) & (funding["ts"] <= end)]
    if f.empty:
        return 0, 0.0
    h, price = float(fr["hedge_qty"].iloc[-1]), float(fr["perp_close"].iloc[-1])
    return len(f), float(-h * f["rate"].to_numpy(float).sum() * price)


def run_portfolio(assets: list[str], streams: Streams, start: pd.Timestamp, end: pd.Timestamp, *,
                  capital_usd: float = 1_000_000.0, rebalance: str = "monthly", lookback_days: float = 180.0,
                  max_venue_share: float = 0.4, max_asset_share: float = 0.4, risk_aversion: float = 1.0,
                  venues: list[str] | None = None, equal_weight: bool = False, label: str = "book",
                  sigma_of: Callable[[str, pd.Timestamp], float] | None = None,
                  resize_tolerance: float = 0.25, allow_missing_funding: bool = False,
                  shared: SharedInputs | None = None, sizer: Sizer | None = None) -> PortfolioResult:
    """Walk-forward book over [start, end) (see the module docstring). ``resize_tolerance``: a kept position whose
    target capital differs from its current NAV by more than this fraction is closed and reopened at the target
    (paying exit and entry costs); within it, the position runs on. A position whose window misses more than
    :data:`MAX_MISSING_FUNDING_SHARE` of its settlements is an error unless ``allow_missing_funding``; fewer
    missing settlements become warnings on the result. ``shared``: calibrations memoised across books over the
    same ``streams`` (:class:`SharedInputs`); results are identical with or without it."""
    memo = shared if shared is not None else SharedInputs()
    if sigma_of is None:
        sigma_of = memo.sigma
    dates = rebalance_dates(start, end, rebalance)
    open_: dict[tuple[str, str], _Open] = {}
    segments: list[_Segment] = []
    cash = capital_usd
    alloc_rows: list[dict[str, object]] = []
    runs: dict[tuple[str, str, pd.Timestamp, pd.Timestamp], BacktestResult] = {}

    def run_to(key: tuple[str, str], seg: _Open, t: pd.Timestamp) -> BacktestResult:
        ck = (key[0], key[1], seg.start, t)
        if ck not in runs:  # the kernel is causal: a longer run repeats the shorter one's prefix exactly
            runs[ck] = position_run(key[0], key[1], seg.start, t, seg.capital, streams[key],
                                    rule=memo.rule(key[0], key[1], seg.start, streams[key], sizer))
        return runs[ck]

    for d in dates:
        marks = {k: float(run_to(k, s, d).nav[-1]) if s.start < d else s.capital for k, s in open_.items()}
        book = cash + sum(marks.values())
        pos = allocation_at(d, assets, streams, book, lookback_days=lookback_days, max_venue_share=max_venue_share,
                            max_asset_share=max_asset_share, risk_aversion=risk_aversion, venues=venues,
                            equal_weight=equal_weight, sigma_of=sigma_of, shared=memo, sizer=sizer)
        want = {(str(a), str(v)): float(c) for a, v, c in zip(pos["asset"], pos["venue"], pos["capital_usd"],
                                                                strict=True)}
        resize = [k for k in open_ if k in want and abs(want[k] - marks[k]) > resize_tolerance * marks[k]]
        for k in [k for k in open_ if k not in want] + resize:  # exits pay the exit cost on the spot notional
            s = open_.pop(k)
            res = run_to(k, s, d)
            n_close, f_close = close_settlements(res, streams[k], d)
            seg = _Segment(k[0], k[1], s.start, d, s.capital, res, closed=True, close_settlements=n_close,
                           close_funding_usd=f_close)
            cash += seg.proceeds_usd()
            segments.append(seg)
        new = {k: c for k, c in want.items() if k not in open_}
        total_new = sum(new.values())
        scale = min(1.0, cash / total_new) if total_new > 0 else 1.0
        for k, c in new.items():
            if c * scale > 0:
                open_[k] = _Open(d, c * scale)
                cash -= c * scale
        for k, s in open_.items():
            alloc_rows.append({"date": d, "asset": k[0], "venue": k[1],
                               "capital_usd": s.capital if s.start == d else marks.get(k, s.capital)})
    for k, s in open_.items():
        segments.append(_Segment(k[0], k[1], s.start, end, s.capital, run_to(k, s, end), closed=False))
    warns = [w for seg in segments if (w := missing_funding_check(
        seg.result, f"{label}: {seg.asset} on {seg.venue}", allow_missing_funding)) is not None]
    nav = _book_nav(segments, cash, start, capital_usd)
    return PortfolioResult(nav, pd.DataFrame(alloc_rows, columns=["date", "asset", "venue", "capital_usd"]),
                           [seg.public() for seg in segments], label, capital_usd=capital_usd, warnings=warns)


def _book_nav(segments: list[_Segment], final_cash: float, start: pd.Timestamp, capital_usd: float) -> pd.Series:
    """Book NAV at every bar close: final cash, plus each segment's capital before it opens, its NAV while open,
    and minus its proceeds (NAV less exit cost, part of ``final_cash``) until it closes."""
    if not segments:
        return pd.Series([capital_usd], index=pd.DatetimeIndex([start]), name="book_nav")
    idx = pd.DatetimeIndex(sorted({t for s in segments for t in s.result.data.ts}))
    total = np.full(idx.size, final_cash)
    for s in segments:
        nav = pd.Series(s.result.nav, index=s.result.data.ts).reindex(idx)
        before = np.asarray(idx < s.start)
        after = np.asarray(idx >= s.end)
        if s.closed:
            total[~after] -= s.proceeds_usd()
        total[before] += s.capital_usd
        inside = ~before & ~after
        total[inside] += nav[inside].ffill().fillna(s.capital_usd).to_numpy()
    return pd.Series(total, index=idx, name="book_nav")
