"""The coverage study: would a position sized at the model's alpha, left alone, have been liquidated?

Rolling origin, daily at 00:00 UTC. At an origin (the open of bar o; reference price = close of bar o-1):

1. each model is calibrated on the ``lookback_days`` of bars that closed by the origin (bars o-L .. o-1);
2. its barrier at each budget epsilon and horizon h is solved, b_eps = inf{b : P(max ln(p/p0) over h >= b) <= eps};
   the venue's alpha follows as alpha = 1 - exp(-b_eps)/(1 + theta_F), so b_eps (and the breach) is the same
   for every margin rule and only the price of safety (``mean_alpha``) differs;
3. breach = the highs of the next h hours of bars (o .. o+h-1) reach the barrier: ln(max high / close[o-1]) >= b.

An origin is used for a horizon only when its calibration window and its next h hours have no missing bar.

Overlapping windows: daily origins with h > 24 h share bars, so their breaches are dependent and a test that
treats them as independent overstates its evidence. Every statistic (n, breaches, both tests, mean_alpha) is
computed on the non-overlapping subsample of origins spaced ceil(h / 24) days apart (UTC days since 1970-01-01
divisible by the spacing); for h <= 24 h that is every daily origin. The Christoffersen test takes consecutive
retained origins as consecutive observations.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError, ModelDomainError
from basisctl.risk import evt as evt_mod
from basisctl.risk import fhs as fhs_mod
from basisctl.risk.adaptive import DEFAULT_HALF_LIFE_HOURS, ewma_sigma_annual
from basisctl.risk.base import Bars, FloatArray, ModelFitError, alpha_of_barrier, solve_barrier
from basisctl.risk.garch import GARCH_START, GarchFit, fit_garch_cached
from basisctl.risk.gbm import GBMRisk
from basisctl.risk.kou import KouRisk, fit_kou
from basisctl.risk.stats import christoffersen_p, kupiec_p
from basisctl.units import HOURS_PER_YEAR

MODELS: tuple[str, ...] = ("gbm", "kou", "fhs", "evt", "adaptive")
DEFAULT_MODELS: tuple[str, ...] = ("gbm", "kou", "fhs", "evt")
#: Models tested at the floor cell: the default (fhs, which sizes alpha_L) and the paper's (gbm).
FLOOR_MODELS: tuple[str, ...] = ("gbm", "fhs")
#: The band's floor budget (model.bands.DEFAULT_EPS_LIQ over DEFAULT_H_LIQ_HOURS): eps_liq = 1e-4 over 3 h.
BAND_FLOOR_CELL: tuple[float, float] = (1e-4, 3.0)
DAY_NS: int = 86_400 * 10**9
ROW_KEYS: tuple[str, ...] = ("model", "asset", "epsilon", "horizon_hours", "n", "breaches", "expected_breaches",
                             "kupiec_p", "christoffersen_p", "mean_alpha")


@dataclass(frozen=True)
class StudyConfig:
    """Grid and calibration settings of one study (horizons in hours, lookback in days)."""

    models: tuple[str, ...] = DEFAULT_MODELS
    epsilons: tuple[float, ...] = (0.01, 0.001)
    horizons_hours: tuple[float, ...] = (1.0, 24.0, 168.0)
    lookback_days: float = 180.0
    fhs_paths: int = fhs_mod.DEFAULT_PATHS
    fhs_refit_days: int = 7
    seed: int = 0
    adaptive_half_life_hours: float = DEFAULT_HALF_LIFE_HOURS
    gbm_stress: float = 1.0  # the paper sizes alpha_target with sigma x 1.5; the honest test default is x 1
    #: The band's floor cell (eps_liq over h_liq: the budget the FHS floor alpha_L is sized at), outside the grid.
    #: None = off. Tested for the models in ``FLOOR_MODELS`` on 1h origins (h_liq = 3 h is not a whole number of
    #: 4h bars), with its own FHS path set of ``fhs_floor_paths`` paths over h_liq.
    floor_epsilon: float | None = None
    floor_horizon_hours: float = 3.0
    fhs_floor_paths: int = 40_000

    def check(self) -> None:
        if not self.models:
            raise ModelDomainError(f"no models to test: give some of {', '.join(MODELS)}")
        if not self.epsilons:
            raise ModelDomainError("no epsilons to test")
        if not self.horizons_hours:
            raise ModelDomainError("no horizons to test")
        bad = [m for m in self.models if m not in MODELS]
        if bad:
            raise ModelDomainError(f"unknown model(s) {', '.join(bad)}: expected some of {', '.join(MODELS)}")
        if any(not 0 < e < 1 for e in self.epsilons):
            raise ModelDomainError("epsilons must lie in (0, 1)")
        if any(not (math.isfinite(h) and h > 0) for h in self.horizons_hours):
            raise ModelDomainError("horizons must be finite and > 0 hours")
        if not (math.isfinite(self.lookback_days) and self.lookback_days > 0):
            raise ModelDomainError("lookback must be finite and > 0 days")
        if not (math.isfinite(self.gbm_stress) and self.gbm_stress > 0):
            raise ModelDomainError(f"--gbm-stress must be finite and > 0 (got {self.gbm_stress:g})")
        if self.floor_epsilon is not None and not 0 < self.floor_epsilon < 1:
            raise ModelDomainError("the floor cell's epsilon must lie in (0, 1)")
        if (self.floor_epsilon is not None and "fhs" in self.models
                and self.fhs_floor_paths * self.floor_epsilon < 1.0):
            raise ModelDomainError(f"fhs: {self.fhs_floor_paths} floor paths cannot resolve epsilon="
                                   f"{self.floor_epsilon:g} (raise --fhs-floor-paths)")
        if "fhs" in self.models and self.fhs_paths * min(self.epsilons) < 1.0:
            raise ModelDomainError(f"fhs: {self.fhs_paths} paths cannot resolve epsilon={min(self.epsilons):g} "
                                   f"(need at least {int(np.ceil(1 / min(self.epsilons)))}; raise --fhs-paths)")


@dataclass(frozen=True)
class Barriers:
    """Per model: barrier[o, e, h] (log) at the origins, NaN where the model could not be calibrated."""

    origins: NDArrayInt
    origin_ts_ns: NDArrayInt
    realised: FloatArray  # (O, H) realised max log excursion, NaN where the forward window has a gap
    barrier: dict[str, FloatArray]
    params: dict[str, list[dict[str, Any]]]
    config: StudyConfig
    bar_hours: float
    skipped: dict[str, int]
    origin_bar_hours: FloatArray | None = None  # per origin, when 1h and 4h origins are spliced
    #: the floor cell (config.floor_epsilon over floor_horizon_hours): per model barrier (O,), NaN where untested
    floor: dict[str, FloatArray] | None = None
    floor_realised: FloatArray | None = None  # (O,) realised max log excursion over the floor horizon


NDArrayInt = np.ndarray


def daily_origins(bars: Bars, lookback_bars: int, start_ns: int | None, end_ns: int | None) -> NDArrayInt:
    """Indices o of bars opening at 00:00 UTC whose preceding ``lookback_bars`` bars are all present."""
    ts = bars.ts_ns
    step = round(bars.bar_hours * 3600e9)
    o = np.flatnonzero(ts % DAY_NS == 0)
    o = o[o >= lookback_bars]
    o = o[(ts[o - 1] - ts[o - lookback_bars]) == (lookback_bars - 1) * step]
    o = o[ts[o] - ts[o - 1] == step]
    if start_ns is not None:
        o = o[ts[o] >= start_ns]
    if end_ns is not None:
        o = o[ts[o] < end_ns]
    return o


def _barriers_closed_form(model: Any, eps: Sequence[float], horizons: Sequence[float]) -> FloatArray:
    out = np.empty((model.n, len(eps), len(horizons)))
    for j, e in enumerate(eps):
        for k, h in enumerate(horizons):
            out[:, j, k] = solve_barrier(model, e, h)
    return out


def compute_barriers(bars: Bars, cfg: StudyConfig, start_ns: int | None = None, end_ns: int | None = None,
                     progress: Callable[[str], None] | None = None) -> Barriers:
    """Every model's barrier at every daily origin, calibrated on the past only."""
    cfg.check()
    bh = bars.bar_hours
    horizons = list(cfg.horizons_hours)
    for h in horizons:
        fhs_mod.steps_of(h, bh)  # a clear error for a horizon that is not a whole number of bars
    L = round(cfg.lookback_days * 24.0 / bh)
    o = daily_origins(bars, L, start_ns, end_ns)
    if o.size == 0:
        raise DataCoverageError(
            f"no daily origin has {cfg.lookback_days:g} days of gap-free {bh:g}h bars before it "
            f"({bars.span_text()})")
    logc = np.log(bars.close)
    r_all = np.diff(logc)  # r_all[i-1] = return into bar i
    realised = np.column_stack([evt_mod.excursions(bars, h)[o] for h in horizons])
    eps = list(cfg.epsilons)
    fe, fh = cfg.floor_epsilon or 0.0, cfg.floor_horizon_hours
    kf = fh / bh
    floor_on = cfg.floor_epsilon is not None and kf >= 1 and abs(kf - round(kf)) < 1e-9
    floor: dict[str, FloatArray] = {}
    floor_realised = evt_mod.excursions(bars, fh)[o] if floor_on else None
    barrier: dict[str, FloatArray] = {}
    params: dict[str, list[dict[str, Any]]] = {}
    skipped: dict[str, int] = {}
    # windows of returns: bars o-L .. o-1 give L-1 returns r_all[o-L .. o-2]
    idx = (o - L)[:, None] + np.arange(L - 1)[None, :]
    for name in cfg.models:
        if progress:
            progress(name)
        skipped[name] = 0
        if name == "gbm":
            w = r_all[idx]
            sig = w.std(axis=1, ddof=1) * math.sqrt(HOURS_PER_YEAR / bh) * cfg.gbm_stress
            _require_spread("gbm", sig, bars, o, L)
            m: Any = GBMRisk.of(sig)
            barrier[name] = _barriers_closed_form(m, eps, horizons)
            params[name] = [{"sigma_annual": float(s)} for s in sig]
            if floor_on:
                floor[name] = _barriers_closed_form(m, [fe], [fh])[:, 0, 0]
        elif name == "adaptive":
            sig_path = ewma_sigma_annual(r_all, bh, cfg.adaptive_half_life_hours)
            sig = sig_path[o - 2]  # after the return into bar o-1 (closed by the origin)
            _require_spread("adaptive", sig, bars, o, L)
            m = GBMRisk(sig, np.zeros_like(sig), name="adaptive")
            barrier[name] = _barriers_closed_form(m, eps, horizons)
            params[name] = [{"sigma_ewma_annual": float(s)} for s in sig]
        elif name == "kou":
            fits = [fit_kou(r_all[row], bh, bars.span_text(int(a) - L, int(a))) for row, a in zip(idx, o, strict=True)]
            cols = [np.concatenate([getattr(f, k) for f in fits]) for k in
                    ("sigma_annual", "jump_rate_annual", "p_up", "mean_up", "mean_down", "mu_log_annual")]
            need = _needed(bars.ts_ns[o], horizons)
            out = np.full((o.size, len(eps), len(horizons)), np.nan)
            for k, h in enumerate(horizons):  # only the tested rows: the inversion is the costly part
                rows = np.flatnonzero(need[:, k])
                if rows.size:
                    sub = KouRisk(cols[0][rows], cols[1][rows], cols[2][rows], cols[3][rows], cols[4][rows],
                                  cols[5][rows])
                    out[rows, :, k] = _barriers_closed_form(sub, eps, [h])[:, :, 0]
            barrier[name] = out
            params[name] = [f.params() for f in fits]
        elif name == "fhs":
            barrier[name], params[name], fl = _fhs_barriers(bars, o, L, cfg, eps, horizons,
                                                            (fe, fh) if floor_on else None)
            if fl is not None:
                floor[name] = fl
        elif name == "evt":
            barrier[name], params[name], skipped[name] = _evt_barriers(bars, o, L, eps, horizons)
    return Barriers(o, bars.ts_ns[o], realised, barrier, params, cfg, bh, skipped, np.full(o.size, bh),
                    floor if floor_on else None, floor_realised)


