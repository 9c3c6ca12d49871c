"""The study's decision rule with its safety-first amendment (docs/rules.md "Decision rule"), on hand-built paired
dicts whose verdict is known, and end to end through ``block`` on hand-built (rule, path) rows."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from basisctl.study.run import add_liq_vs, block, decide, safety_dropped
from basisctl.study.studyfile import DECISION_RULE, DECISION_RULE_V1, StudyFileError, load_study, parse_study
from tests.skips import need_extra

NAN = float("nan")


def _p(d_ret: float, ret_lo: float, liq_lo: float, vs: dict[str, list[float]] | None = None) -> dict[str, object]:
    """One candidate against paper: mean d_ret, lower d_ret CI bound, lower d_liq_rate CI bound (uppers filler),
    and its paired liquidation-rate CIs against the other candidates."""
    out: dict[str, object] = {"d_ret_mean": d_ret, "d_ret_ci": [ret_lo, ret_lo + 1.0],
                              "d_liq_rate_ci": [liq_lo, liq_lo + 1.0]}
    if vs is not None:
        out["d_liq_rate_ci_vs"] = vs
    return out


def test_clause_flips_the_seed5_verdict() -> None:
    """The planted up-jumps world, seed 5 (docs/rules.md): `fixed_leverage` (0.32 liquidations/path-yr, not
    significantly more than paper) out-earns the never-liquidated `optimal` by 0.09 pp; both are preferred over
    paper. Its liquidation rate minus optimal's has a CI above 0, so the amended rule drops it and `optimal` wins;
    the rule as first registered picks `fixed_leverage`."""
    paired = {
        "fixed_leverage": _p(0.0178, 0.004, -0.12, {"optimal": [0.21, 0.45]}),
        "optimal": _p(0.0169, 0.003, -0.33, {"fixed_leverage": [-0.45, -0.21]}),
        "periodic": _p(0.0100, 0.001, 0.60),  # liquidated more than paper: not preferred, never compared
        "paper_fhs": _p(-0.008, -0.01, -0.33),  # earns less than paper: not preferred
    }
    assert decide(paired) == ("optimal", ["fixed_leverage", "optimal"])
    assert safety_dropped(paired, ["fixed_leverage", "optimal"]) == ["fixed_leverage"]
    assert decide(paired, safety_first=False) == ("fixed_leverage", ["fixed_leverage", "optimal"])


def test_clause_keeps_the_verdict_when_liquidation_rates_do_not_separate() -> None:
    """The higher earner's liquidation CI against the other touches/covers 0 (lower bound 0 is "not above"): nothing
    is dropped and the largest mean d_ret wins under both rules; the same when the higher earner is the safer one."""
    paired = {"a": _p(0.02, 0.01, -0.1, {"b": [0.0, 0.3]}), "b": _p(0.01, 0.005, -0.2, {"a": [-0.3, 0.0]})}
    assert safety_dropped(paired, ["a", "b"]) == []
    assert decide(paired) == decide(paired, safety_first=False) == ("a", ["a", "b"])
    safer = {"a": _p(0.02, 0.01, -0.1, {"b": [-0.5, -0.1]}), "b": _p(0.01, 0.005, -0.2, {"a": [0.1, 0.5]})}
    assert decide(safer) == ("a", ["a", "b"]) and safety_dropped(safer, ["a", "b"]) == ["b"]


def test_clause_is_simultaneous_and_only_among_the_preferred() -> None:
    """a > b > c in liquidations (each significantly), a and c not separated: a and b both go (b although a,
    dropped too, is the one it would have beaten), c wins although it earns least; a candidate that is not
    preferred (never liquidated, but no return edge) drops nobody; a NaN CI (one cluster) drops nobody."""
    paired = {
        "a": _p(0.03, 0.01, -0.1, {"b": [0.1, 0.2], "c": [-0.1, 0.3]}),
        "b": _p(0.02, 0.01, -0.1, {"a": [-0.2, -0.1], "c": [0.05, 0.2]}),
        "c": _p(0.01, 0.01, -0.1, {"a": [-0.3, 0.1], "b": [-0.2, -0.05]}),
        "z": _p(0.05, -0.01, -0.5),  # best mean, lowest liquidations, but its d_ret CI covers 0
    }
    assert decide(paired) == ("c", ["a", "b", "c"])
    assert safety_dropped(paired, ["a", "b", "c"]) == ["a", "b"]
    assert decide({k: paired[k] for k in ("c", "b", "a", "z")})[0] == "c"  # order of the candidates irrelevant
    nan = {"a": _p(0.02, 0.01, -0.1, {"b": [NAN, NAN]}), "b": _p(0.01, 0.01, -0.1, {"a": [NAN, NAN]})}
    assert decide(nan) == ("a", ["a", "b"])


def test_clause_refuses_a_missing_comparison_and_a_lone_candidate_needs_none() -> None:
    paired = {"a": _p(0.02, 0.01, -0.1, {}), "b": _p(0.01, 0.01, -0.1, {"a": [0.0, 0.1]})}
    with pytest.raises(KeyError, match="a against b"):
        decide(paired)
    assert decide({"a": _p(0.02, 0.01, -0.1)}) == ("a", ["a"])  # one preferred: nothing to compare
    contradictory = {"a": _p(0.02, 0.01, -0.1, {"b": [0.1, 0.2]}), "b": _p(0.01, 0.01, -0.1, {"a": [0.1, 0.2]})}
    assert decide(contradictory) == ("paper", ["a", "b"])  # cannot come out of one bootstrap; paper if it did


def test_study_files_state_the_rule_they_apply() -> None:
    """Both packaged studies state the amended rule; a file registered with the first rule keeps it (and its
    verdict); any other text is refused."""
    for name in ("default", "regime"):
        st = load_study(name)
        assert " ".join(st.decision_rule.split()) == DECISION_RULE and st.safety_first
    text = resources.files("basisctl.study").joinpath("default_study.toml").read_bytes()
    start = text.index(b'rule = """')
    end = text.index(b'"""', start + 10) + 3
    v1 = parse_study(text[:start] + f'rule = "{DECISION_RULE_V1}"'.encode() + text[end:], "v1.toml")
    assert not v1.safety_first and v1.sha256 != load_study().sha256
    with pytest.raises(StudyFileError, match=r"\[decision\] rule"):
        parse_study(text.replace(b"minus another preferred", b"minus every preferred"), "x.toml")


