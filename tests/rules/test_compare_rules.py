"""compare-rules: no look-ahead, hand-computed outcomes of the hold and periodic baselines, row contract, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.backtest.costs import CostModel
from basisctl.backtest.engine import BacktestConfig, run_backtest
from basisctl.backtest.experiment import Period
from basisctl.backtest.rule import RuleSpec
from basisctl.cli.main import app
from basisctl.rules.builders import DEFAULT_RULES, RULES, build_rule
from basisctl.rules.compare import ROW_KEYS, block_indices, compare_rules
from tests.backtest._bt_synth import make_data, make_rule

runner = CliRunner()
START = pd.Timestamp("2024-01-01", tz="UTC")
SPEC = RuleSpec(l_max=40.0)


def _series(seed: int = 3, days: int = 800) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly GBM candles and hourly funding from START - 2 years + a bit, through ~70 days after START."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(START - pd.Timedelta(days=days - 70), periods=days * 24, freq="1h")
    x = np.cumsum(0.6 / np.sqrt(8760) * rng.standard_normal(ts.size))
    close = 100.0 * np.exp(x)
    op = np.r_[close[0], close[:-1]]
    c = pd.DataFrame({"ts": ts, "open": op, "high": np.maximum(op, close) * 1.001,
                      "low": np.minimum(op, close) * 0.999, "close": close, "volume": 1.0})
    f = pd.DataFrame({"ts": ts + pd.Timedelta(hours=1), "rate": 1e-5 + 5e-6 * rng.standard_normal(ts.size),
                      "interval_hours": 1.0})
    return c, f


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_rules_do_not_change_when_data_after_the_calibration_end_changes() -> None:
    c, f = _series()
    per = [Period("TST", "2024-01-01", "2024-02-15", "w")]
    a = compare_rules(per, ["file"], DEFAULT_RULES, prices=c, funding=f, cost_bps=20.0, spec=SPEC)
    c2, f2 = c.copy(), f.copy()
    after = c2["ts"] >= START
    for col in ("open", "high", "low", "close"):
        c2.loc[after, col] *= 1.3
    f2.loc[f2["ts"] > START, "rate"] *= -5.0
    b = compare_rules(per, ["file"], DEFAULT_RULES, prices=c2, funding=f2, cost_bps=20.0, spec=SPEC)
    for key, rule in a.rules.items():
        assert rule.to_dict() == b.rules[key].to_dict(), key
    # ...while the test-window outcome does change (the perturbation is real)
    assert a.rows[0]["apy"] != b.rows[0]["apy"]
    # and the calibration ends at the window start
    assert all(pd.Timestamp(r.calib_to) == START for r in a.rules.values())


def _jump_path(n: int = 400, jump_at: int = 100) -> np.ndarray:
    close = np.full(n, 100.0)
    close[jump_at:] = 110.0
    return close


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_hold_matches_hand_computed_nav() -> None:
    """Enter at alpha_dagger = 0.2 (cost 20 bps on 0.8 D), +10% jump keeps alpha above alpha_L: no trade ever.
    NAV = D - c q0 + sum of funding Q r p_open over the bars after the first."""
    d, c, r = 1_000_000.0, 0.002, 1e-5
    close = _jump_path()
    rule = build_rule("hold", make_rule(alpha_target=0.2, alpha_lower=0.1), CostModel.fixed(20.0), BacktestConfig())
    res = run_backtest(make_data(close, rate=r), rule, CostModel.fixed(20.0), BacktestConfig(capital_usd=d))
    q0 = 0.8 * d
    units = q0 / 100.0
    p_open = np.r_[close[0], close[:-1]]
    expected = d - c * q0 + units * r * p_open[1:].sum()
    assert res.nav[-1] == pytest.approx(expected, rel=1e-12)
    assert res.metrics()["rebalances"] == 0


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_periodic_matches_hand_computed_resets() -> None:
    """Same path, no funding, weekly (168 h) reset to alpha_dagger: at bar 168 alpha = (0.2D - c 0.8D - 10 Q) /
    (D - c 0.8D) is raised back to 0.2 (q1 = (0.2 - alpha) V, cost c q1); at bar 336 the drift left by that cost
    is below q_min, so nothing trades. NAV = D - c q0 - c q1."""
    d, c = 1_000_000.0, 0.002
    close = _jump_path()
    rule = build_rule("periodic", make_rule(alpha_target=0.2, alpha_lower=0.1), CostModel.fixed(20.0),
                      BacktestConfig())
    res = run_backtest(make_data(close), rule, CostModel.fixed(20.0), BacktestConfig(capital_usd=d))
    q0 = 0.8 * d
    v = d - c * q0
    m = 0.2 * d - c * q0 - (q0 / 100.0) * 10.0
    q1 = (0.2 - m / v) * v
    assert res.nav[-1] == pytest.approx(d - c * q0 - c * q1, rel=1e-12)
    f = res.to_frame()
    traded = f.index[f["action"] == "raise_collateral"]
    assert list(traded) == [f.index[168]]
    assert f["traded_usd"].iloc[168] == pytest.approx(q1, rel=1e-12)


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_rows_carry_the_issue_keys_and_paired_difference() -> None:
    c, f = _series(seed=5)
    res = compare_rules([Period("TST", "2024-01-01", "2024-02-15", "w")], ["file"], RULES, prices=c, funding=f,
                        cost_bps=20.0, spec=SPEC)
    assert len(res.rows) == len(RULES)
    by = {r["rule"]: r for r in res.rows}
    for r in res.rows:
        assert set(ROW_KEYS) <= set(r)
        lo, hi = r["apy_ci90"]
        assert lo <= hi
        assert r["apy_vs_paper"] == pytest.approx(r["apy"] - by["paper"]["apy"])
        assert 0.0 <= r["time_in_band"] <= 1.0
    assert by["paper"]["apy_vs_paper"] == 0.0
    assert by["optimal"]["alpha_upper"] < by["paper"]["alpha_upper"]


def test_block_bootstrap_indices_are_circular_blocks() -> None:
    idx = block_indices(10, 3, 50, 0)
    assert idx.shape == (50, 10)
    step = (idx[:, 1:] - idx[:, :-1]) % 10
    # inside a block consecutive days follow each other
    assert np.all(step[:, [0, 1, 3, 4, 6, 7]] == 1)


@pytest.mark.needs_data  # the default margin tiers come from the data dir
def test_cli_json_on_files_and_bad_rule(tmp_path: Path) -> None:
    c, f = _series(seed=7)
    pc, pf = tmp_path / "c.csv", tmp_path / "f.csv"
    c.to_csv(pc, index=False)
    f.to_csv(pf, index=False)
    args = ["compare-rules", "--asset", "TST", "--prices-file", str(pc), "--funding-file", str(pf), "--from",
            "2024-01-01", "--to", "2024-02-15", "--cost-bps", "20", "--l-max", "40", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["row_keys"] == list(ROW_KEYS)
    assert {r["rule"] for r in out["rows"]} == set(DEFAULT_RULES)
    bad = runner.invoke(app, [*args[:-1], "--rules", "paper,magic"])
    assert bad.exit_code == 2
    assert "magic" in bad.output


def test_optimal_boot_floor_is_the_bootstrap_alpha_l_and_needs_returns() -> None:
    from basisctl.errors import ModelDomainError
    from basisctl.rules.builders import bootstrap_floor
    from basisctl.simulate.bootstrap import alpha_lower_bootstrap

    paper = make_rule(alpha_target=0.2, alpha_lower=0.05, alpha_upper=0.6)
    rng = np.random.default_rng(1)
    fat = 0.004 * rng.standard_t(3, size=4000)  # fat-tailed hourly returns: the bootstrap floor binds
    rule = build_rule("optimal_boot", paper, CostModel.fixed(20.0), BacktestConfig(), returns_1h=fat)
    boot = alpha_lower_bootstrap(fat, paper.theta_f, 3.0, 1e-4, paper.stress).alpha_lower_boot
    assert boot > paper.alpha_lower
    assert bootstrap_floor(paper, fat) == pytest.approx(boot)
    assert rule.alpha_lower == pytest.approx(boot) and rule.rule == "optimal_boot"
    calm = 1e-5 * rng.standard_normal(4000)  # tiny moves: the GBM alpha_L is the binding floor
    assert bootstrap_floor(paper, calm) == paper.alpha_lower
    with pytest.raises(ModelDomainError, match="returns"):
        build_rule("optimal_boot", paper, CostModel.fixed(20.0), BacktestConfig())


@pytest.mark.needs_data
def test_optimal_fhs_floor_uses_the_risk_layer_before_the_window() -> None:
    from basisctl.backtest.rule import calibrate_rule
    from basisctl.risk.rule import model_band
    from basisctl.rules.builders import fhs_floor

    paper = calibrate_rule("ETH", "2022-01-01", "2024-01-01", 20.0)
    b = model_band("fhs", "ETH", paper.theta_f, paper.calib_to, 180.0, 1e-3, 24.0, 1e-4, 3.0)
    assert fhs_floor(paper) == max(paper.alpha_lower, b["alpha_lower"])
    rule = build_rule("optimal_fhs", paper, CostModel.fixed(20.0), BacktestConfig())
    assert rule.alpha_lower == pytest.approx(fhs_floor(paper)) and rule.alpha_lower > paper.alpha_lower
    c, f = _series()
    with pytest.raises(Exception, match="optimal_fhs"):
        compare_rules([Period("TST", "2024-01-01", "2024-02-15", "w")], ["file"], ["paper", "optimal_fhs"],
                      prices=c, funding=f, cost_bps=20.0, spec=SPEC)
