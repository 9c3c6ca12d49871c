"""Independent review of the path study's statistics and guards (issue 18).

Reference implementations are written here from the issue text (scipy closed forms, brute force, enumeration)
and compared with ``basisctl.study``; the guard tests pin the defects found in review."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import stats as sst

from basisctl.study import stats as S
from basisctl.study.run import decide
from basisctl.study.studyfile import StudyFileError, load_study, parse_study


# ------------------------------------------------------------------------------------------------ references
def _cp(k: int, n: int, level: float) -> tuple[float, float]:
    a = 1 - level
    lo = 0.0 if k == 0 else sst.beta.ppf(a / 2, k, n - k + 1)
    hi = 1.0 if k == n else sst.beta.ppf(1 - a / 2, k + 1, n - k)
    return float(lo), float(hi)


def _garwood(k: int, t: float, level: float) -> tuple[float, float]:
    a = 1 - level
    lo = 0.0 if k == 0 else sst.chi2.ppf(a / 2, 2 * k) / (2 * t)
    return float(lo), float(sst.chi2.ppf(1 - a / 2, 2 * k + 2) / (2 * t))


def _cscv(perf: np.ndarray, s: int) -> float:
    t, n = perf.shape
    blocks = np.array_split(np.arange(t), s)
    lam = []
    for comb in combinations(range(s), s // 2):
        i = np.concatenate([blocks[j] for j in comb])
        o = np.concatenate([blocks[j] for j in range(s) if j not in comb])
        best = int(np.argmax(perf[i].mean(0)))
        w = sst.rankdata(perf[o].mean(0))[best] / (n + 1)
        lam.append(np.log(w / (1 - w)))
    return float(np.mean(np.asarray(lam) <= 0))


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (5, 1000)])
@pytest.mark.parametrize("level", [0.90, 0.95])
def test_clopper_pearson_matches_beta_quantiles(k: int, n: int, level: float) -> None:
    assert np.allclose(S.clopper_pearson(k, n, level), _cp(k, n, level), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("k", "t"), [(0, 1.0), (1, 1.0), (5, 2.5), (0, 0.3), (100, 50.0)])
def test_garwood_matches_chi2_quantiles(k: int, t: float) -> None:
    assert np.allclose(S.garwood(k, t, 0.9), _garwood(k, t, 0.9), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("b", "c"), [(0, 5), (5, 0), (3, 7), (10, 10), (1, 30)])
def test_mcnemar_is_the_exact_binomial_on_discordant_pairs(b: int, c: int) -> None:
    assert S.mcnemar_exact(b, c) == pytest.approx(sst.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    assert S.mcnemar_exact(0, 0) == 1.0


def test_cluster_bootstrap_equals_brute_force_whole_cluster_resampling() -> None:
    """Six windows of three assets: the CI of the mean paired difference is the percentile CI of resampling
    whole windows (6 of 6 with replacement), not of the 18 asset rows."""
    rng = np.random.default_rng(1)
    cl = np.repeat(np.arange(6), 3)
    d = rng.normal(size=18) + np.repeat(rng.normal(size=6) * 3, 3)  # strong window effect
    est, lo, hi = S.ratio_ci(d, np.ones(18), cl, 0.9, 20000, 3)
    r2 = np.random.default_rng(7)
    means = [d[np.concatenate([np.flatnonzero(cl == p) for p in r2.integers(0, 6, 6)])].mean()
             for _ in range(20000)]
    blo, bhi = np.quantile(means, [0.05, 0.95])
    assert est == pytest.approx(d.mean())
    assert lo == pytest.approx(blo, abs=0.05 * (bhi - blo)) and hi == pytest.approx(bhi, abs=0.05 * (bhi - blo))
    # row resampling would be much narrower: the window is the unit
    rows = [d[r2.integers(0, 18, 18)].mean() for _ in range(5000)]
    assert (hi - lo) > 1.3 * float(np.subtract(*np.quantile(rows, [0.95, 0.05])))


def test_ratio_ci_edge_cases() -> None:
    assert np.isnan(S.ratio_ci(np.array([1.0, 2.0]), np.ones(2), np.array([0, 0]))[1])  # one window: no CI
    assert S.ratio_ci(np.zeros(6), np.ones(6), np.arange(6)) == (0.0, 0.0, 0.0)  # identical rules
    est, lo, hi = S.ratio_ci(np.array([1.0, np.nan, 2, 3, 1, 2]), np.ones(6), np.arange(6))
    assert np.isnan(est) and np.isnan(lo) and np.isnan(hi)  # a NaN row is unknown, never dropped


def test_wilcoxon_on_cluster_means_with_ties_and_zeros() -> None:
    m = np.array([0, 0, 1, 1, -1, 2, 2, 2, -3, 4.0, 5, 5])
    assert S.wilcoxon_p(m, np.arange(12)) == pytest.approx(sst.wilcoxon(m[m != 0]).pvalue)
    # rows of one window are averaged first: duplicating a window's rows does not add evidence
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, -0.2, 0.6])
    assert S.wilcoxon_p(np.repeat(d, 2), np.repeat(np.arange(7), 2)) == pytest.approx(sst.wilcoxon(d).pvalue)
    assert S.wilcoxon_p(np.zeros(5), np.arange(5)) == 1.0
    assert np.isnan(S.wilcoxon_p(np.array([1.0, np.nan, 2, 3]), np.arange(4)))


def test_pbo_equals_enumerated_cscv() -> None:
    rng = np.random.default_rng(2)
    p = rng.normal(size=(16, 4))
    assert S.pbo_cscv(p, 8) == pytest.approx(_cscv(p, 8))
    assert S.pbo_cscv(np.tile(np.arange(4.0), (16, 1)), 8) == 0.0  # one config always best: no overfitting
    p3 = np.zeros((8, 2))
    p3[:4, 0], p3[4:, 1] = 1.0, 1.0  # in-sample winner is the out-of-sample loser
    assert S.pbo_cscv(p3, 2) == 1.0


def test_decision_rule_strict_and_nan_never_prefers() -> None:
    p = {"a": {"d_ret_ci": [0.0, 0.1], "d_liq_rate_ci": [-1.0, 0.0], "d_ret_mean": 0.05},  # CI touches 0
         "b": {"d_ret_ci": [1e-9, 0.1], "d_liq_rate_ci": [1e-9, 0.1], "d_ret_mean": 0.05},  # more liquidations
         "c": {"d_ret_ci": [float("nan")] * 2, "d_liq_rate_ci": [-1.0, 0.0], "d_ret_mean": 0.9}}  # one window
    assert decide(p) == ("paper", [])
    p["d"] = {"d_ret_ci": [1e-9, 0.1], "d_liq_rate_ci": [0.0, 0.1], "d_ret_mean": 0.01}
    assert decide(p) == ("d", ["d"])


# ------------------------------------------------------------------------------------------ defects found
def test_study_hash_changes_with_every_override() -> None:
    """The hash identifies the study that ran: a candidate/setting override (``--paths``, ``--window``, the
    tests' ``with_``) must not print the default file's hash."""
    st = load_study()
    assert st.with_(candidates=("paper", "hold")).sha256 != st.sha256
    assert st.with_(paths=10).sha256 != st.sha256
    assert st.with_(window="6M").sha256 != st.with_(window="1Y").sha256
    assert st.with_(paths=st.paths).sha256 == st.sha256  # no change, same hash
    assert st.with_(paths=10).sha256 == st.with_(paths=10).sha256  # deterministic


def test_decision_rule_text_must_be_the_rule_the_verdict_applies() -> None:
    """The output prints the study file's rule next to the verdict; a different rule text would be printed with a
    verdict it did not produce."""
    from importlib import resources

    text = resources.files("basisctl.study").joinpath("default_study.toml").read_bytes()
    bad = text.replace(b"and the d_liq_rate CI is not above 0", b"and the d_liq_rate CI is below 0")
    assert bad != text
    with pytest.raises(StudyFileError, match=r"\[decision\] rule"):
        parse_study(bad, "x.toml")
    parse_study(text, "ok.toml")  # the default parses


def test_pbo_of_identical_configurations_is_undefined_not_one() -> None:
    """A tuning grid whose settings never change the result gives every configuration the same out-of-sample
    rank (the median, logit 0), which the <= 0 count read as PBO = 1 ("certainly overfit")."""
    c = np.random.default_rng(0).normal(size=(16, 1))
    assert np.isnan(S.pbo_cscv(np.tile(c, (1, 4)), 8))
    p = np.tile(c, (1, 4))
    p[:, 3] += 0.01 * np.random.default_rng(1).normal(size=16)  # one differing setting: defined again
    assert 0.0 <= S.pbo_cscv(p, 8) <= 1.0


def test_spa_candidate_identical_to_paper_is_not_significant() -> None:
    """arch's SPA studentises by each difference's variance; a candidate identical to the benchmark (variance 0)
    came back with p = 0, i.e. "beats paper after snooping adjustment"."""
    pytest.importorskip("arch", reason="needs the [study] extra")
    rng = np.random.default_rng(1)
    b = rng.normal(size=200)
    worse = b - 0.05 + 0.1 * rng.normal(size=200)
    assert S.spa_pvalue(b, np.c_[b], 500, 0) == 1.0
    assert S.spa_pvalue(b, np.c_[b - 0.01], 500, 0) == 1.0
    assert S.spa_pvalue(b, np.c_[b, worse], 500, 0) > 0.2
    assert S.spa_pvalue(b, np.c_[b + 0.01], 500, 0) == 0.0
    better = b + 0.5 + 0.1 * rng.normal(size=200)
    assert S.spa_pvalue(b, np.c_[b, better], 500, 0) < 0.01  # a planted edge is still found


def test_mcs_keeps_identical_rules_together_instead_of_failing() -> None:
    """arch's MCS raised IndexError on two identical columns; the study then printed an empty confidence set."""
    pytest.importorskip("arch", reason="needs the [study] extra")
    rng = np.random.default_rng(1)
    b = rng.normal(size=200)
    bad = b - 0.5 + 0.1 * rng.normal(size=200)
    assert S.mcs_included(np.c_[b, b, bad], ["p", "h", "w"], 0.9, 500, 0) == ["p", "h"]
    assert S.mcs_included(np.c_[bad, b, b], ["w", "p", "h"], 0.9, 500, 0) == ["p", "h"]
    assert S.mcs_included(np.c_[b, b], ["p", "h"], 0.9, 500, 0) == ["p", "h"]
    good = b + 0.5 + 0.1 * rng.normal(size=200)
    assert S.mcs_included(np.c_[b, good], ["p", "x"], 0.9, 500, 0) == ["x"]


def test_liquidation_rate_has_a_cluster_ci_when_crashes_hit_every_asset() -> None:
    """Garwood assumes independent paths; when a crash liquidates all four assets of a path index at once its 90 %
    CI covers the true rate about half the time. ``liq_rate_ci_cluster`` resamples whole clusters."""
    import pandas as pd

    from basisctl.study.run import rule_stats

    rng = np.random.default_rng(0)
    cov_g = cov_c = 0
    for r in range(60):
        crash = np.repeat(rng.random(2000) < 0.01, 4).astype(float)
        g = pd.DataFrame({"liquidations": crash, "years": 1.0, "cluster": np.repeat(np.arange(2000), 4),
                          "ret": 0.0, "apy": 0.0, "max_drawdown": 0.0, "turnover": 0.0, "rebalances": 0.0})
        s = rule_stats(g, 0.9, 400, r)
        cov_g += s["liq_rate_ci"][0] <= 0.01 <= s["liq_rate_ci"][1]
        cov_c += s["liq_rate_ci_cluster"][0] <= 0.01 <= s["liq_rate_ci_cluster"][1]
    assert cov_g / 60 < 0.75 < cov_c / 60