def _require_spread(model: str, sigma: FloatArray, bars: Bars, o: NDArrayInt, L: int) -> None:
    """Like kou and fhs, refuse a window whose returns have zero spread (sigma = 0 has no first-passage law)."""
    bad = np.flatnonzero(~(sigma > 0))
    if bad.size:
        a = int(o[bad[0]])
        raise ModelFitError(f"{model}: returns in {bars.span_text(a - L, a)} have zero spread; cannot calibrate "
                            f"({bad.size} of {o.size} origins)")


def empty_barriers(cfg: StudyConfig, bar_hours: float) -> Barriers:
    """A study with no origins (the base to splice coarse origins into)."""
    e, h = len(cfg.epsilons), len(cfg.horizons_hours)
    return Barriers(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty((0, h)),
                    {m: np.empty((0, e, h)) for m in cfg.models}, {m: [] for m in cfg.models}, cfg, bar_hours,
                    {m: 0 for m in cfg.models}, np.empty(0))


def _fill_untestable(fine: Barriers, coarse: Barriers) -> Barriers:
    """On days both have, take coarse's (origin, horizon) cells where fine's forward window had a gap."""
    hf, hc = list(fine.config.horizons_hours), list(coarse.config.horizons_hours)
    common, fi, ci = np.intersect1d(fine.origin_ts_ns, coarse.origin_ts_ns, return_indices=True)
    if common.size == 0:
        return fine
    real = fine.realised.copy()
    barrier = {m: b.copy() for m, b in fine.barrier.items()}
    for k, h in enumerate(hf):
        if h not in hc:
            continue
        kc = hc.index(h)
        take = np.isnan(real[fi, k]) & np.isfinite(coarse.realised[ci, kc])
        real[fi[take], k] = coarse.realised[ci[take], kc]
        for m in barrier:
            barrier[m][fi[take], :, k] = coarse.barrier[m][ci[take], :, kc]
    return replace(fine, realised=real, barrier=barrier)


