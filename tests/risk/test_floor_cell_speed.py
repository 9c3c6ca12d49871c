"""Issue 17 speed: the coverage study's floor cell runs on reused work arrays and reads its quantile from the top
few of its 40,000 maxima. Both shortcuts must give the floats of the plain path bit for bit (np.quantile's Hazen
quantile of simulate_maxima's column), so the study's figures do not move."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.risk import fhs
from basisctl.risk.coverage import StudyConfig, compute_barriers
from tests.risk.synth import candles


@pytest.mark.parametrize("n", [2, 3, 17, 4000, 10_000, 40_000, 40_001])
def test_upper_quantile_is_numpys_hazen_quantile_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    for trial in range(40):
        x = rng.standard_normal(n) * rng.uniform(1e-4, 1.0) + rng.uniform(-1.0, 1.0)
        if trial % 4 == 0:
            x = np.round(x, 2)  # ties
        for eps in (1e-4, 1e-3, 1e-2, 0.3, 1.0 / n, 0.3 / n, 1e-7):
            want = np.quantile(x[:, None], 1.0 - np.atleast_1d(eps), axis=0, method="hazen")[0, 0]
            assert fhs.upper_quantile(x, eps) == want, (n, eps)
            if eps * n >= 1:  # what quantile_barrier resolves
                assert fhs.upper_quantile(x, eps) == fhs.quantile_barrier(x[:, None], eps)[0, 0]
    x = rng.standard_normal(1000)
    x[5] = np.nan
    assert np.isnan(fhs.upper_quantile(x, 1e-2))  # as np.quantile


def _cal() -> fhs.FHSCalibration:
    bars = candles(24 * 40, 0.6, seed=11, sub=6)
    return fhs.calibrate_fhs(bars, 0, len(bars))


def test_last_maxima_on_reused_buffers_equal_simulate_maxima() -> None:
    cal = _cal()
    buf = fhs.MaximaBuffers(5000)
    for seed, h in ((0, 3.0), (2**31 + 7, 3.0), (5, 1.0), (5, 24.0)):
        want = fhs.simulate_maxima(cal, [h], 5000, seed)[:, 0]
        np.testing.assert_array_equal(fhs.simulate_last_maxima(cal, h, buf, seed), want)


def test_study_floor_barriers_equal_the_plain_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    bars = candles(24 * 60, 0.6, seed=3, sub=6)
    cfg = StudyConfig(models=("fhs",), epsilons=(0.01,), horizons_hours=(24.0,), lookback_days=40.0,
                      floor_epsilon=1e-4, fhs_floor_paths=20_000)
    fast = compute_barriers(bars, cfg).floor
    monkeypatch.setattr(fhs, "simulate_last_maxima",
                        lambda cal, h, buf, seed: fhs.simulate_maxima(cal, [h], buf.mx.size, seed)[:, 0])
    monkeypatch.setattr(fhs, "upper_quantile", lambda x, eps: float(fhs.quantile_barrier(x[:, None], eps)[0, 0]))
    plain = compute_barriers(bars, cfg).floor
    assert fast is not None and plain is not None and np.isfinite(fast["fhs"]).all()
    np.testing.assert_array_equal(fast["fhs"], plain["fhs"])
