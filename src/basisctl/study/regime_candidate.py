"""The ``regime`` candidate of the path study (issue 23): run per path (event-driven runner), not in the batch.

The regime rule composes single-position backtests over its "in" segments (:func:`basisctl.regime.run_regime`,
run through its equal fast path :func:`basisctl.regime.fast.run_regime_fast`), which the batched kernel cannot
do, so every path is replayed on its own; the pairing is kept: the same real
windows and the same simulated paths (same seeds, :func:`basisctl.study.simulate.draw_test_path`) as every other
candidate, the same ``path``/``cluster`` keys, the same metric columns (``METRICS``) plus ``entries``, ``exits``,
``time_in_trade``, ``ret_alt_yield`` and ``ret_transfer_fees`` [fractions of the initial capital D].

Everything is declared in the study file's ``[regime]`` section (pre-registered, never fitted on the holdout):
the forecast model and horizon, hurdle, hysteresis, minimum hold, H (``exit_within_hours``), decision cadence,
transfer fee/delay (:class:`basisctl.regime.RegimeParams`), the band rule run inside the trade (``inner_rule``,
a candidate), and the alternative yield: ``alt_yield_apr`` [APR, a constant] and optionally ``alt_yield_series``
(``provider/name`` in the data dir) for the real windows, the constant applying outside the series. Simulated
paths live on a synthetic clock, so capital outside the trade earns the constant there.

Forecasts are walk-forward (each sees only funding settled before it): on real paths from the study venue's whole
funding stream of the asset, on simulated paths from the path's own funding, burn-in included (the burn-in is
where the first forecasts come from). Liquidations are counted and their NAV gains removed as in
:mod:`basisctl.study.batch` (never credited as a gain).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData, FundingAlignment
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import FrozenRule
from basisctl.regime.alt_yield import AltYield
from basisctl.regime.fast import fast_forecast_arrays, fast_forecast_series, run_regime_fast
from basisctl.regime.params import RegimeParams
from basisctl.regime.rule import RegimeResult, forecast_series
from basisctl.study.batch import METRICS

NAME: str = "regime"
EXTRA_COLUMNS: tuple[str, ...] = ("entries", "exits", "time_in_trade", "ret_alt_yield", "ret_transfer_fees")
#: keys of the ``[regime]`` section that are not :class:`RegimeParams` fields
OWN_KEYS: tuple[str, ...] = ("inner_rule", "alt_yield_apr", "alt_yield_series")


@dataclass(frozen=True)
class RegimeStudy:
    """The ``[regime]`` section: rule parameters, the band rule inside the trade, the alternative yield."""

    params: RegimeParams
    inner_rule: str
    alt_yield_apr: float  # constant [APR]: simulated paths, and real times outside the series
    alt_yield_series: str | None = None  # provider/name in the data dir (real windows), or None

    def as_dict(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "inner_rule": self.inner_rule, "alt_yield_apr": self.alt_yield_apr,
                "alt_yield_series": self.alt_yield_series}


def parse_regime(d: dict[str, Any], source: str, candidates: Sequence[str]) -> RegimeStudy | None:
    """The ``[regime]`` section of the parsed study file (required iff ``regime`` is a candidate)."""
    from pydantic import ValidationError

    from basisctl.study.studyfile import StudyFileError

    sec = d.get("regime")
    if NAME not in candidates:
        if sec is not None:
            raise StudyFileError(f"{source}: [regime] is given but 'regime' is not among [study] candidates")
        return None
    if not isinstance(sec, dict):
        raise StudyFileError(f"{source}: 'regime' is a candidate: the file needs a [regime] section")
    inner = sec.get("inner_rule")
    if not isinstance(inner, str) or inner == NAME or inner not in candidates:
        raise StudyFileError(f"{source}: [regime] inner_rule must name another candidate (got {inner!r})")
    apr = sec.get("alt_yield_apr")
    if isinstance(apr, bool) or not isinstance(apr, int | float) or not -1.0 < float(apr) < 1.0:
        raise StudyFileError(f"{source}: [regime] alt_yield_apr must be an APR in (-1, 1) (got {apr!r})")
    series = sec.get("alt_yield_series")
    if series is not None and (not isinstance(series, str) or "/" not in series):
        raise StudyFileError(f"{source}: [regime] alt_yield_series must be provider/name, e.g. "
                             f"aave_v3/USDC_supply (got {series!r})")
    try:
        params = RegimeParams(**{k: v for k, v in sec.items() if k not in OWN_KEYS})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(map(str, err["loc"])) or "parameters"
        raise StudyFileError(f"{source}: [regime] {field}: {err['msg']}") from e
    return RegimeStudy(params, inner, float(apr), series)


# ------------------------------------------------------------------------------------------------ metrics
def segment_config(cfg: BacktestConfig) -> BacktestConfig:
    """The backtest settings of the regime segments: the study kernel's liquidation accounting, so that a regime
    rule that never leaves equals its inner rule on every path. The batch still runs the pre-issue-17 kernel
    (whole margin forfeited at the bar high, re-entry at that close) until it takes the backtest's accounting
    (``liq_fee`` among its metrics); then ``cfg`` as it is."""
    from dataclasses import replace

    return cfg if "liq_fee" in METRICS else replace(cfg, liq_at_high=True)


def regime_row(res: RegimeResult, data: BacktestData | None = None, alpha_target: float = float("nan")
               ) -> dict[str, float]:
    """The study's metric columns (``METRICS`` + ``EXTRA_COLUMNS``) of one regime run [fractions of D], computed as
    :mod:`basisctl.study.batch` computes them (``data``/``alpha_target``: the static carry of the inner rule's
    entry short, where the batch reports it). Liquidations are counted by the kernel's liquidation kind."""
    from basisctl.backtest.kernel import (
        C_FORFEIT,
        C_LIQ_FEE,
        C_LIQ_KIND,
        C_REHEDGE_COST,
        C_UNHEDGED,
        LIQ_KIND_BACKSTOP,
    )

    cap = res.capital_usd
    nav = res.nav
    n = nav.size
    act = np.zeros(n, dtype=np.int64)
    traded = np.zeros(n)
    kind = np.zeros(n)
    comp_sum = np.zeros(C_LIQ_KIND + 1)
    naked_gain = np.zeros(n)  # per bar: the naked spot's gain, removed from the judged return (never a gain)
    liq_loss_usd = 0.0
    for s in res.segments:
        assert s.actions is not None and s.traded is not None and s.components is not None
        sl = slice(s.first_bar, s.last_bar + 1)
        act[sl], traded[sl], kind[sl] = s.actions, s.traded, s.components[:, C_LIQ_KIND]
        naked_gain[sl] = np.maximum(s.components[:, C_UNHEDGED], 0.0)
        comp_sum += s.components[:, :C_LIQ_KIND + 1].sum(axis=0)
        liq_loss_usd += s.liquidation_loss_usd
    reb = np.isin(act, (1, 2, 3))
    ret_raw = float(nav[-1] / cap - 1.0)
    m = res.metrics()
    row: dict[str, float] = {
        "liquidations": float((kind > 0).sum()), "turnover": float(traded[reb].sum() / cap),
        "rebalances": float(reb.sum()), "ret_funding": m["ret_funding"], "ret_costs": m["ret_trade_costs"],
        "entries": float(res.entries), "exits": float(res.exits), "time_in_trade": float(res.in_trade.mean()),
        "ret_alt_yield": m["ret_alt_yield"], "ret_transfer_fees": m["ret_transfer_fees"],
    }
    if "liq_gain_removed" in METRICS:  # the pre-issue-17 batch: NAV gains on liquidation bars are removed
        prev = np.concatenate([[cap], nav[:-1]])
        removed = np.cumsum(np.where((kind > 0) & (nav > prev), nav - prev, 0.0))
        v = np.concatenate([[cap], nav - removed])
        row |= {"ret": ret_raw - float(removed[-1]) / cap, "ret_raw": ret_raw,
                "liq_gain_removed": float(removed[-1]) / cap, "liq_loss": -liq_loss_usd / cap,
                "max_drawdown": float(np.min(v / np.maximum.accumulate(v) - 1.0))}
    else:  # the backtest's accounting (issue 17): components, never a gain
        removed = np.cumsum(naked_gain)
        v = np.concatenate([[cap], nav - removed])
        ret = ret_raw - float(removed[-1]) / cap
        fee, forf = comp_sum[C_LIQ_FEE] / cap, comp_sum[C_FORFEIT] / cap
        static = float("nan")
        if data is not None:
            fi = np.zeros_like(data.funding.rate) if data.funding.rate_in is None else data.funding.rate_in
            static = (1.0 - alpha_target) * float(np.sum(data.funding.rate * data.p_open + fi * data.p_close)
                                                  / data.s_open[0])
        row |= {"ret": ret, "ret_raw": ret_raw, "naked_gain_removed": float(removed[-1]) / cap,
                "max_drawdown": float(np.min(v / np.maximum.accumulate(v) - 1.0)),
                "liq_loss": fee + forf, "ret_unhedged": comp_sum[C_UNHEDGED] / cap, "liq_fee": fee,
                "margin_forfeited": forf, "rehedge_cost": comp_sum[C_REHEDGE_COST] / cap,
                "ret_static_carry": static, "ret_excess_static": ret - static,
                "backstops": float((kind == LIQ_KIND_BACKSTOP).sum())}
    missing = set(METRICS) - set(row)
    if missing:
        raise KeyError(f"regime_row does not compute the study metric(s) {', '.join(sorted(missing))}")
    return {k: float(v) for k, v in row.items()}


