"""The path study end to end: real and simulated paths -> batched runs -> rows -> statistics -> verdict.

Output (:class:`StudyResult`): ``rows`` has one row per (rule, path) with the batch metrics plus ``apy``
(= ret x 365 / days, simple) and ``years``; ``summary()`` is the JSON of ``compare-rules --study``. The headline
statistics (``rules``, ``paired``, ``spa_p``, ``verdict``) are computed on the simulated paths when there are any
(that is where liquidation frequency is measurable), else on the real ones; ``real`` (and ``holdout`` with
``--final``) repeat them on the real walk-forward windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.study import stats
from basisctl.study.batch import METRICS, Liquidation, PathBatch, run_batch
from basisctl.study.calibrate import param_column
from basisctl.study.generators import History
from basisctl.study.paths import RealPath
from basisctl.study.regime_candidate import batch_names, real_regime_rows, sim_regime_rows
from basisctl.study.simulate import SimSetup, burn_in_frames, burn_in_rules, run_sim_chunk, sim_setup
from basisctl.study.studyfile import Study

EXECUTORS: tuple[str, ...] = ("serial", "ray")
CHUNK_PATHS: int = 125
GRID_PREFIX: str = "optimal@"
TOP_KEYS: tuple[str, ...] = ("study_hash", "paths_real", "paths_simulated", "assets", "rules", "paired", "spa_p",
                             "decision_rule", "verdict")
RULE_KEYS: tuple[str, ...] = ("apy_mean", "apy_median", "liq_rate", "liq_rate_ci", "dd_q95", "turnover")
PAIR_KEYS: tuple[str, ...] = ("d_apy_mean", "d_apy_ci", "wilcoxon_p", "d_liq_rate", "d_liq_rate_ci")


@dataclass
class StudyResult:
    study: Study
    rows: pd.DataFrame
    assets: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    final: bool = False

    def summary(self) -> dict[str, Any]:
        return summarize(self.rows, self.study, self.assets, self.final)


# ---------------------------------------------------------------------------------------------------- running
def _real_rows(paths: Sequence[RealPath], names: Sequence[str], cfg: BacktestConfig, kind: str,
               grid: Sequence[float]) -> pd.DataFrame:
    """Every rule (and every grid variant of ``optimal``) on every real path, one batch."""
    if not paths:
        return pd.DataFrame()
    allnames = [*names, *(f"{GRID_PREFIX}{m:g}" for m in grid)]
    b = PathBatch.empty()
    params = np.empty((8, len(allnames), len(paths)))
    reset = np.zeros((len(allnames), len(paths)), dtype=np.int64)
    for j, rp in enumerate(paths):
        d = rp.data
        lo, th = cfg.tiers_for(rp.asset)
        cost = float(rp.rules["paper"].k_reb_fix * 1e4)
        fi = np.zeros_like(d.funding.rate) if d.funding.rate_in is None else d.funding.rate_in
        b.add(d.p_open, d.p_high, d.p_close, d.s_open, d.s_close, d.funding.rate, fi, cost,
              (np.asarray(lo, float), np.asarray(th, float)))
        rules = {**rp.rules, **{f"{GRID_PREFIX}{m:g}": r for m, r in rp.tuned.items()}}
        params[:, :, j], reset[:, j] = param_column(rules, allnames, d.bar_hours)
    m = run_batch(b, params, reset, cfg.capital_usd, cfg.q_min_usd, cfg.buffer_bps, Liquidation.of(cfg))
    recs = []
    for j, rp in enumerate(paths):
        days = rp.data.days
        for r, n in enumerate(allnames):
            recs.append({"rule": n, "asset": rp.asset, "kind": kind, "generator": "history",
                         "path": f"{rp.asset} {rp.cluster}", "cluster": f"{kind} {rp.cluster}",
                         "start": rp.start.isoformat(), "days": days, "bar_hours": rp.data.bar_hours,
                         **dict(zip(METRICS, m[r, j], strict=True))})
    return pd.DataFrame(recs)


def _sim_rows(setups: Sequence[SimSetup], n_paths: int, names: Sequence[str], executor: str,
              years: float) -> pd.DataFrame:
    chunks = [(s, list(range(a, min(a + CHUNK_PATHS, n_paths)))) for s in setups
              for a in range(0, n_paths, CHUNK_PATHS)]
    if executor == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=None, include_dashboard=False, log_to_driver=False)
        fn = ray.remote(run_sim_chunk)
        results = ray.get([fn.remote(s, ids) for s, ids in chunks])
    else:
        results = [run_sim_chunk(s, ids) for s, ids in chunks]
    recs = []
    for (s, ids), m in zip(chunks, results, strict=True):
        for r, n in enumerate(names):
            for j, i in enumerate(ids):
                recs.append({"rule": n, "asset": s.asset, "kind": "simulated", "generator": s.generator,
                             "path": f"{s.generator} {i}", "cluster": f"{s.generator} {i}", "start": "",
                             "days": years * 365.0, "bar_hours": 1.0, **dict(zip(METRICS, m[r, j], strict=True))})
    return pd.DataFrame(recs)


def run_study(study: Study, *, history: History | None, real: Sequence[RealPath] = (),
              holdout: Sequence[RealPath] = (), cfg: BacktestConfig | None = None, spec: RuleSpec | None = None,
              executor: str = "serial", cost_bps_of: Callable[[str], float] | None = None,
              on_step: Callable[[str], None] | None = None,
              funding_of: Callable[[str], pd.DataFrame] | None = None) -> StudyResult:
    """Run the study. ``history``: the generators' data (None or ``study.paths == 0``: real paths only);
    ``real`` / ``holdout``: prepared real paths; ``cost_bps_of``: cost per asset when the study says "paper";
    ``funding_of(asset)``: the funding stream the regime candidate forecasts on real paths (default: the data
    dir's stream of the study venue). The ``regime`` candidate runs per path
    (:mod:`basisctl.study.regime_candidate`), on the same paths as the batch."""
    import time

    cfg = cfg or BacktestConfig(capital_usd=study.capital_usd, q_min_usd=study.q_min_usd)
    spec = spec or RuleSpec()
    names = batch_names(study.candidates)
    rs = study.regime if "regime" in study.candidates else None
    t0 = time.perf_counter()
    frames = [_real_rows(real, names, cfg, "real", study.grid), _real_rows(holdout, names, cfg, "holdout", ())]
    if rs is not None:
        frames += [real_regime_rows(real, rs, cfg, study.funding_venue, "real", funding_of),
                   real_regime_rows(holdout, rs, cfg, study.funding_venue, "holdout", funding_of)]
    t1 = time.perf_counter()
    assets = sorted({p.asset for p in real})
    t_cal = 0.0
    t_regime = 0.0
    if history is not None and study.paths > 0:
        setups = []
        jobs = []
        for g in study.generators:
            for k, a in enumerate(history.assets):
                tc = time.perf_counter()
                cost = study.cost_bps if study.cost_bps is not None else (cost_bps_of or _paper_cost)(a)
                frames_burn = burn_in_frames(history, k, g, study.burn_in_days, study.block_days, study.seed)
                rules, p0, _ = burn_in_rules(history, k, g, names, study.burn_in_days, study.block_days,
                                             study.seed, cost, cfg, spec, study.optimal_floor_model,
                                             frames=frames_burn)
                lo, th = cfg.tiers_for(a)
                setups.append(sim_setup(history, k, g, rules, names, p0, study.years, study.block_days, study.seed,
                                        cost, (np.asarray(lo, float), np.asarray(th, float)), cfg))
                if rs is not None:
                    jobs.append((setups[-1], rules[rs.inner_rule], frames_burn[1]))
                t_cal += time.perf_counter() - tc
                if on_step:
                    on_step(f"calibrated {a} on the {g} burn-in")
        frames.append(_sim_rows(setups, study.paths, names, executor, study.years))
        if rs is not None:
            t_r = time.perf_counter()
            frames.append(sim_regime_rows(jobs, study.paths, rs, cfg, study.years, executor, CHUNK_PATHS))
            t_regime += time.perf_counter() - t_r
        assets = sorted(set(assets) | set(history.assets))
    t2 = time.perf_counter()
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=["rule", "asset", "kind", "generator", "path", "cluster", *METRICS])
    if len(rows):
        rows["years"] = rows["days"] / 365.0
        rows["apy"] = rows["ret"] / rows["years"]
        if "ret_raw" in rows:
            rows["apy_raw"] = rows["ret_raw"] / rows["years"]
    return StudyResult(study, rows, assets, {"real_s": t1 - t0, "simulated_s": t2 - t1, "calibration_s": t_cal,
                                        "regime_simulated_s": t_regime},
                       final=bool(len(holdout)))


def _paper_cost(asset: str) -> float:
    from basisctl.backtest.costs import paper_cost_bps

    return paper_cost_bps(asset)


# ---------------------------------------------------------------------------------------------- statistics
def rule_stats(g: pd.DataFrame, level: float, reps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Per-rule statistics over the paths of ``g`` (one rule). ``liq_rate_ci`` (Garwood) treats paths as
    independent; the assets of one cluster share its crashes, so ``liq_rate_ci_cluster`` resamples clusters."""
    n = len(g)
    liq = g["liquidations"].to_numpy(float)
    yrs = g["years"].to_numpy(float)
    k_any = int((liq > 0).sum())
    k_tot = int(liq.sum())
    exposure = float(yrs.sum())
    dd = g["max_drawdown"].to_numpy(float)
    # the liquidation components (absent from hand-made frames): means per path [fraction of capital]
    comps = {f"{c}_mean": float(g[c].mean()) for c in ("ret_unhedged", "liq_loss", "ret_excess_static",
                                                        "naked_gain_removed", "ret_raw") if c in g}
    if "apy_raw" in g:  # the kernel's NAV return, naked-spot gains included (reported, not judged)
        comps |= {"apy_raw_mean": float(g["apy_raw"].mean()), "apy_raw_median": float(g["apy_raw"].median())}
    if "backstops" in g:
        comps["backstops"] = int(g["backstops"].sum())
    return {
        "paths": n,
        "ret_mean": float(g["ret"].mean()), "ret_median": float(g["ret"].median()),
        "apy_mean": float(g["apy"].mean()), "apy_median": float(g["apy"].median()),
        "p_liq": k_any / n if n else float("nan"), "p_liq_ci": list(stats.clopper_pearson(k_any, n, level)),
        "liquidations": k_tot, "path_years": exposure,
        "liq_rate": k_tot / exposure if exposure else float("nan"),
        "liq_rate_ci": list(stats.garwood(k_tot, exposure, level)),
        "liq_rate_ci_cluster": list(stats.ratio_ci(liq, yrs, g["cluster"].to_numpy(), level, reps, seed)[1:]),
        "dd_q50": float(np.quantile(dd, 0.5)), "dd_q95": float(np.quantile(dd, 0.05)),
        "dd_q99": float(np.quantile(dd, 0.01)),
        "turnover": float(g["turnover"].sum() / exposure) if exposure else float("nan"),
        "rebalances_per_year": float(g["rebalances"].sum() / exposure) if exposure else float("nan"),
        **comps,
    }


def pair_stats(x: pd.DataFrame, base: pd.DataFrame, level: float, reps: int, seed: int) -> dict[str, Any]:
    """Rule x against the base on the same paths (rows aligned by ``path``/``asset``)."""
    m = x.merge(base, on=["path", "asset"], suffixes=("", "_b"))
    cl = m["cluster"].to_numpy()
    ones = np.ones(len(m))
    d_apy = (m["apy"] - m["apy_b"]).to_numpy(float)
    d_ret = (m["ret"] - m["ret_b"]).to_numpy(float)
    d_liq = (m["liquidations"] - m["liquidations_b"]).to_numpy(float)
    # return net of the carry the rule actually collected (costs, liquidations, naked spot): the rules' difference
    # once each is measured against its own carry (docs/rules.md, "Constant carry with no costs")
    d_exc = ((m["ret"] - m["ret_funding"]) - (m["ret_b"] - m["ret_funding_b"])).to_numpy(float)
    yrs = m["years"].to_numpy(float)
    e_apy, lo_apy, hi_apy = stats.ratio_ci(d_apy, ones, cl, level, reps, seed)
    e_ret, lo_ret, hi_ret = stats.ratio_ci(d_ret, ones, cl, level, reps, seed)
    e_liq, lo_liq, hi_liq = stats.ratio_ci(d_liq, yrs, cl, level, reps, seed)
    e_exc, lo_exc, hi_exc = stats.ratio_ci(d_exc, ones, cl, level, reps, seed)
    raw: dict[str, Any] = {}
    if "ret_raw" in m:  # the raw (kernel NAV) difference, naked-spot gains included: reported, not judged
        e_raw, lo_raw, hi_raw = stats.ratio_ci((m["apy_raw"] - m["apy_raw_b"]).to_numpy(float), ones, cl, level,
                                               reps, seed)
        raw = {"d_apy_raw_mean": e_raw, "d_apy_raw_ci": [lo_raw, hi_raw]}
    x_only = int(((m["liquidations"] > 0) & (m["liquidations_b"] == 0)).sum())
    b_only = int(((m["liquidations"] == 0) & (m["liquidations_b"] > 0)).sum())
    return {"paths": len(m), "d_apy_mean": e_apy, "d_apy_ci": [lo_apy, hi_apy], "d_ret_mean": e_ret,
            "d_ret_ci": [lo_ret, hi_ret], "wilcoxon_p": stats.wilcoxon_p(d_ret, cl), "d_liq_rate": e_liq,
            "d_liq_rate_ci": [lo_liq, hi_liq], "mcnemar_p": stats.mcnemar_exact(x_only, b_only),
            "liq_only_rule": x_only, "liq_only_paper": b_only, "d_ret_ex_carry_mean": e_exc,
            "d_ret_ex_carry_ci": [lo_exc, hi_exc], **raw}


def preferred_over_paper(paired: dict[str, dict[str, Any]]) -> list[str]:
    """The candidates preferred over paper: d_ret CI above 0 and d_liq_rate CI not above 0 (lower bound <= 0;
    a NaN bound never prefers)."""
    return [r for r, p in paired.items() if p["d_ret_ci"][0] > 0 and not p["d_liq_rate_ci"][0] > 0]


def safety_dropped(paired: dict[str, dict[str, Any]], preferred: Sequence[str]) -> list[str]:
    """The safety-first clause: the preferred X whose paired liquidation-rate difference CI against another
    preferred Y lies above 0 (``paired[X]["d_liq_rate_ci_vs"][Y]``, X - Y per path-year, on the same paths).
    Every X is compared with every other preferred Y at once (before any is dropped), so the result does not depend
    on the order of the candidates. A missing comparison is an error, never a pass."""
    out = []
    for x in preferred:
        vs = paired[x].get("d_liq_rate_ci_vs", {})
        missing = [y for y in preferred if y != x and y not in vs]
        if missing:
            raise KeyError(f"decision rule: no paired liquidation-rate CI of {x} against {', '.join(missing)}")
        if any(vs[y][0] > 0 for y in preferred if y != x):
            out.append(x)
    return out


def decide(paired: dict[str, dict[str, Any]], safety_first: bool = True) -> tuple[str, list[str]]:
    """The study's decision rule (:data:`basisctl.study.studyfile.DECISION_RULE`). X is preferred over paper iff
    its d_ret CI lies above 0 and its d_liq_rate CI is not above 0; with ``safety_first`` (the amended rule) a
    preferred X whose paired liquidation-rate CI against another preferred candidate lies above 0 is dropped
    (:func:`safety_dropped`); the remaining X with the largest mean d_ret wins, else paper.
    ``safety_first=False`` is the rule as first registered (``DECISION_RULE_V1``). Returns (verdict, preferred over
    paper, before the clause). "Liquidated significantly more" cannot cycle through fewer than 2 / (1 - level)
    candidates (20 at 90 %): the pairs share the bootstrap resamples and a cycle's differences sum to 0 on each, so
    the clause leaves at least one of the study's candidates; if it ever left none the verdict would be paper."""
    pref = preferred_over_paper(paired)
    rest = [r for r in pref if r not in safety_dropped(paired, pref)] if safety_first else pref
    if not rest:
        return "paper", pref
    return max(rest, key=lambda r: paired[r]["d_ret_mean"]), pref


def add_liq_vs(paired: dict[str, dict[str, Any]], rows: pd.DataFrame, names: Sequence[str], level: float,
               reps: int, seed: int) -> None:
    """Add ``d_liq_rate_vs`` / ``d_liq_rate_ci_vs`` (X - Y liquidations per path-year, cluster-bootstrap CI, paired
    on the same paths) to ``paired[X]`` for every other Y of ``names`` (the candidates preferred over paper)."""
    for x in names:
        est: dict[str, float] = {}
        ci: dict[str, list[float]] = {}
        for y in names:
            if y == x:
                continue
            m = rows[rows["rule"] == x].merge(rows[rows["rule"] == y], on=["path", "asset"], suffixes=("", "_b"))
            d = (m["liquidations"] - m["liquidations_b"]).to_numpy(float)
            e, lo, hi = stats.ratio_ci(d, m["years"].to_numpy(float), m["cluster"].to_numpy(), level, reps, seed)
            est[y], ci[y] = e, [lo, hi]
        paired[x]["d_liq_rate_vs"], paired[x]["d_liq_rate_ci_vs"] = est, ci


def cluster_perf(rows: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(clusters, rules) mean per-window return per cluster, clusters in time/path order."""
    piv = rows[rows["rule"].isin(names)].pivot_table(index="cluster", columns="rule", values="ret", aggfunc="mean")
    piv = piv.dropna()
    return piv[list(names)].to_numpy(float), list(piv.index)


def block(rows: pd.DataFrame, study: Study, with_pbo: bool) -> dict[str, Any]:
    """rules, paired, spa_p, mcs, pbo, verdict over ``rows`` (one sample)."""
    names = [r for r in study.candidates if r in set(rows["rule"])]
    lv, reps, seed = study.level, study.bootstrap_reps, study.seed
    out_rules = {r: rule_stats(rows[rows["rule"] == r], lv, reps, seed) for r in names}
    base = rows[rows["rule"] == "paper"]
    paired = {r: pair_stats(rows[rows["rule"] == r], base, lv, reps, seed) for r in names if r != "paper"}
    if study.safety_first:
        add_liq_vs(paired, rows, preferred_over_paper(paired), lv, reps, seed)
    verdict, preferred = decide(paired, study.safety_first)
    dropped = safety_dropped(paired, preferred) if study.safety_first else []
    perf, _ = cluster_perf(rows, names)
    others = [i for i, r in enumerate(names) if r != "paper"]
    spa = float("nan")
    mcs: list[str] = []
    if perf.shape[0] >= 3 and others:
        degenerate = (ValueError, IndexError, ZeroDivisionError, np.linalg.LinAlgError)
        try:
            spa = stats.spa_pvalue(perf[:, names.index("paper")], perf[:, others], reps, seed)
        except degenerate:  # identical candidates (e.g. hold = paper on every window): no test
            spa = float("nan")
        try:
            mcs = stats.mcs_included(perf, names, lv, reps, seed)
        except degenerate:
            mcs = []
    out: dict[str, Any] = {"paths": int(rows["path"].nunique() if len(rows) else 0),
                           "clusters": int(rows["cluster"].nunique() if len(rows) else 0), "rules": out_rules,
                           "paired": paired, "spa_p": spa, "mcs": mcs, "preferred": preferred,
                           "dropped_by_safety": dropped, "verdict": verdict}
    if with_pbo:
        gnames = [f"{GRID_PREFIX}{m:g}" for m in study.grid]
        if set(gnames) <= set(rows["rule"]):
            gp, _ = cluster_perf(rows, gnames)
            out["pbo"] = {"grid": study.grid_name, "values": list(study.grid), "windows": int(gp.shape[0]),
                          "pbo": stats.pbo_cscv(gp, study.cscv_blocks)}
    return out


def summarize(rows: pd.DataFrame, study: Study, assets: Sequence[str], final: bool = False) -> dict[str, Any]:
    """The ``compare-rules --study --json`` document (keys ``TOP_KEYS`` first)."""
    real = rows[rows["kind"] == "real"] if len(rows) else rows
    sim = rows[rows["kind"] == "simulated"] if len(rows) else rows
    real_b = block(real, study, True) if len(real) else None
    sim_b = block(sim, study, False) if len(sim) else None
    head = sim_b if sim_b is not None else real_b
    if head is None:
        from basisctl.errors import DataCoverageError

        raise DataCoverageError("the study has no path: no real window and no simulated path")
    v = head["verdict"]
    p = head["paired"].get(v, {})
    text = ("nothing is significant: keep `paper`" if v == "paper" else
            f"prefer `{v}` over `paper`: d_ret {p['d_ret_mean']:+.4f} per window, CI "
            f"[{p['d_ret_ci'][0]:+.4f}, {p['d_ret_ci'][1]:+.4f}]; d_liq_rate {p['d_liq_rate']:+.3f}/path-yr")
    if head["dropped_by_safety"]:
        text += ("; dropped by the safety-first clause (liquidated significantly more than another preferred "
                 f"rule): {', '.join(head['dropped_by_safety'])}")
    out: dict[str, Any] = {
        "study_hash": study.sha256, "paths_real": int(real["path"].nunique()) if len(real) else 0,
        "paths_simulated": int(sim["path"].nunique() * sim["asset"].nunique()) if len(sim) else 0,
        "assets": list(assets), "rules": head["rules"], "paired": head["paired"], "spa_p": head["spa_p"],
        "decision_rule": f"{study.decision_rule} (at {study.level:.0%}; block bootstrap of whole calendar windows "
                         f"/ simulated path indices, {study.bootstrap_reps} resamples)",
        "verdict": v, "verdict_text": text, "preferred": head["preferred"],
        "dropped_by_safety": head["dropped_by_safety"], "mcs": head["mcs"],
        "sample": "simulated" if sim_b is not None else "real", "study_file": study.source,
        "holdout_from": f"{study.holdout_from:%Y-%m-%d}", "block_days": study.block_days,
        "generators": list(study.generators), "candidates": list(study.candidates),
        "optimal_floor_model": study.optimal_floor_model,
    }
    if real_b is not None:
        out["real"] = real_b
    if sim_b is not None:
        out["simulated_by_generator"] = {g: block(sim[sim["generator"] == g], study, False)["verdict"]
                                         for g in sorted(set(sim["generator"]))}
    if final:
        ho = rows[rows["kind"] == "holdout"]
        out["holdout"] = block(ho, study, False) if len(ho) else None
    return out