def splice_barriers(fine: Barriers, coarse: Barriers) -> Barriers:
    """Add ``coarse``'s origins (e.g. from 4h bars) on days where ``fine`` (1h) has none, in time order.

    Horizons the coarse study could not test (shorter than its bar) are NaN at its origins, so they drop out of
    those rows' n. On days both have, a fine cell whose forward window crosses a gap takes the coarse cell.
    ``origins`` is -1 for the coarse origins (their bar index is in another series).
    """
    hf = list(fine.config.horizons_hours)
    hc = list(coarse.config.horizons_hours)
    fine = _fill_untestable(fine, coarse)
    add = ~np.isin(coarse.origin_ts_ns, fine.origin_ts_ns)
    if not add.any():
        return fine
    ts = np.concatenate([fine.origin_ts_ns, coarse.origin_ts_ns[add]])
    order = np.argsort(ts, kind="stable")

    def widen(x: FloatArray) -> FloatArray:  # coarse (O, ..., Hc) -> (O, ..., Hf), NaN where h is missing
        out = np.full((*x.shape[:-1], len(hf)), np.nan)
        for k, h in enumerate(hf):
            if h in hc:
                out[..., k] = x[..., hc.index(h)]
        return out

    real = np.concatenate([fine.realised, widen(coarse.realised[add])])[order]
    barrier = {m: np.concatenate([fine.barrier[m], widen(coarse.barrier[m][add])])[order] for m in fine.barrier}
    params = {}
    for m in fine.params:
        merged = [*fine.params[m], *(p for p, a in zip(coarse.params[m], add, strict=True) if a)]
        params[m] = [merged[i] for i in order]
    obh = np.concatenate([fine.origin_bar_hours if fine.origin_bar_hours is not None
                          else np.full(fine.origins.size, fine.bar_hours),
                          np.full(int(add.sum()), coarse.bar_hours)])[order]
    origins = np.concatenate([fine.origins, np.full(int(add.sum()), -1)])[order]
    skipped = {m: fine.skipped.get(m, 0) + coarse.skipped.get(m, 0) for m in fine.skipped}
    floor, floor_real = None, None
    if fine.floor is not None and fine.floor_realised is not None:  # coarse origins cannot test the floor cell
        pad = np.full(int(add.sum()), np.nan)
        floor = {m: np.concatenate([b, pad])[order] for m, b in fine.floor.items()}
        floor_real = np.concatenate([fine.floor_realised, pad])[order]
    return Barriers(origins, ts[order], real, barrier, params, fine.config, fine.bar_hours, skipped, obh, floor,
                    floor_real)