def _record(row: dict[str, float], **keys: Any) -> dict[str, Any]:
    return {"rule": NAME, **keys, **row}


# --------------------------------------------------------------------------------------------- real paths
def _window_alt(rs: RegimeStudy, series: AltYield | None, start: pd.Timestamp, end: pd.Timestamp
                ) -> tuple[AltYield, bool]:
    """The alternative yield of one window: the series where it covers any of it, else the constant (flag)."""
    if series is None:
        return AltYield.constant(rs.alt_yield_apr), False
    lo = pd.Timestamp(int(series.ts_ns[0]), tz="UTC")
    hi = pd.Timestamp(int(series.ts_ns[-1]), tz="UTC") + pd.Timedelta(days=series.max_stale_days)
    if end <= lo or start > hi:
        return AltYield.constant(rs.alt_yield_apr, f"constant {rs.alt_yield_apr:.2%} APR (outside "
                                                   f"{series.label})"), True
    return series, False


def real_regime_rows(paths: Sequence[Any], rs: RegimeStudy, cfg: BacktestConfig, venue: str, kind: str,
                     funding_of: Callable[[str], pd.DataFrame] | None = None) -> pd.DataFrame:
    """The regime rule on every real path (:class:`basisctl.study.paths.RealPath`); ``funding_of(asset)``: the
    venue's whole funding stream of the asset (default: the data dir), forecast walk-forward once per asset."""
    if not paths:
        return pd.DataFrame()
    from basisctl.backtest.data import load_funding_stream
    from basisctl.venues.idle_yield import idle_yield_apr

    get = funding_of or (lambda a: load_funding_stream(a, venue)[0])
    series = None
    if rs.alt_yield_series is not None:
        from basisctl.regime.alt_yield import load_alt_yield

        series = load_alt_yield(rs.alt_yield_series, fallback_apr=rs.alt_yield_apr)
    idle = idle_yield_apr(venue)
    fc: dict[str, pd.Series] = {}
    recs = []
    n_const = 0
    for rp in paths:
        if rp.asset not in fc:
            fc[rp.asset] = fast_forecast_series(get(rp.asset), rs.params, *_features(rp.asset, rs.params))
        rule: FrozenRule = rp.rules[rs.inner_rule]
        alt, const = _window_alt(rs, series, rp.start, rp.end)
        n_const += const
        res = run_regime_fast(rp.data, rule, CostModel.fixed(rule.k_reb_fix * 1e4), segment_config(cfg),
                              fc[rp.asset], alt, rs.params, idle_apr=idle, decisions=False)
        recs.append(_record(regime_row(res, rp.data, rule.alpha_target), asset=rp.asset, kind=kind, generator="history",
                            path=f"{rp.asset} {rp.cluster}", cluster=f"{kind} {rp.cluster}",
                            start=rp.start.isoformat(), days=rp.data.days, bar_hours=rp.data.bar_hours))
    if n_const and series is not None:
        from basisctl.warnings import substitute

        substitute("default_input", f"study regime: {n_const} of {len(paths)} {kind} windows lie outside "
                                    f"{series.label}; capital outside the trade earns the declared constant "
                                    f"{rs.alt_yield_apr:.2%} APR there")
    return pd.DataFrame(recs)


