"""Band Monte Carlo against independent references: GBM first-passage closed forms (both directions, with
drift), the Broadie-Glasserman-Kou discrete-monitoring shift, exact random-walk probabilities by dynamic
programming, and a deterministic funding-only path; plus backend agreement, CRN and reproducibility."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import optimize, stats

from basisctl.errors import ModelDomainError
from basisctl.model.static import hit_probability_log_barrier
from basisctl.simulate import GBM, Bootstrap, FullState, simulate_hits
from basisctl.simulate._rng import ZIG_RATIO, ZIG_X, chunk_states, normals_nb
from tests.skips import need_extra

A0 = 0.20
AU = np.array([0.28, 0.36, 0.45])
AL = np.array([0.12, 0.08, 0.03])
SIGMA, MU = 0.8, 0.3
H_DAYS = 20.0


def exact_upper(a0: float, au: np.ndarray, sigma: float, mu: float, t_years: float) -> np.ndarray:
    """P(alpha hits alpha_U) = P(min ln p <= b), b = ln((1-aU)/(1-a0)) < 0: mirror -x (log drift s^2/2 - mu)."""
    b = np.log((1 - au) / (1 - a0))
    return hit_probability_log_barrier(-b, sigma, t_years, sigma**2 - mu)


def exact_lower(a0: float, al: np.ndarray, sigma: float, mu: float, t_years: float) -> np.ndarray:
    b = np.log((1 - al) / (1 - a0))
    return hit_probability_log_barrier(b, sigma, t_years, mu)


def run(backend: str = "numba", monitoring: str = "continuous", paths: int = 100_000, seed: int = 7,
        step_hours: float = 24.0, antithetic: bool = False, model: object = None):  # type: ignore[no-untyped-def]
    return simulate_hits(model or GBM(SIGMA, MU), A0, AU, AL, horizon_hours=H_DAYS * 24, step_hours=step_hours,
                         paths=paths, seed=seed, backend=backend, monitoring=monitoring,  # type: ignore[arg-type]
                         antithetic=antithetic)


def within(mc: np.ndarray, se: np.ndarray, ref: np.ndarray, k: float = 4.0) -> bool:
    return bool(np.all(np.abs(mc - ref) <= k * np.maximum(se, 1e-12)))


T = H_DAYS / 365.0
EXACT_U = exact_upper(A0, AU, SIGMA, MU, T)
EXACT_L = exact_lower(A0, AL, SIGMA, MU, T)


def test_reference_probabilities_are_non_trivial() -> None:
    assert np.all((EXACT_U > 0.005) & (EXACT_U < 0.9)) and np.all((EXACT_L > 0.005) & (EXACT_L < 0.9))


def test_gbm_continuous_matches_exact_first_passage_with_coarse_steps() -> None:
    r = run()  # 20 daily steps only: the bridge correction carries the continuous law
    assert within(r.upper_hit_rate, r.upper_hit_rate_se, EXACT_U)
    assert within(r.lower_hit_rate, r.lower_hit_rate_se, EXACT_L)
    assert r.paths == 100_000 and r.steps == 20


def test_discrete_monitoring_is_biased_low_and_bgk_shift_explains_it() -> None:
    c, d = run(), run(monitoring="discrete")
    assert np.all(EXACT_U - d.upper_hit_rate > 4 * d.upper_hit_rate_se)  # discrete misses crossings
    assert np.all(EXACT_L - d.lower_hit_rate > 4 * d.lower_hit_rate_se)
    assert np.all(np.abs(c.upper_hit_rate - EXACT_U) < np.abs(d.upper_hit_rate - EXACT_U))
    assert np.all(np.abs(c.lower_hit_rate - EXACT_L) < np.abs(d.lower_hit_rate - EXACT_L))
    # Broadie-Glasserman-Kou: discrete monitoring ~ continuous with the barrier moved out by 0.5826 sigma sqrt(dt)
    shift = 0.5826 * SIGMA * math.sqrt(1.0 / 365.0)
    bu = np.log((1 - AU) / (1 - A0)) - shift
    bl = np.log((1 - AL) / (1 - A0)) + shift
    bgk_u = hit_probability_log_barrier(-bu, SIGMA, T, SIGMA**2 - MU)
    bgk_l = hit_probability_log_barrier(bl, SIGMA, T, MU)
    assert np.all(np.abs(d.upper_hit_rate - bgk_u) < 4 * d.upper_hit_rate_se + 0.1 * bgk_u)
    assert np.all(np.abs(d.lower_hit_rate - bgk_l) < 4 * d.lower_hit_rate_se + 0.1 * bgk_l)


def _agree(a, b) -> None:  # type: ignore[no-untyped-def]
    for side in ("upper", "lower"):
        ra, rb = getattr(a, f"{side}_hit_rate"), getattr(b, f"{side}_hit_rate")
        sa, sb = getattr(a, f"{side}_hit_rate_se"), getattr(b, f"{side}_hit_rate_se")
        assert np.all(np.abs(ra - rb) <= 4 * np.sqrt(sa**2 + sb**2)), (side, ra, rb)


def test_numpy_reference_agrees_with_numba_and_exact() -> None:
    n = run("numpy", paths=40_000, seed=3)
    assert within(n.upper_hit_rate, n.upper_hit_rate_se, EXACT_U)
    assert within(n.lower_hit_rate, n.lower_hit_rate_se, EXACT_L)
    _agree(n, run("numba", paths=40_000, seed=3))
    nd, bd = run("numpy", "discrete", 40_000, 3), run("numba", "discrete", 40_000, 3)
    _agree(nd, bd)


@pytest.mark.needs_extra
def test_jax_backend_agrees() -> None:
    need_extra("jax", "gpu")
    j = run("jax", paths=40_000, seed=5)
    assert j.backend == "jax"
    assert within(j.upper_hit_rate, j.upper_hit_rate_se, EXACT_U)
    assert within(j.lower_hit_rate, j.lower_hit_rate_se, EXACT_L)
    _agree(j, run("numba", paths=40_000, seed=5))


def test_antithetic_is_unbiased_and_counts_pairs() -> None:
    r = run(antithetic=True, paths=100_001)
    assert r.paths == 100_002 and r.antithetic
    assert within(r.upper_hit_rate, r.upper_hit_rate_se, EXACT_U)
    assert within(r.lower_hit_rate, r.lower_hit_rate_se, EXACT_L)
    n = run("numpy", paths=20_000, antithetic=True)
    assert within(n.upper_hit_rate, n.upper_hit_rate_se, EXACT_U)


def test_seeds_reproduce_bitwise_and_do_not_depend_on_threads() -> None:
    a, b, c = run(seed=11, paths=30_000), run(seed=11, paths=30_000), run(seed=12, paths=30_000)
    assert np.array_equal(a.upper_hit_rate, b.upper_hit_rate) and np.array_equal(a.lower_hist, b.lower_hist)
    assert not np.array_equal(a.upper_hit_rate, c.upper_hit_rate)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        d = run(seed=11, paths=30_000)
    finally:
        numba.set_num_threads(n0)
    assert np.array_equal(a.upper_hit_rate, d.upper_hit_rate) and np.array_equal(a.upper_hist, d.upper_hist)
    e, f = run("numpy", seed=4, paths=5_000), run("numpy", seed=4, paths=5_000)
    assert np.array_equal(e.upper_hit_rate, f.upper_hit_rate)


def test_common_random_numbers_make_columns_monotone() -> None:
    au = np.linspace(0.25, 0.7, 10)
    al = np.linspace(0.15, 0.02, 10)
    r = simulate_hits(GBM(0.6), 0.2, au, al, horizon_hours=30 * 24, step_hours=12, paths=5_000, seed=1)
    # every path that reaches a farther barrier reached the nearer one first: exact monotonicity under CRN
    assert np.all(np.diff(r.upper_hit_rate) <= 1e-9) and np.all(np.diff(r.lower_hit_rate) <= 1e-9)


def test_median_hit_time_matches_first_passage_law() -> None:
    au = np.array([0.35])
    r = simulate_hits(GBM(0.7), 0.2, au, None, horizon_hours=30 * 24, step_hours=6, paths=100_000, seed=2)
    p_t = exact_upper(0.2, au, 0.7, 0.0, 30 / 365)[0]

    def f(days: float) -> float:
        return float(exact_upper(0.2, au, 0.7, 0.0, days / 365)[0]) - 0.5 * p_t

    med = optimize.brentq(f, 1e-3, 30.0)
    assert abs(float(r.median_upper_hit_days[0]) - med) < max(0.03 * med, 0.25)
    assert np.isnan(r.lower_hit_rate[0])  # no lower barrier in this column


def test_immediate_breach_counts_as_hit_at_time_zero() -> None:
    r = simulate_hits(GBM(0.5), 0.3, [0.3, 0.2], [0.3, np.nan], horizon_hours=48, step_hours=1, paths=1_000)
    assert np.all(r.upper_hit_rate == 1.0) and r.lower_hit_rate[0] == 1.0
    assert r.columns()[0]["upper_hit_days_median"] == 0.0


def test_full_state_funding_deterministic_hit_time() -> None:
    # sigma ~ 0: alpha_t = 1 - (1 - a0) / (1 + F_t), F_t = (1 - a0) f t -> t* = ((1-a0)/(1-aU) - 1) / ((1-a0) f)
    a0, au, f = 0.2, 0.3, 1e-3
    t_star = ((1 - a0) / (1 - au) - 1) / ((1 - a0) * f)  # 178.57 h
    m = FullState(sigma=1e-7, funding_per_hour=f)
    hit = simulate_hits(m, a0, [au], None, horizon_hours=240, step_hours=1, paths=100)
    assert hit.upper_hit_rate[0] == pytest.approx(1.0)
    assert abs(hit.upper_hit_quantile_hours(0.5)[0] - t_star) <= 1.0
    miss = simulate_hits(m, a0, [au], None, horizon_hours=168, step_hours=1, paths=100)
    assert miss.upper_hit_rate[0] == pytest.approx(0.0, abs=1e-12)


def test_funding_pushes_alpha_up_path_by_path() -> None:
    g = run(seed=9, paths=20_000)
    fs = run(seed=9, paths=20_000, model=FullState(SIGMA, funding_per_hour=2e-4, mu=MU))
    assert np.all(fs.upper_hit_rate >= g.upper_hit_rate - 1e-12)
    assert np.all(fs.lower_hit_rate <= g.lower_hit_rate + 1e-12)
    assert np.any(fs.upper_hit_rate > g.upper_hit_rate + 4 * g.upper_hit_rate_se)
    nfs = run("numpy", seed=9, paths=20_000, model=FullState(SIGMA, funding_per_hour=2e-4, mu=MU))
    _agree(nfs, fs)


def random_walk_hit(n_steps: int, k_barrier: int) -> float:
    """P(max_{k<=n} S_k >= k_barrier) for a symmetric +-1 walk, by dynamic programming over (position, hit)."""
    probs = {0: 1.0}
    hit = 0.0
    for _ in range(n_steps):
        nxt: dict[int, float] = {}
        for pos, p in probs.items():
            for step in (-1, 1):
                q = pos + step
                if q >= k_barrier:
                    hit += 0.5 * p
                else:
                    nxt[q] = nxt.get(q, 0.0) + 0.5 * p
        probs = nxt
    return hit


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_bootstrap_paths_match_exact_random_walk(backend: str) -> None:
    d = 0.01
    m = Bootstrap(np.array([d, -d]), interval_hours=1.0, stress=1.0, demean=False)  # symmetric, no drift
    # barriers at 2.5 d above (alpha_L, a rise) and 2.5 d below (alpha_U, a fall): hit iff |walk| reaches 3
    bl = 2.5 * d
    al = 1 - (1 - A0) * math.exp(bl)
    au = 1 - (1 - A0) * math.exp(-bl)
    r = simulate_hits(m, A0, [au], [al], horizon_hours=10, step_hours=1, paths=60_000, seed=1,
                      backend=backend, monitoring="discrete")  # type: ignore[arg-type]
    ref = random_walk_hit(10, 3)
    assert abs(r.lower_hit_rate[0] - ref) < 4 * r.lower_hit_rate_se[0]
    assert abs(r.upper_hit_rate[0] - ref) < 4 * r.upper_hit_rate_se[0]


def test_bootstrap_paired_funding_is_resampled_with_its_return() -> None:
    # returns are zero; funding f on every bar -> the deterministic funding-only hit time t*
    a0, au, f = 0.2, 0.3, 1e-3
    m = Bootstrap(np.zeros(50), funding=np.full(50, f), demean=False)
    r = simulate_hits(m, a0, [au], None, horizon_hours=240, step_hours=1, paths=50, monitoring="discrete")
    t_star = ((1 - a0) / (1 - au) - 1) / ((1 - a0) * f)
    assert r.upper_hit_rate[0] == 1.0 and abs(r.upper_hit_quantile_hours(0.5)[0] - t_star) <= 1.0
    const = Bootstrap(np.zeros(50), demean=False, funding_per_hour=f)  # constant-rate alternative
    rc = simulate_hits(const, a0, [au], None, horizon_hours=240, step_hours=1, paths=50, monitoring="discrete")
    assert rc.upper_hit_quantile_hours(0.5)[0] == r.upper_hit_quantile_hours(0.5)[0]


def test_bootstrap_demean_and_stress() -> None:
    m = Bootstrap(np.array([0.03, -0.01]), stress=2.0, demean=True)
    assert np.allclose(m.pool, [0.04 - 0.0008, -0.04 - 0.0008])  # demeaned, stressed, centred at -v/2
    assert np.mean(np.exp(m.pool)) == pytest.approx(1.0, abs=1e-6)  # zero price drift to second order
    assert np.allclose(Bootstrap(np.array([0.03, -0.01]), stress=2.0, demean=False).pool, [0.06, -0.02])


@pytest.mark.parametrize("call", [
    lambda: simulate_hits(GBM(0.5), 0.2, [0.4], None, horizon_hours=10, step_hours=3),  # not a multiple
    lambda: simulate_hits(GBM(0.5), 0.2, [0.4], None, horizon_hours=10, backend="cuda"),  # type: ignore[arg-type]
    lambda: simulate_hits(GBM(0.5), 1.2, [0.4], None, horizon_hours=10),
    lambda: simulate_hits(GBM(0.5), 0.2, [1.4], None, horizon_hours=10),
    lambda: simulate_hits(GBM(0.5), 0.2, [0.4, 0.5], [0.1], horizon_hours=10),
    lambda: simulate_hits(Bootstrap(np.array([0.1, -0.1])), 0.2, [0.4], None, horizon_hours=10, antithetic=True),
    lambda: simulate_hits(Bootstrap(np.array([0.1, -0.1]), interval_hours=1), 0.2, [0.4], None,
                          horizon_hours=8, step_hours=4),
    lambda: GBM(-0.1),
    lambda: Bootstrap(np.array([0.1, np.nan, 0.2])),
    lambda: FullState(0.5, funding_per_hour=0.5),
])
def test_bad_inputs_raise_domain_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelDomainError):
        call()


def test_ziggurat_normals_have_the_normal_law() -> None:
    z = normals_nb(1_000_000, chunk_states(123, 1)[0].copy(), ZIG_X, ZIG_RATIO)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4e-3 and abs(z.var() - 1) < 6e-3
    tail = np.mean(np.abs(z) > 3.5)
    p = 2 * stats.norm.sf(3.5)
    assert abs(tail - p) < 4 * math.sqrt(p / z.size)  # the tail algorithm beyond R = 3.44 works
    s1, s2 = chunk_states(5, 3), chunk_states(5, 3)
    assert np.array_equal(s1, s2) and len({tuple(r) for r in s1}) == 3


def test_result_serialisation() -> None:
    r = run(paths=2_000)
    d = r.to_dict()
    assert d["paths"] == 2_000 and d["steps"] == 20 and len(d["columns"]) == 3  # type: ignore[arg-type]
    assert r.path_steps_per_s > 0 and "alpha_U" in r.summary()
    assert list(r.to_frame().columns)[:2] == ["alpha_upper", "alpha_lower"]



TWIN_SCRIPT = """
import sys, warnings
import numpy as np
from basisctl.simulate import FullState
from basisctl.simulate._rng import ZIG_RATIO, ZIG_X, chunk_states
from basisctl.simulate.kernels import hits_kernel_nb
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around is intended in Python mode
a0, au, al = 0.2, np.array([0.28, 0.36, 0.45]), np.array([0.12, 0.08, 0.03])
sp = FullState(0.9, funding_per_hour=1e-4).step_params(6.0)
bu, bl = np.log((1 - au) / (1 - a0)), np.log((1 - al) / (1 - a0))
sums, hist = np.zeros((2, 4, 3)), np.zeros((2, 2, 3, 41))
hits_kernel_nb(0, 2, 3, 6, 2, chunk_states(1, 2), sp.kind, sp.drift, sp.vol, sp.bridge_var, sp.returns,
               sp.funding, sp.funding_const, 1 - a0, bu, bl, 40, True, ZIG_X, ZIG_RATIO, sums, hist)