def _needed(origin_ts_ns: NDArrayInt, horizons: list[float]) -> np.ndarray:
    """(O, H) mask of the (origin, horizon) cells the tests use (see ``subsample_mask``); others stay NaN for
    the expensive models (FHS, EVT), which is what keeps the weekly horizon cheap."""
    return np.column_stack([subsample_mask(origin_ts_ns, h) for h in horizons])


def _evt_barriers(bars: Bars, o: NDArrayInt, L: int, eps: list[float], horizons: list[float]
                  ) -> tuple[FloatArray, list[dict[str, Any]], int]:
    """POT fit per needed (origin, horizon) on the excursions inside the origin's window; quantiles in one
    vectorised ``genpareto.isf`` call."""
    from scipy.stats import genpareto

    need = _needed(bars.ts_ns[o], horizons)
    out = np.full((o.size, len(eps), len(horizons)), np.nan)
    plist: list[dict[str, Any]] = [{} for _ in o]
    skipped = 0
    e = np.asarray(eps)[None, :]
    for k, h in enumerate(horizons):
        kk = fhs_mod.steps_of(h, bars.bar_hours)
        ex = evt_mod.excursions(bars, h)
        rows, fits = [], []
        for i in np.flatnonzero(need[:, k]):
            a = int(o[i])
            try:
                f = evt_mod.fit_evt_sample(ex[a - L + 1 : a - kk + 1], h, bars.span_text(a - L, a))
            except ModelFitError:
                skipped += 1
                continue
            rows.append(i)
            fits.append(f)
            plist[i][f"h{h:g}"] = {"threshold_log": f.threshold, "gpd_xi": f.xi, "gpd_scale": f.scale}
        if not fits:
            continue
        u = np.array([f.threshold for f in fits])[:, None]
        zeta = np.array([f.zeta for f in fits])[:, None]
        xi = np.array([f.xi for f in fits])[:, None]
        sc = np.array([f.scale for f in fits])[:, None]
        tail = u + genpareto.isf(np.minimum(e / zeta, 1.0), xi, scale=sc)
        body = np.stack([evt_mod.sorted_quantile(f.sorted_sample, 1.0 - np.asarray(eps)) for f in fits])
        out[np.array(rows), :, k] = np.where(e < zeta, tail, body)
    return out, plist, skipped


