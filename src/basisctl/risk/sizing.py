"""alpha at a budget under any registered model, as the sizing commands print it (``static``, ``bands``).

One place decides what a sizing result carries, so the CLI never branches on a model name:

* ``model``, ``alpha_risk``, ``pi_liq_at_alpha``, fitted ``params`` and the calibration span;
* ``alpha_risk_se``: the Monte Carlo standard error of alpha [fraction of capital] for simulated models (FHS);
  closed forms (GBM, Kou) and fitted quantiles (EVT) have none and omit the key;
* ``alpha_risk_gbm``: the paper's answer (stressed GBM, eq. 17) for comparison, also when the model is GBM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from basisctl.risk.base import alpha_at, check_horizon, pi_liq, solve_barrier
from basisctl.risk.fit import fit_model, load_bars, window
from basisctl.risk.registry import bar_horizon, check_model, is_stressed


def _first(x: Any) -> float:
    return float(np.asarray(x).reshape(-1)[0])


def fitted_alpha(fitted: Any, epsilon: float, theta_f: float, horizon_hours: float) -> dict[str, float]:
    """``alpha`` at ``epsilon`` under a fitted model, and ``alpha_se`` where the model is a Monte Carlo."""
    out = {"alpha": _first(alpha_at(fitted, epsilon, theta_f, horizon_hours))}
    se = getattr(fitted, "alpha_se", None)
    if se is not None and out["alpha"] < 1.0:
        out["alpha_se"] = float(se(epsilon, theta_f, horizon_hours))
    return out


def model_alpha(model: str, asset: str, venue: str, theta: float, epsilon: float, horizon_hours: float,
                asof: pd.Timestamp | None, lookback_days: float, prices_file: str | Path | pd.DataFrame | None,
                stress: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """alpha at epsilon under ``model`` calibrated on the bars before ``asof`` [fraction of capital]."""
    del venue  # theta carries the venue's margin rule
    m = check_model(model)
    check_horizon(horizon_hours)
    bars = load_bars(asset, prices_file)
    lo, hi = window(bars, asof, lookback_days)
    horizon_hours = bar_horizon(m, horizon_hours, bars.bar_hours)
    from basisctl import cache

    # Through the result cache, keyed by the window's content (the bars themselves, so a file, a --prices-file and
    # a DataFrame alike) and every parameter: a second `static` on unchanged data skips the fit and the 800,000
    # paths (docs/performance.md, "static end to end"); the floats are the computed ones.
    params = {"model": m, "window": window_digest(bars, lo, hi), "theta": float(theta), "epsilon": float(epsilon),
              "horizon_hours": float(horizon_hours), "stress": float(stress), "seed": int(seed)}
    out: dict[str, Any] = cache.memoize("risk/model alpha", params, lambda: _model_alpha(
        m, bars, lo, hi, theta, epsilon, horizon_hours, stress, seed)).value
    return {**out, "params": dict(out["params"]), "risk_calibration": bars.span_text(lo, hi)}


def window_digest(bars: Any, lo: int, hi: int) -> str:
    """SHA-256 of bars[lo:hi] (open times, closes, highs, bar length): the content key of a calibration window."""
    import hashlib

    h = hashlib.sha256()
    for a in (bars.ts_ns[lo:hi], bars.close[lo:hi], bars.high[lo:hi]):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(float(bars.bar_hours)).encode())
    return h.hexdigest()[:40]


def _model_alpha(m: str, bars: Any, lo: int, hi: int, theta: float, epsilon: float, horizon_hours: float,
                 stress: float, seed: int) -> dict[str, Any]:
    from basisctl.risk.fhs import sizing_paths  # here: the paper's model (gbm) and a cache hit never load numba

    fitted = fit_model(m, bars, lo, hi, horizon_hours, seed=seed, stress=stress, fhs_paths=sizing_paths(epsilon))
    got = fitted_alpha(fitted, epsilon, theta, horizon_hours)
    a = got["alpha"]
    out: dict[str, Any] = {"model": m, "alpha_risk": 1.0 if not a < 1.0 else a}
    if "alpha_se" in got:
        out["alpha_risk_se"] = got["alpha_se"]
    out["pi_liq_at_alpha"] = (_first(pi_liq(fitted, a, theta, horizon_hours)) if a < 1.0 else float("nan"))
    out["params"] = fitted.params()
    return out


def static_model_fields(model: str, res: Any, asset: str, venue: str, prices_file: str | Path | pd.DataFrame | None,
                        end: pd.Timestamp, lookback_days: float, seed: int = 0) -> dict[str, Any]:
    """The ``static`` fields of ``model`` given the paper's solved ``res`` (``model.static.solve_static``).

    The paper's model (stressed) is the closed form ``res`` already holds; the others size alpha_risk
    themselves, unstressed, and carry the paper's answer as ``alpha_risk_gbm``."""
    m = check_model(model)
    if is_stressed(m):
        return {"model": m, "stressed": True, "pi_liq_at_alpha": res.pi_liq_at_alpha_risk,
                "params": {"sigma_annual": res.sigma_stressed, "mu_annual": res.inputs.mu},
                "alpha_risk_gbm": res.alpha_risk}
    i = res.inputs
    r = model_alpha(m, asset, venue, i.theta_f, i.epsilon, i.horizon_days * 24.0, end, lookback_days, prices_file,
                    seed=seed)
    return {**r, "stressed": False, "alpha_risk_gbm": res.alpha_risk,
            "leverage_risk": (1 - r["alpha_risk"]) / r["alpha_risk"], "pi_liq_at_alpha_risk": r["pi_liq_at_alpha"],
            "model_note": "alpha_risk under the chosen model (unstressed: --stress applies to alpha_risk_gbm and "
                          "alpha_econ only); alpha_econ stays the GBM Variant 1"}


