"""The study's statistics against closed forms, brute force and known values."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy import stats as sst

from basisctl.study import stats
from tests.skips import need_extra


def test_clopper_pearson_closed_forms() -> None:
    # k = 0: upper = 1 - (a/2)^(1/n); k = n: lower = (a/2)^(1/n)
    lo, hi = stats.clopper_pearson(0, 20, 0.90)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.05 ** (1 / 20), rel=1e-12)
    lo, hi = stats.clopper_pearson(20, 20, 0.90)
    assert hi == 1.0 and lo == pytest.approx(0.05 ** (1 / 20), rel=1e-12)
    # the bounds are where the binomial tails equal a/2
    lo, hi = stats.clopper_pearson(7, 40, 0.90)
    assert sst.binom.sf(6, 40, lo) == pytest.approx(0.05, rel=1e-8)
    assert sst.binom.cdf(7, 40, hi) == pytest.approx(0.05, rel=1e-8)


def test_garwood_closed_forms_and_coverage() -> None:
    lo, hi = stats.garwood(0, 10.0, 0.90)
    assert lo == 0.0 and hi == pytest.approx(-np.log(0.05) / 10.0, rel=1e-10)  # chi2(0.95, 2)/2 = -ln 0.05
    lo, hi = stats.garwood(5, 2.0, 0.90)
    assert sst.poisson.sf(4, lo * 2.0) == pytest.approx(0.05, rel=1e-8)
    assert sst.poisson.cdf(5, hi * 2.0) == pytest.approx(0.05, rel=1e-8)
    # exact intervals cover at least their level (Monte Carlo over a Poisson rate)
    rng = np.random.default_rng(0)
    ks = rng.poisson(3.0 * 1.5, 4000)
    ci = {int(k): stats.garwood(int(k), 1.5) for k in np.unique(ks)}
    cover = np.mean([ci[int(k)][0] <= 3.0 <= ci[int(k)][1] for k in ks])
    assert cover >= 0.90


def test_mcnemar_exact_is_the_binomial_test() -> None:
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(0, 6) == pytest.approx(2 * 0.5**6)
    assert stats.mcnemar_exact(2, 9) == pytest.approx(sst.binomtest(2, 11).pvalue)


def test_cluster_bootstrap_resamples_whole_clusters() -> None:
    """Two rows per cluster that always move together: the CI of the mean equals the one from one row per cluster
    (whole clusters are drawn), and a constant difference gives a degenerate CI at that constant."""
    rng = np.random.default_rng(1)
    c = rng.standard_normal(30)
    x = np.repeat(c, 2)
    cl = np.repeat(np.arange(30), 2)
    e1, lo1, hi1 = stats.ratio_ci(x, np.ones(60), cl, 0.9, 4000, 3)
    e2, lo2, hi2 = stats.ratio_ci(c, np.ones(30), np.arange(30), 0.9, 4000, 3)
    assert e1 == pytest.approx(e2) and lo1 == pytest.approx(lo2) and hi1 == pytest.approx(hi2)
    e, lo, hi = stats.ratio_ci(np.full(10, 0.25), np.ones(10), np.arange(10))
    assert e == lo == hi == pytest.approx(0.25)


def test_cluster_bootstrap_ci_matches_normal_theory() -> None:
    rng = np.random.default_rng(2)
    d = rng.normal(0.1, 1.0, 400)
    _, lo, hi = stats.ratio_ci(d, np.ones(400), np.arange(400), 0.9, 4000, 0)
    se = d.std(ddof=1) / 20.0
    assert lo == pytest.approx(d.mean() - 1.645 * se, abs=0.3 * se)
    assert hi == pytest.approx(d.mean() + 1.645 * se, abs=0.3 * se)


def test_wilcoxon_on_cluster_means() -> None:
    d = np.array([1.0, 3.0, -2.0, 5.0, 4.0, 6.0, -1.0, 2.0])
    cl = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    assert stats.wilcoxon_p(d, cl) == pytest.approx(sst.wilcoxon([2.0, 1.5, 5.0, 0.5]).pvalue)
    assert stats.wilcoxon_p(np.zeros(6), np.arange(6)) == 1.0


def _pbo_brute(perf: np.ndarray, s: int) -> float:
    t, k = perf.shape
    blocks = np.array_split(np.arange(t), s)
    vals = []
    for mask in product([0, 1], repeat=s):
        if sum(mask) != s // 2:
            continue
        ins = np.concatenate([blocks[j] for j in range(s) if mask[j]])
        oos = np.concatenate([blocks[j] for j in range(s) if not mask[j]])
        best = np.argmax(perf[ins].mean(0))
        o = perf[oos].mean(0)
        rank = sst.rankdata(o)[best]
        vals.append(rank / (k + 1) <= 0.5)
    return float(np.mean(vals))


def test_pbo_cscv_against_brute_force_and_limits() -> None:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((64, 6))
    assert stats.pbo_cscv(noise, 8) == pytest.approx(_pbo_brute(noise, 8))
    # one configuration truly better everywhere: never overfit
    good = noise.copy()
    good[:, 2] += 5.0
    assert stats.pbo_cscv(good, 8) == 0.0
    # pure noise: the in-sample winner is a random draw out of sample, so PBO averages 1/2
    mean_pbo = np.mean([stats.pbo_cscv(rng.standard_normal((80, 10)), 8) for _ in range(30)])
    assert 0.35 < mean_pbo < 0.65


@pytest.mark.needs_extra
def test_spa_detects_a_real_edge_and_not_noise() -> None:
    need_extra("arch", "study")
    rng = np.random.default_rng(4)
    base = rng.standard_normal(300)
    noise = base[:, None] + 0.5 * rng.standard_normal((300, 4))
    assert stats.spa_pvalue(base, noise, 1000, 0) > 0.1
    edge = noise.copy()
    edge[:, 1] += 0.3
    assert stats.spa_pvalue(base, edge, 1000, 0) < 0.01
