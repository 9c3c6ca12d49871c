"""The ``regime`` candidate of the path study (issue 23): per-path rows on the batch's own simulated paths, paired
statistics against ``paper``, the ``[regime]`` section of the study file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import RuleSpec
from basisctl.regime.params import RegimeParams
from basisctl.study.regime_candidate import RegimeStudy
from basisctl.study.run import run_study
from basisctl.study.studyfile import StudyFileError, load_study
from tests.skips import need_extra
from tests.study.worlds import gbm_history

pytestmark = pytest.mark.needs_extra
need_extra("arch", "study")

CFG = BacktestConfig(margin_tiers=(), q_min_usd=0.0)
SPEC = RuleSpec(l_max=10.0)
PATHS = 4
YEARS = 0.25


def _regime(inner: str, alt_apr: float, **kw: float) -> RegimeStudy:
    p = RegimeParams(model="ewma", horizon_days=14, hurdle_apr=0.0, hysteresis_apr=0.01, min_hold_hours=72.0,
                     exit_within_hours=24.0, **kw)
    return RegimeStudy(p, inner, alt_apr)


def _run(inner: str, alt_apr: float, funding_per_8h: float, sigma: float = 0.2, jumps: float = 0.0,
         jump_mean: float = 0.0, **kw: float):
    h = gbm_history(sigma_annual=sigma, funding_per_8h=funding_per_8h, seed=3, days=540, jump_rate_annual=jumps,
                    jump_mean=jump_mean)
    st = load_study().with_(paths=PATHS, cost_bps=0.0, generators=("fhs",), years=YEARS, bootstrap_reps=200,
                            candidates=("paper", "hold", "regime"), regime=_regime(inner, alt_apr, **kw))
    return run_study(st, history=h, cfg=CFG, spec=SPEC)


@pytest.mark.parametrize("inner", ["hold", "paper"])
def test_constant_carry_above_hurdle_regime_equals_its_inner_rule(inner: str) -> None:
    """Constant funding of 1 bp per 8 h (about 11 % APR on the short) against a 0 % alternative yield: the regime
    rule enters at the first bar and never exits, so on every path it IS its inner rule (same rows, to rounding)."""
    res = _run(inner, 0.0, 1e-4)
    rows = res.rows
    reg = rows[rows["rule"] == "regime"].set_index(["asset", "path"]).sort_index()
    base = rows[rows["rule"] == inner].set_index(["asset", "path"]).sort_index()
    assert len(reg) == 2 * PATHS and list(reg.index) == list(base.index)
    assert (reg["exits"] == 0).all() and (reg["entries"] == 1).all() and (reg["time_in_trade"] == 1.0).all()
    assert (base["liquidations"] == 0).all()
    _equal(reg, base)
    assert (reg["ret_funding"] > 0.01).all()
    s = res.summary()
    assert "regime" in s["rules"] and "regime" in s["paired"]
    p = s["paired"]["regime"]
    assert p["paths"] == 2 * PATHS
    if inner == "paper":
        assert p["d_ret_mean"] == pytest.approx(0.0, abs=1e-12)


def _equal(reg, base) -> None:
    from basisctl.study.batch import METRICS

    for col in METRICS:
        np.testing.assert_allclose(reg[col].to_numpy(float), base[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   err_msg=col)


def test_regime_that_never_leaves_equals_hold_through_liquidations() -> None:
    """Up-jumps (12 a year, mean 25 %) on 60 % volatility liquidate the hold rule on some paths; a regime rule that
    never leaves (carry far above a 0 % alternative) replays them with the batch kernel's liquidation accounting,
    so every metric, liquidation count included, equals hold's."""
    res = _run("hold", 0.0, 1e-4, sigma=0.6, jumps=12.0, jump_mean=0.25)
    rows = res.rows
    reg = rows[rows["rule"] == "regime"].set_index(["asset", "path"]).sort_index()
    base = rows[rows["rule"] == "hold"].set_index(["asset", "path"]).sort_index()
    assert (reg["exits"] == 0).all()
    assert base["liquidations"].sum() > 0
    _equal(reg, base)