def _features(asset: str, params: RegimeParams) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Perp and spot 1 h candles for the ``gbm`` model's basis/volatility features (None for the others)."""
    if params.model != "gbm":
        return None, None
    from basisctl.data import locator

    perp = locator.load_candles("binance_perp", asset, "1h") if locator.has_candles("binance_perp", asset, "1h") \
        else None
    spot = locator.load_candles("binance_spot", asset, "1h") if locator.has_candles("binance_spot", asset, "1h") \
        else None
    return perp, spot


# ---------------------------------------------------------------------------------------- simulated paths
def sim_data(asset: str, start: pd.Timestamp, po: np.ndarray, ph: np.ndarray, pc: np.ndarray, fr: np.ndarray
             ) -> BacktestData:
    """One simulated test path as :class:`BacktestData` (1 h bars from ``start``, spot = perp, ``fr[j]`` settles
    at bar j's open), exactly the arrays the batch kernel replays."""
    n = po.size
    al = FundingAlignment(rate=np.asarray(fr, float), n_settlements=int(np.count_nonzero(fr)), missing_settlements=0,
                          off_grid=0, hours_covered=float(n), hours_window=float(n), interval_hours=(1.0,),
                          rate_in=None)
    return BacktestData(asset=asset, ts=pd.date_range(start, periods=n, freq="1h"), bar_hours=1.0, p_open=po,
                        p_high=ph, p_close=pc, s_open=po, s_close=pc, funding=al, prices_source="simulated",
                        funding_source="simulated")