np.save(sys.argv[1], np.concatenate([sums.ravel(), hist.ravel()]))
"""


def test_compiled_kernel_matches_its_python_twin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """BASISCTL_DISABLE_JIT=1 runs the same kernel source as plain Python: same streams, same numbers."""
    import os
    import subprocess
    import sys

    out = {}
    for flag in ("0", "1"):
        f = tmp_path / f"twin{flag}.npy"
        env = {**os.environ, "BASISCTL_DISABLE_JIT": flag}
        subprocess.run([sys.executable, "-c", TWIN_SCRIPT, str(f)], env=env, check=True, timeout=120)
        out[flag] = np.load(f)
    assert out["0"].sum() > 0
    np.testing.assert_allclose(out["0"], out["1"], rtol=1e-10, atol=1e-14)


@pytest.mark.needs_extra
def test_jax_unrolled_scan_gives_the_same_numbers() -> None:
    need_extra("jax", "gpu")
    from basisctl.simulate.jax_backend import run_jax
    from basisctl.simulate.models import log_barriers

    sp = GBM(SIGMA, MU).step_params(24.0)
    bu, bl = log_barriers(A0, AU, AL)
    a = run_jax(sp, 5_000, 2, bu, bl, 1 - A0, 20, True, 5, None, unroll=1)
    b = run_jax(sp, 5_000, 2, bu, bl, 1 - A0, 20, True, 5, None, unroll=8)  # the accelerator setting
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("antithetic", [False, True])
def test_upper_hits_stay_exact_while_a_tracked_lower_band_dies(antithetic):
    """With alpha_L tracked the kernel's safe zone starts narrow and widens once alpha_L is hit; the alpha_U hit
    rates must still match the exact first-passage law (eq. 31 mapping: a price fall to ln((1-aU)/(1-a0)))."""
    import math

    from basisctl.model.static import hit_probability_log_barrier
    from basisctl.simulate.engine import simulate_hits
    from basisctl.simulate.models import GBM

    sigma, a0, days = 0.7, 0.15, 30.0
    res = simulate_hits(GBM(sigma, 0.0), a0, [0.3, 0.4], [0.08, 0.08], horizon_hours=days * 24, step_hours=1.0,
                        paths=40_000, seed=11, backend="numba", monitoring="continuous", antithetic=antithetic)
    cols = res.columns()
    assert cols[0]["lower_hit_rate"] > 0.3  # alpha_L is hit often, so the zone does widen
    for au, c in zip([0.3, 0.4], cols, strict=True):
        b = math.log((1 - au) / (1 - a0))
        exact = float(hit_probability_log_barrier(-b, sigma, days / 365.0, sigma * sigma))
        assert abs(c["upper_hit_rate"] - exact) <= 4 * c["upper_hit_rate_se"] + 1e-4