def test_zero_carry_regime_stays_out_earns_the_alt_yield_and_wins() -> None:
    """No funding, 5 % APR outside the trade, a 2 USD transfer fee: the regime rule never enters and earns
    exp(0.05 x 0.25) - 1 less one fee on every path (hand formula), while paper earns nothing but price noise
    (spot = perp: exactly 0 less costs of 0); the paired CI of the return difference lies above 0."""
    res = _run("paper", 0.05, 0.0, transfer_fee_usd=2.0)
    rows = res.rows
    reg = rows[rows["rule"] == "regime"]
    cap = CFG.capital_usd
    want = (cap - 2.0) * math.exp(0.05 * YEARS * 365 * 24 / 8760) / cap - 1.0
    np.testing.assert_allclose(reg["ret"].to_numpy(float), want, rtol=1e-9)
    assert (reg["entries"] == 0).all() and (reg["time_in_trade"] == 0).all()
    np.testing.assert_allclose(reg["ret_transfer_fees"].to_numpy(float), -2.0 / cap)
    s = res.summary()
    p = s["paired"]["regime"]
    assert p["d_ret_ci"][0] > 0.0
    assert s["verdict"] == "regime"


def test_regime_section_is_required_and_checked(tmp_path: Path) -> None:
    src = Path(__file__).parents[2] / "src/basisctl/study/regime_study.toml"
    text = src.read_text()
    reg = load_study("regime").regime
    assert reg is not None and reg.params.model == "ewma"
    cut = text.split("[regime]")[0] + "[real]" + text.split("[real]")[1]
    f = tmp_path / "s.toml"
    f.write_text(cut)
    with pytest.raises(StudyFileError, match=r"needs a \[regime\] section"):
        load_study(f)
    f.write_text(text.replace('inner_rule = "paper"', 'inner_rule = "nope"'))
    with pytest.raises(StudyFileError, match="inner_rule"):
        load_study(f)
    f.write_text(text.replace("exit_within_hours = 24.0", "exit_within_hours = 12.0"))
    with pytest.raises(StudyFileError, match=r"\[regime\]"):
        load_study(f)
    f.write_text(text.replace('model = "ewma"', 'model = "arima"'))
    with pytest.raises(StudyFileError, match=r"\[regime\]"):
        load_study(f)


def test_real_path_rows_pair_with_the_batch_rows_and_exit_on_a_funding_drop() -> None:
    """One real path (flat price, 1 bp/h funding dropping to 0 on day 60, 5 % APR outside): the regime row carries
    the batch's ``path``/``cluster`` keys, exits once, and its return is the segment runner's NAV."""
    import pandas as pd

    from basisctl.backtest.costs import CostModel
    from basisctl.regime import AltYield, forecast_series, run_regime
    from basisctl.study.paths import RealPath
    from basisctl.study.regime_candidate import real_regime_rows
    from basisctl.study.run import _real_rows
    from tests.backtest._bt_synth import T0, make_data, make_rule

    n = 120 * 24
    ts = pd.date_range(T0, periods=n, freq="1h")
    rate = np.where(ts > T0 + pd.Timedelta(days=60), 0.0, 1e-4)
    data = make_data(np.full(n, 100.0), rate=rate)
    fts = pd.date_range(T0 - pd.Timedelta(days=40), periods=160 * 24, freq="1h") + pd.Timedelta(hours=1)
    funding = pd.DataFrame({"ts": fts, "rate": np.where(fts > T0 + pd.Timedelta(days=60), 0.0, 1e-4),
                            "interval_hours": 1.0})
    rule = make_rule()
    rp = RealPath("BTC", T0, T0 + pd.Timedelta(days=120), data, {"paper": rule, "hold": rule}, {})
    rs = _regime("paper", 0.05, transfer_fee_usd=10.0, transfer_delay_hours=6.0)
    cfg = BacktestConfig(capital_usd=1e6, q_min_usd=1e4, margin_tiers=())
    reg = real_regime_rows([rp], rs, cfg, "binance", "real", funding_of=lambda a: funding)
    batch = _real_rows([rp], ["paper", "hold"], cfg, "real", ())
    assert list(reg.columns[:8]) == ["rule", "asset", "kind", "generator", "path", "cluster", "start", "days"]
    for k in ("asset", "kind", "path", "cluster", "start", "days", "bar_hours"):
        assert reg[k].iloc[0] == batch[k].iloc[0], k
    # the EWMA forecast (half-life 7 d) of 87.6 % APR funding decays below 5 % some weeks after the drop
    assert reg["exits"].iloc[0] == 1 and 0.5 < reg["time_in_trade"].iloc[0] < 0.8
    direct = run_regime(data, rule, CostModel.fixed(rule.k_reb_fix * 1e4), cfg,
                        forecast_series(funding, rs.params), AltYield.constant(0.05), rs.params)
    assert reg["ret"].iloc[0] == pytest.approx(direct.nav[-1] / 1e6 - 1.0, abs=1e-15)
    assert reg["ret_alt_yield"].iloc[0] > 0.0 and reg["ret_transfer_fees"].iloc[0] == pytest.approx(-10.0 / 1e6)
