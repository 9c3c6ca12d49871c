"""GARCH(1,1) QMLE recovers simulated parameters; FHS on i.i.d. normal bars reproduces the GBM closed form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from basisctl.risk.base import solve_barrier
from basisctl.risk.fhs import FHSRisk, calibrate_fhs, quantile_barrier
from basisctl.risk.garch import fit_garch, garch_filter_nb, simulate_garch
from basisctl.risk.gbm import GBMRisk
from tests.risk.synth import candles


@pytest.mark.parametrize(("a", "beta", "df"), [(0.06, 0.92, None), (0.12, 0.80, None), (0.08, 0.90, 6.0)])
def test_garch_fit_recovers_simulated_parameters(a: float, beta: float, df: float | None) -> None:
    omega = 1e-6 * (1 - a - beta)
    r = simulate_garch(30_000, omega, a, beta, seed=11, df=df)
    g = fit_garch(r)
    assert g.a == pytest.approx(a, abs=0.02)
    assert g.beta == pytest.approx(beta, abs=0.03)
    assert g.omega == pytest.approx(omega, rel=0.35)


def test_garch_filter_twin_matches_a_plain_loop() -> None:
    eps = np.random.default_rng(1).standard_normal(50) * 0.01
    got = garch_filter_nb(eps, 1e-6, 0.1, 0.85, 1e-4)
    s2, want = 1e-4, []
    for e in eps:
        want.append(s2)
        s2 = 1e-6 + 0.1 * e * e + 0.85 * s2
    want.append(s2)
    assert np.allclose(got, want, rtol=1e-14)


_TWIN = """
import numpy as np, sys
from basisctl.risk.fhs import fhs_max_nb
from basisctl.simulate._rng import chunk_states
z = np.random.default_rng(2).standard_normal(300)
m = fhs_max_nb(z, np.abs(z) * 0.5, 1e-5, 1e-7, 0.05, 0.9, 0.0, np.array([1, 5, 24], dtype=np.int64), 50,
               chunk_states(5, 1)[0])
np.save(sys.argv[1], m)
"""


def test_fhs_kernel_python_twin_is_identical(tmp_path: Path) -> None:
    """The kernel run as plain Python (BASISCTL_DISABLE_JIT=1, fresh process) equals the compiled one."""
    outs = []
    for flag in ("0", "1"):
        f = tmp_path / f"m{flag}.npy"
        env = {**os.environ, "BASISCTL_DISABLE_JIT": flag}
        subprocess.run([sys.executable, "-c", _TWIN, str(f)], env=env, check=True)
        outs.append(np.load(f))
    assert np.array_equal(outs[0], outs[1])


def test_fhs_on_gbm_bars_matches_the_closed_form_barrier() -> None:
    sigma = 0.6
    bars = candles(24 * 200, sigma, seed=4)
    f = FHSRisk(calibrate_fhs(bars, 0, len(bars)), n_paths=40_000, seed=1)
    for h in (1.0, 24.0):
        got = float(f.barrier_at(0.01, h)[0])
        want = float(solve_barrier(GBMRisk.of(sigma), 0.01, h)[0])
        assert got == pytest.approx(want, rel=0.08)  # residual pool of 4,800 bars + 40k paths


def test_quantile_barrier_refuses_an_unresolvable_epsilon() -> None:
    from basisctl.errors import ModelDomainError

    with pytest.raises(ModelDomainError, match="paths cannot resolve"):
        quantile_barrier(np.zeros((100, 1)), 1e-3)


def test_fhs_too_little_data_names_model_span_and_minimum() -> None:
    from basisctl.risk import ModelFitError

    bars = candles(100, 0.5, seed=1)
    with pytest.raises(ModelFitError, match=r"fhs: too little data .*99 returns in 100 bars of 1h.*need at least 720"):
        calibrate_fhs(bars, 0, len(bars))