#: days since 1970-01-01 (a Thursday) that are Mondays: day % 7 == 4
MONDAY_MOD7: int = 4


def _fhs_barriers(bars: Bars, o: NDArrayInt, L: int, cfg: StudyConfig, eps: list[float], horizons: list[float],
                  floor_cell: tuple[float, float] | None = None
                  ) -> tuple[FloatArray, list[dict[str, Any]], FloatArray | None]:
    """FHS per origin: GARCH parameters from a calendar-anchored refit, variance filtered and residuals taken on
    the origin's own window, one path set for the horizons the tests need at that origin.

    Refit schedule (anchored to the calendar, not to the study's first origin, so a study cut with --from or
    spliced from 1h and 4h origins gives the same alpha at shared origins): the GARCH of an origin on UTC day d
    is fitted on the ``lookback`` window that ends at the anchor A = the latest day <= d with
    (A - 4) % fhs_refit_days == 0 (Mondays 00:00 UTC for the default 7 days), always from the same fixed start
    (no warm start), so the fit depends only on that window's data. Where the anchor's window is not available
    (before the data start or across a gap) the origin's own window is fitted instead. A refit that does not
    converge keeps the previous anchor's parameters (a warning), or raises when there are none.
    """
    need = _needed(bars.ts_ns[o], horizons)
    out = np.full((o.size, len(eps), len(horizons)), np.nan)
    floor = np.full(o.size, np.nan) if floor_cell is not None else None
    floor_buf = fhs_mod.MaximaBuffers(cfg.fhs_floor_paths if floor_cell is not None else 0)
    plist: list[dict[str, Any]] = []
    k_days = max(int(cfg.fhs_refit_days), 1)
    step = round(bars.bar_hours * 3600e9)
    ts = bars.ts_ns
    cache: dict[int, GarchFit | ModelFitError | None] = {}
    kept: set[int] = set()

    # fitted GARCH parameters persist in the result cache, one table per price series, each fit keyed by the
    # bytes of its window's returns (basisctl.risk.garch.window_key): a rerun, or a run after bars were appended,
    # refits only the windows it has not seen
    from basisctl import cache as result_cache

    table_params = {"model": "garch11", "start": GARCH_START, "lookback_bars": L, "bar_hours": bars.bar_hours,
                    "series": (int(ts[0]) if ts.size else 0, float(bars.close[0]) if ts.size else 0.0)}
    fits = result_cache.load_table("risk/garch fits", table_params)
    n_known = len(fits)

    def fit_window(end: int) -> GarchFit:  # bars end-L .. end-1
        return fit_garch_cached(np.diff(np.log(bars.close[end - L : end])), bars.span_text(end - L, end),
                                start=GARCH_START, table=fits)

    def anchor_fit(day: int) -> GarchFit | ModelFitError | None:
        if day not in cache:
            t = day * DAY_NS
            e = int(np.searchsorted(ts, t))  # first bar opening at or after the anchor
            usable = e >= L and ts[e - 1] == t - step and ts[e - 1] - ts[e - L] == (L - 1) * step
            if not usable:
                cache[day] = None
            else:
                try:
                    cache[day] = fit_window(e)
                except ModelFitError as err:
                    cache[day] = err
        return cache[day]

    for i, a in enumerate(o):
        a = int(a)
        day = int(ts[a] // DAY_NS)
        anchor = day - ((day - MONDAY_MOD7) % k_days)
        g = anchor_fit(anchor)
        if g is None:
            g = fit_window(a)  # no anchor window: the origin's own (raises if it does not converge)
        elif isinstance(g, ModelFitError):
            prev = anchor_fit(anchor - k_days)
            if not isinstance(prev, GarchFit):
                raise g
            g = prev
            kept.add(anchor)
        cal = fhs_mod.calibrate_fhs(bars, a - L, a, g)
        seed = (cfg.seed * 1_000_003 + day) % (2**31 - 1)
        ks = np.flatnonzero(need[i])
        if ks.size:
            mx = fhs_mod.simulate_maxima(cal, [horizons[k] for k in ks], cfg.fhs_paths, seed)
            for j, e in enumerate(eps):
                out[i, j, ks] = fhs_mod.quantile_barrier(mx, e)
        if floor is not None and floor_cell is not None:  # its own path set over h_liq (another seed stream)
            # = quantile_barrier(simulate_maxima(cal, [h_liq], paths, seed'), eps)[0, 0] bit for bit, cheaper:
            # reused work arrays and the top 5 of the 40,000 maxima instead of a partition (issue 17: <= 1.1x)
            mf = fhs_mod.simulate_last_maxima(cal, floor_cell[1], floor_buf, seed + 2**31)
            floor[i] = fhs_mod.upper_quantile(mf, floor_cell[0])
        plist.append({"garch_alpha": g.a, "garch_beta": g.beta, "garch_omega": g.omega,
                      "sigma_next_annual": math.sqrt(cal.s2_next * HOURS_PER_YEAR / bars.bar_hours)})
    if len(fits) > n_known:
        result_cache.store_table("risk/garch fits", table_params, fits)
    if kept:
        sys.stderr.write(f"warning: fhs: the GARCH(1,1) refit did not converge at {len(kept)} weekly refits; "
                         "the previous parameters were kept there\n")
    return out, plist, floor


def subsample_mask(origin_ts_ns: NDArrayInt, horizon_hours: float) -> np.ndarray:
    """Origins kept for the tests: UTC days since 1970-01-01 divisible by ceil(h / 24) (non-overlapping windows).

    Anchored to the calendar, not to the first origin, so every sub-study (1h and 4h origins, --from) keeps the
    same days and spliced studies line up."""
    stride = max(1, math.ceil(horizon_hours / 24.0))
    return ((origin_ts_ns // DAY_NS) % stride) == 0


def coverage_table(bt: Barriers, asset: str, theta_f: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Rows per model x epsilon x h (keys ``ROW_KEYS``) and the per-origin detail frame (for figures)."""
    rows: list[dict[str, Any]] = []
    details: list[pd.DataFrame] = []
    cfg = bt.config
    for name in cfg.models:
        for j, e in enumerate(cfg.epsilons):
            for k, h in enumerate(cfg.horizons_hours):
                b = bt.barrier[name][:, j, k]
                real = bt.realised[:, k]
                keep = subsample_mask(bt.origin_ts_ns, h) & np.isfinite(real) & ~np.isnan(b)
                breach = (real >= b)[keep]
                alpha = alpha_of_barrier(b[keep], theta_f)
                n, x = int(keep.sum()), int(breach.sum())
                rows.append({
                    "model": name, "asset": asset, "epsilon": float(e), "horizon_hours": float(h), "n": n,
                    "breaches": x, "expected_breaches": n * float(e), "kupiec_p": kupiec_p(n, x, float(e)),
                    "christoffersen_p": christoffersen_p(breach) if n >= 2 else float("nan"),
                    "mean_alpha": float(np.mean(alpha)) if n else float("nan"),
                })
                details.append(pd.DataFrame({
                    "ts": pd.to_datetime(bt.origin_ts_ns[keep], utc=True), "model": name, "epsilon": float(e),
                    "horizon_hours": float(h), "barrier_log": b[keep], "realised_log": real[keep],
                    "alpha": alpha, "breach": breach,
                    "bar_hours": (bt.origin_bar_hours[keep] if bt.origin_bar_hours is not None
                                  else bt.bar_hours)}))
    if bt.floor is not None and bt.floor_realised is not None and cfg.floor_epsilon is not None:
        e, h = float(cfg.floor_epsilon), float(cfg.floor_horizon_hours)
        for name, b in bt.floor.items():
            real = bt.floor_realised
            keep = subsample_mask(bt.origin_ts_ns, h) & np.isfinite(real) & ~np.isnan(b)
            breach = (real >= b)[keep]
            alpha = alpha_of_barrier(b[keep], theta_f)
            n, x = int(keep.sum()), int(breach.sum())
            rows.append({"model": name, "asset": asset, "epsilon": e, "horizon_hours": h, "n": n, "breaches": x,
                         "expected_breaches": n * e, "kupiec_p": kupiec_p(n, x, e),
                         "christoffersen_p": christoffersen_p(breach) if n >= 2 else float("nan"),
                         "mean_alpha": float(np.mean(alpha)) if n else float("nan")})
            details.append(pd.DataFrame({
                "ts": pd.to_datetime(bt.origin_ts_ns[keep], utc=True), "model": name, "epsilon": e,
                "horizon_hours": h, "barrier_log": b[keep], "realised_log": real[keep], "alpha": alpha,
                "breach": breach, "bar_hours": bt.bar_hours}))
    det = pd.concat(details, ignore_index=True) if details else pd.DataFrame()
    return rows, det


def pooled_floor_rows(rows: Sequence[dict[str, Any]], details: pd.DataFrame, epsilon: float,
                      horizon_hours: float) -> list[dict[str, Any]]:
    """The floor cell pooled across assets (one asset sees about 0.14 breaches per 1,400 origins at 1e-4): per
    model (and venue where rows carry one), n and breaches summed, Kupiec on the sums, Christoffersen on the
    assets' breach sequences laid end to end (the joins add at most one transition per asset), mean alpha
    weighted by n. ``asset`` names the pooled assets, e.g. "pooled(BTC,ETH)"."""
    cell = [r for r in rows if r["epsilon"] == epsilon and r["horizon_hours"] == horizon_hours
            and not str(r["asset"]).startswith("pooled")]
    out: list[dict[str, Any]] = []
    keys = dict.fromkeys((r["model"], r.get("venue")) for r in cell)
    for model, venue in keys:
        g = [r for r in cell if r["model"] == model and r.get("venue") == venue]
        n = sum(int(r["n"]) for r in g)
        x = sum(int(r["breaches"]) for r in g)
        seq = np.zeros(0, dtype=bool)
        if len(details):
            d = details[(details["model"] == model) & (details["epsilon"] == epsilon)
                        & (details["horizon_hours"] == horizon_hours)]
            if "asset" in d:
                seq = np.concatenate([grp.sort_values("ts")["breach"].to_numpy(bool)
                                      for _, grp in d.groupby("asset", sort=True)] or [seq])
        row = {"model": model, "asset": f"pooled({','.join(sorted(str(r['asset']) for r in g))})",
               "epsilon": epsilon, "horizon_hours": horizon_hours, "n": n, "breaches": x,
               "expected_breaches": n * epsilon, "kupiec_p": kupiec_p(n, x, epsilon),
               "christoffersen_p": christoffersen_p(seq) if seq.size >= 2 else float("nan"),
               "mean_alpha": (sum(float(r["mean_alpha"]) * int(r["n"]) for r in g if r["n"]) / n) if n
               else float("nan")}
        if venue is not None:
            row = {**row, **{k: v for k, v in g[0].items() if k not in row}, "theta_f": float("nan")}
        out.append(row)
    return out


def check_testable(bt: Barriers) -> None:
    """Fail closed when the study has nothing to test: a horizon that no origin's forward window covers."""
    hs = list(bt.config.horizons_hours)
    dead = [h for k, h in enumerate(hs) if not np.isfinite(bt.realised[:, k]).any()]
    if dead:
        a = np.datetime64(int(bt.origin_ts_ns[0]), "ns").astype("datetime64[D]")
        b = np.datetime64(int(bt.origin_ts_ns[-1]), "ns").astype("datetime64[D]")
        raise DataCoverageError(
            f"nothing to test at horizon(s) {', '.join(f'{h:g}h' for h in dead)}: no origin among "
            f"{bt.origin_ts_ns.size} ({a} -> {b}) has that many hours of gap-free bars after it "
            "(shorten the horizon or give more data)")


def warn_skipped(bt: Barriers) -> None:
    for name, k in bt.skipped.items():
        if k:
            sys.stderr.write(f"warning: {name}: {k} origin x horizon cells could not be calibrated "
                             "(too few exceedances); they are left out of n\n")