def explicit_model(model: str, given: dict[str, float | None]) -> Any:
    """A model from explicit parameters (``pi-liq --sigma ...``): exactly the registry's ``explicit`` options of
    ``model`` must be given (option names as keys; None = not given)."""
    from basisctl.errors import ModelDomainError
    from basisctl.risk.gbm import GBMRisk
    from basisctl.risk.kou import KouRisk
    from basisctl.risk.registry import entry

    e = entry(model)
    have = {k for k, v in given.items() if v is not None}
    if not e.explicit:
        raise ModelDomainError(f"model {e.name} has no explicit parameters; drop --sigma/--jump-* to calibrate it "
                               "from data")
    if have != set(e.explicit):
        need = ", ".join("--" + k.replace("_", "-") for k in e.explicit)
        raise ModelDomainError(f"model {e.name} with explicit parameters needs exactly {need}")
    vals = [float(v) for v in (given[k] for k in e.explicit) if v is not None]
    if e.name == "kou":
        return KouRisk.of(*vals)
    return GBMRisk.of(*vals)


def model_barriers(model: str, asset: str, asof: pd.Timestamp | None, lookback_days: float, epsilon: float,
                   horizon_hours: float, eps_liq: float, h_liq_hours: float,
                   prices_file: str | Path | pd.DataFrame | None = None, seed: int = 0) -> dict[str, float] | None:
    """Log barriers {"target": b at epsilon over horizon_hours, "lower": b at eps_liq over h_liq_hours} under
    ``model`` calibrated on the bars before ``asof``; they hold for every venue (alpha = 1 - exp(-b)/(1 + theta_F),
    docs/risk.md). None for the paper's model: its stressed closed form is computed where theta_F is known."""
    m = check_model(model)
    if is_stressed(m):
        return None
    if prices_file is None:  # cached per data dir: a walk-forward book asks again for every position it opens
        from basisctl.data import locator

        roots = tuple(str(r.path) for r in locator.roots())
        key = (m, asset.upper(), None if asof is None else pd.Timestamp(asof).value, float(lookback_days),
               float(epsilon), float(horizon_hours), float(eps_liq), float(h_liq_hours), int(seed), roots)
        if key not in _BARRIER_CACHE:
            if len(_BARRIER_CACHE) >= 256:
                _BARRIER_CACHE.clear()
            _BARRIER_CACHE[key] = _model_barriers(m, asset, asof, lookback_days, epsilon, horizon_hours, eps_liq,
                                                  h_liq_hours, None, seed)
        return dict(_BARRIER_CACHE[key])
    return _model_barriers(m, asset, asof, lookback_days, epsilon, horizon_hours, eps_liq, h_liq_hours, prices_file,
                           seed)


_BARRIER_CACHE: dict[tuple[Any, ...], dict[str, float]] = {}


def _model_barriers(m: str, asset: str, asof: pd.Timestamp | None, lookback_days: float, epsilon: float,
                    horizon_hours: float, eps_liq: float, h_liq_hours: float,
                    prices_file: str | Path | pd.DataFrame | None, seed: int) -> dict[str, float]:
    from basisctl.risk.fhs import sizing_paths

    bars = load_bars(asset, prices_file)
    lo, hi = window(bars, asof, lookback_days)
    out: dict[str, float] = {}
    for key, eps, h in (("target", epsilon, horizon_hours), ("lower", eps_liq, h_liq_hours)):
        h = bar_horizon(m, h, bars.bar_hours)
        f = fit_model(m, bars, lo, hi, h, seed=seed, fhs_paths=sizing_paths(eps))
        out[key] = _first(solve_barrier(f, eps, h))
    return out