def path_forecast(burn_funding: pd.DataFrame, data: BacktestData, params: RegimeParams) -> pd.Series:
    """Walk-forward forecasts on the path's own funding: the burn-in's settlements, then the test path's
    (compiled for ``rolling_mean``/``ewma``, :mod:`basisctl.regime.fast`; the per-origin models otherwise)."""
    if params.model != "gbm":
        bt = pd.DatetimeIndex(burn_funding["ts"]).as_unit("ns").asi8
        ts_ns = np.concatenate([bt, data.ts.as_unit("ns").asi8])
        rate = np.concatenate([burn_funding["rate"].to_numpy(float), data.funding.rate])
        hours = np.concatenate([burn_funding["interval_hours"].to_numpy(float), np.ones(len(data.ts))])
        fast = fast_forecast_arrays(ts_ns, rate, hours, params)
        if fast is not None:
            return fast
    return path_forecast_reference(burn_funding, data, params)


def path_forecast_reference(burn_funding: pd.DataFrame, data: BacktestData, params: RegimeParams) -> pd.Series:
    """:func:`path_forecast` through the per-origin walk-forward (:func:`basisctl.regime.forecast_series`)."""
    test = pd.DataFrame({"ts": data.ts, "rate": data.funding.rate, "interval_hours": 1.0})
    funding = pd.concat([burn_funding[["ts", "rate", "interval_hours"]], test], ignore_index=True)
    perp = None
    if params.model == "gbm":
        perp = pd.DataFrame({"ts": data.ts, "open": data.p_open, "high": data.p_high,
                             "low": np.minimum(data.p_open, data.p_close), "close": data.p_close})
    return forecast_series(funding, params, perp, None)


def run_sim_regime_chunk(s: Any, path_ids: Sequence[int], rule: FrozenRule, burn_funding: pd.DataFrame,
                         rs: RegimeStudy, cfg: BacktestConfig) -> list[dict[str, float]]:
    """Regime metric rows of the test paths ``path_ids`` of :class:`basisctl.study.simulate.SimSetup` ``s``."""
    from basisctl.study.simulate import draw_test_path

    start = pd.Timestamp(burn_funding["ts"].iloc[-1]) + pd.Timedelta(hours=1)
    alt = AltYield.constant(rs.alt_yield_apr)
    costs = CostModel.fixed(s.cost_bps)
    # the setup's margin tiers (cfg.tiers_for of the asset, read once), not a data-dir read per path
    seg_cfg = replace(segment_config(cfg), margin_tiers=tuple(zip(map(float, s.tiers[0]), map(float, s.tiers[1]),
                                                                   strict=True)))
    out = []
    for i in path_ids:
        po, ph, pc, fr = draw_test_path(s, int(i))
        data = sim_data(s.asset, start, po, ph, pc, fr)
        res = run_regime_fast(data, rule, costs, seg_cfg, path_forecast(burn_funding, data, rs.params),
                              alt, rs.params, decisions=False)
        out.append(regime_row(res, data, rule.alpha_target))
    return out


def sim_regime_rows(jobs: Sequence[tuple[Any, FrozenRule, pd.DataFrame]], n_paths: int, rs: RegimeStudy,
                    cfg: BacktestConfig, years: float, executor: str = "serial", chunk: int = 125) -> pd.DataFrame:
    """The regime rule on every simulated path of every (SimSetup, inner rule, burn-in funding) job."""
    chunks = [(j, list(range(a, min(a + chunk, n_paths)))) for j in jobs for a in range(0, n_paths, chunk)]
    if executor == "ray":
        import ray

        fn = ray.remote(run_sim_regime_chunk)
        results = ray.get([fn.remote(s, ids, r, bf, rs, cfg) for (s, r, bf), ids in chunks])
    else:
        results = [run_sim_regime_chunk(s, ids, r, bf, rs, cfg) for (s, r, bf), ids in chunks]
    recs = []
    for ((s, _, _), ids), rows in zip(chunks, results, strict=True):
        for i, row in zip(ids, rows, strict=True):
            recs.append(_record(row, asset=s.asset, kind="simulated", generator=s.generator,
                                path=f"{s.generator} {i}", cluster=f"{s.generator} {i}", start="",
                                days=years * 365.0, bar_hours=1.0))
    return pd.DataFrame(recs)


def batch_names(candidates: Sequence[str]) -> list[str]:
    """The candidates the batch kernel runs (all but ``regime``)."""
    return [c for c in candidates if c != NAME]