def _rows(n_clusters: int = 40) -> pd.DataFrame:
    """Hand-built (rule, path) rows, 2 assets per cluster, one-year paths: `lev` earns 2 % a path over paper and
    is liquidated exactly once more than `safe` on every path (once: no more than paper, liquidated once on every
    path and twice on every third cluster); `safe` earns 1 % over paper and is never liquidated."""
    rng = np.random.default_rng(3)
    recs = []
    for c in range(n_clusters):
        for a in ("BTC", "ETH"):
            base = 0.05 + 0.01 * rng.normal()
            cases = (("paper", base, 1 + (c % 3 == 0)), ("safe", base + 0.01, 0), ("lev", base + 0.02, 1))
            for rule, ret, liq in cases:
                recs.append({"rule": rule, "asset": a, "path": f"fhs {c}", "cluster": f"fhs {c}", "kind": "simulated",
                             "ret": ret, "apy": ret, "ret_funding": 0.05, "liquidations": float(liq), "years": 1.0,
                             "max_drawdown": -0.01, "turnover": 1.0, "rebalances": 1.0})
    return pd.DataFrame(recs)


def test_block_computes_the_paired_liquidation_cis_and_applies_the_clause() -> None:
    """End to end through ``block``: `lev` minus `safe` is exactly +1 liquidation per path-year on every path, so
    its paired CI is [1, 1] (closed form) and `lev` is dropped though it earns more; under the first rule it wins."""
    need_extra("arch", "study")
    rows = _rows()
    st = load_study().with_(candidates=("paper", "safe", "lev"), bootstrap_reps=500)
    b = block(rows, st, False)
    assert b["preferred"] == ["safe", "lev"] and b["dropped_by_safety"] == ["lev"] and b["verdict"] == "safe"
    assert b["paired"]["lev"]["d_liq_rate_ci_vs"]["safe"] == pytest.approx([1.0, 1.0])
    assert b["paired"]["safe"]["d_liq_rate_ci_vs"]["lev"] == pytest.approx([-1.0, -1.0])
    assert b["paired"]["lev"]["d_liq_rate_ci"][0] <= 0  # preferred over paper: not significantly more than paper
    v1 = st.with_(decision_rule=DECISION_RULE_V1)
    b1 = block(rows, v1, False)
    assert b1["verdict"] == "lev" and b1["dropped_by_safety"] == []
    assert "d_liq_rate_ci_vs" not in b1["paired"]["lev"]  # the first rule does not compute them


def test_add_liq_vs_matches_a_hand_computed_rate_difference() -> None:
    rows = _rows(10)
    rows.loc[(rows["rule"] == "lev") & (rows["path"] == "fhs 0"), "liquidations"] = 5.0  # 4 more on two paths
    paired: dict[str, dict[str, object]] = {"lev": {}, "safe": {}}
    add_liq_vs(paired, rows, ["lev", "safe"], 0.9, 200, 0)
    # 20 path-years: lev 20 + 2*4 = 28 liquidations, safe 0 -> 1.4 per path-year
    assert paired["lev"]["d_liq_rate_vs"] == {"safe": pytest.approx(28 / 20)}
    assert paired["safe"]["d_liq_rate_vs"] == {"lev": pytest.approx(-28 / 20)}
