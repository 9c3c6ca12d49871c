"""Issue 17 speed: `static` sizes alpha through the result cache, keyed by the calibration window's content.

A second `static` on unchanged data serves the sized alpha (and its SE and parameters) without refitting or
simulating; any change of the window's bars or of a parameter computes again; the floats are the computed ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basisctl.risk import sizing
from basisctl.risk.base import Bars


def _frame(n: int = 24 * 40, seed: int = 5) -> pd.DataFrame:
    """Synthetic gap-free 1h candles (40 days): GARCH-free but with some spread between close and high."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(n) * 0.006
    close = 100 * np.exp(np.cumsum(r))
    ts = pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC")
    high = close * np.exp(np.abs(rng.standard_normal(n)) * 0.003)
    return pd.DataFrame({"ts": ts, "open": close, "high": high, "low": close * 0.999, "close": close})


def _alpha(frame: pd.DataFrame, **kw: object) -> dict[str, object]:
    args: dict[str, object] = {"model": "fhs", "asset": "SYN", "venue": "hyperliquid", "theta": 0.0125,
                               "epsilon": 1e-2, "horizon_hours": 24.0, "asof": None, "lookback_days": 39.0,
                               "prices_file": frame, "seed": 0}
    args.update(kw)
    return sizing.model_alpha(**args)  # type: ignore[arg-type]


def test_second_sizing_is_served_from_the_cache_with_identical_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = sizing._model_alpha

    def counting(m: str, *a: object) -> dict[str, object]:
        calls.append(m)
        return real(m, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(sizing, "_model_alpha", counting)
    f = _frame()
    first = _alpha(f)
    assert calls == ["fhs"] and 0 < first["alpha_risk"] < 1 and first["alpha_risk_se"] > 0  # type: ignore[operator]
    assert _alpha(f.copy()) == first and calls == ["fhs"]  # same bars (another frame): served, same floats
    assert real("fhs", *_args(f)) == {k: v for k, v in first.items() if k != "risk_calibration"}  # = computed
    for kw in ({"seed": 1}, {"epsilon": 2e-2}, {"theta": 0.02}, {"horizon_hours": 12.0}, {"model": "gbm"}):
        _alpha(f, **kw)
    assert len(calls) == 6  # every parameter is in the key
    g = f.copy()
    g.loc[g.index[-5], "high"] *= 1.01  # one bar's high inside the window changed: computed again
    _alpha(g)
    assert len(calls) == 7
    assert _alpha(f) == first and len(calls) == 7


def _args(f: pd.DataFrame) -> tuple[object, ...]:
    bars = sizing.load_bars("SYN", f)
    lo, hi = sizing.window(bars, None, 39.0)
    return (bars, lo, hi, 0.0125, 1e-2, 24.0, 1.0, 0)


def test_window_digest_sees_every_bar_field() -> None:
    b = Bars(np.arange(5, dtype=np.int64) * 3_600_000_000_000, np.linspace(1, 2, 5), np.linspace(1, 2, 5) + 0.1, 1.0)
    d = sizing.window_digest(b, 0, 5)
    assert d == sizing.window_digest(Bars(b.ts_ns.copy(), b.close.copy(), b.high.copy(), 1.0), 0, 5)
    for other in (Bars(b.ts_ns + 1, b.close, b.high, 1.0), Bars(b.ts_ns, b.close * 1.001, b.high, 1.0),
                  Bars(b.ts_ns, b.close, b.high * 1.001, 1.0), Bars(b.ts_ns, b.close, b.high, 4.0)):
        assert sizing.window_digest(other, 0, 5) != d
    assert sizing.window_digest(b, 1, 5) != d
