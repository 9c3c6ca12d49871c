"""The funding-environment experiment (paper Sec. IX.B, Tables IX-XI): same prices, same frozen rule,
only the funding stream swapped (Binance vs Hyperliquid).

The rule of each (asset, period) is calibrated once, on the 2 years before the test window (vol: 180 days of
Binance perp bars ending at the test start; kappa_14d: Binance funding in the 2 years), with the Hyperliquid
margin rule theta_F = 1/(2 L_max), then both funding streams are replayed over identical Binance perp bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from basisctl.backtest.costs import CostModel, paper_cost_bps
from basisctl.backtest.data import load_funding_stream, prepare, utc
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.results import BacktestResult
from basisctl.backtest.rule import FrozenRule, RuleSpec, calibrate_rule

VENUE_LABEL = {"binance": "Binance funding", "hyperliquid": "Hyperliquid funding"}
CALIB_YEARS = 2


@dataclass(frozen=True)
class Period:
    """One test window [start, end) for one asset."""

    asset: str
    start: str
    end: str
    label: str
    #: calibration start (UTC date); None = CALIB_YEARS before ``start``
    calib_start: str | None = None

    @property
    def calib_to(self) -> pd.Timestamp:
        return utc(self.start)

    @property
    def calib_from(self) -> pd.Timestamp:
        if self.calib_start is not None:
            return utc(self.calib_start)
        return self.calib_to - pd.DateOffset(years=CALIB_YEARS)


#: Every asset/period where the data has both Binance and Hyperliquid funding and perp bars.
DEFAULT_PERIODS: tuple[Period, ...] = (
    Period("BTC", "2025-03-10", "2026-03-10", "2025-26"),
    Period("ETH", "2025-03-10", "2026-03-10", "2025-26"),
    Period("DOGE", "2025-03-10", "2026-03-10", "2025-26"),
    Period("LINK", "2025-08-22", "2026-03-10", "2025-26"),
    Period("BTC", "2023-05-13", "2023-12-31", "2023"),
    Period("ETH", "2023-05-13", "2023-12-31", "2023"),
)
#: The paper's own validation year (Sec. IX: "calibrate 2023-2024, validate 2024-2025, about one year"), read as
#: the calendar year 2024 with the rule frozen on 2023 (docs/backtest.md, "The paper's window").
PAPER_PERIODS: tuple[Period, ...] = tuple(
    Period(a, "2024-01-01", "2025-01-01", "2024 (paper)", calib_start="2023-01-01")
    for a in ("BTC", "ETH", "DOGE", "LINK")
)
VENUES: tuple[str, ...] = ("binance", "hyperliquid")


@dataclass
class ExperimentResult:
    """Backtests keyed by (period label, asset, funding venue), with the frozen rule of each (label, asset)."""

    results: dict[tuple[str, str, str], BacktestResult] = field(default_factory=dict)
    rules: dict[tuple[str, str], FrozenRule] = field(default_factory=dict)

    def metrics_frame(self) -> pd.DataFrame:
        rows = []
        for (lab, asset, venue), r in self.results.items():
            m = r.metrics()
            rows.append({"period": lab, "ticker": asset, "funding": venue, **m})
        return pd.DataFrame(rows)

    def table_x(self) -> pd.DataFrame:
        """Table X shape: acc return, APY (simple, the paper's) and CAGR, funding APY, max DD [fractions], avg
        leverage [x]; ``short_window`` flags windows under a year (both annualisations extrapolate)."""
        m = self.metrics_frame()
        m["funding_environment"] = m["funding"].map(VENUE_LABEL)
        return m[["period", "ticker", "funding_environment", "start", "end", "acc_return", "apy", "cagr",
                  "short_window", "funding_apy", "max_drawdown", "avg_leverage", "sharpe",
                  "missing_funding_settlements", "basis_proxy"]]

    def table_xi(self) -> pd.DataFrame:
        """Table XI shape: rebalances, turnover and average rebalance [fractions of initial capital]."""
        m = self.metrics_frame()
        m["funding_environment"] = m["funding"].map(VENUE_LABEL)
        return m[["period", "ticker", "funding_environment", "rebalances", "emergencies", "turnover_pct",
                  "avg_rebalance_pct", "liquidations"]]

    def table_ix(self) -> pd.DataFrame:
        """Table IX shape: change from Binance to Hyperliquid funding under the same rule."""
        m = self.metrics_frame().set_index(["period", "ticker", "funding"])
        rows = []
        for (lab, asset) in dict.fromkeys((p, t) for p, t, _ in m.index):
            try:
                # pandas-stubs has no overload for a full 3-level MultiIndex key (returns the row Series)
                b = m.loc[(lab, asset, "binance")]  # type: ignore[index]
                h = m.loc[(lab, asset, "hyperliquid")]  # type: ignore[index]
            except KeyError:
                continue
            rows.append({"period": lab, "ticker": asset, "d_apy": h["apy"] - b["apy"],
                         "d_funding_apy": h["funding_apy"] - b["funding_apy"],
                         "d_avg_leverage": h["avg_leverage"] - b["avg_leverage"],
                         "d_apy_minus_d_funding_apy": (h["apy"] - b["apy"]) - (h["funding_apy"] - b["funding_apy"])})
        return pd.DataFrame(rows)

    def rules_frame(self) -> pd.DataFrame:
        """Table VII shape: the frozen rule of every (period, asset)."""
        rows = []
        for (lab, _), r in self.rules.items():
            d = r.to_dict()
            rows.append({"period": lab, "ticker": r.asset, "alpha_target": r.alpha_target,
                         "leverage": r.leverage_target, "alpha_lower": r.alpha_lower, "alpha_upper": r.alpha_upper,
                         "kappa_1d_bps": r.kappa_14d * 1e4 / 14.0, "theta_f": r.theta_f, "l_max": r.l_max,
                         "sigma_annual": r.sigma_annual, "sigma_bar_hours": r.sigma_bar_hours,
                         "calib": f"{d['calib_from'][:10]}..{d['calib_to'][:10]}", "kappa_source": r.kappa_source})
        return pd.DataFrame(rows)


def run_experiment(
    periods: Iterable[Period] = DEFAULT_PERIODS,
    venues: Iterable[str] = VENUES,
    config: BacktestConfig | None = None,
    spec: RuleSpec | None = None,
    on_step: Callable[[str], None] | None = None,
    allow_missing_funding: bool = False,
    spot: str = "auto",
) -> ExperimentResult:
    """Run every (period, venue) backtest; ``on_step`` is called with a label after each one. ``spot``: the spot
    leg (:func:`basisctl.backtest.data.prepare`; "auto", the default since issue 17 = the Binance spot 1h bars
    wherever the data dir covers the window, else the flagged proxy; "perp" = the proxy everywhere)."""
    out = ExperimentResult()
    cfg = config or BacktestConfig()
    for p in periods:
        cost = paper_cost_bps(p.asset)
        rule = calibrate_rule(p.asset, p.calib_from, p.calib_to, cost, spec)
        out.rules[(p.label, p.asset)] = rule
        base = None
        for v in venues:
            f, src = load_funding_stream(p.asset, v)
            if base is None:  # the first stream also aligns the bars; label it like the others ("venue/ASSET")
                base = prepare(p.asset, p.start, p.end, funding=f, allow_missing_funding=allow_missing_funding,
                               spot=spot)
                data = replace(base, funding_source=src)
            else:
                data = base.with_funding(f, src, allow_missing_funding)
            out.results[(p.label, p.asset, v)] = run_backtest(data, rule, CostModel.paper(p.asset), cfg)
            if on_step:
                on_step(f"{p.asset} {p.label} {v}")
    return out
