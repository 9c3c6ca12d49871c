"""The controller's scheduled recalibration (live/recalibration.py) with the configured risk model.

Hand-checkable: a recalibration on the venue's own bars gives the same alpha as the offline calibration
(``risk.rule.model_band``, what ``basisctl bands --risk-model`` runs) on a file holding the same bars; alpha_U is
eq. 45 on the journaled kappa; a failed fit keeps the old band and alerts; a kill inside a recalibration leaves
the old or the new band, and the journal says which.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from basisctl.live.calibration import calibrate_band
from basisctl.live.config import ConfigError, parse_config
from basisctl.live.controller import Controller
from basisctl.live.journal import Journal
from basisctl.live.recalibration import band_in_force, band_values
from basisctl.live.sim_venue import SimVenue
from basisctl.model.policy import Action, BandPolicy

from .conftest import START, have_sdk, make_sim

HOUR_MS = 3_600_000
ASOF = pd.Timestamp(START) + pd.Timedelta(hours=1)  # the first slot after the start (hourly schedule)


def calib_data(**risk: Any) -> dict[str, Any]:
    return {
        "cadence_seconds": 3600,
        "venue": {"kind": "sim", "dead_man_seconds": 0},
        "sim": {"start": START, "clock": "manual"},
        "band": {"mode": "calibrate", "lookback_days": 60, "epsilon": 1e-3, "eps_liq": 1e-4, "h_liq_hours": 3.0,
                 "k_reb_fix_bps": 20},
        "costs": {"model": "flat", "sell_basis_bps": 12, "buy_basis_bps": 12, "sell_budget_bps": 60,
                  "buy_budget_bps": 60, "q_min_usd": 1000},
        "limits": {"stale_after_seconds": 7200},
        "risk": {"recalibrate_every_hours": 1, **risk},
    }


def controller(tmp: Path, sim: SimVenue, **risk: Any) -> Controller:
    cfg = parse_config(calib_data(**risk), "test", tmp)
    pol, info = calibrate_band(cfg, pd.Timestamp(START), 1e6, warn=False)
    ctl = Controller(cfg, sim, Journal(tmp / "journal.sqlite"), pol, info, sleep=lambda s: None)
    ctl.start()
    return ctl


def recalibrate_once(ctl: Controller, sim: SimVenue) -> None:
    """Move venue time into the next slot, start the refit, let it finish, pick it up at the next boundary."""
    sim.advance(3600)
    ctl.recalibration_tick()
    job = ctl._recal_job
    assert job is not None and job.done.wait(300)
    ctl.recalibration_tick()
    assert ctl._recal_job is None


def toml(d: dict[str, Any]) -> str:
    """A config dict (scalars and one level of tables) as TOML."""
    def val(v: Any) -> str:
        return f'"{v}"' if isinstance(v, str) else repr(v)
    top = [f"{k} = {val(v)}" for k, v in d.items() if not isinstance(v, dict)]
    tables = [f"[{k}]\n" + "\n".join(f"{kk} = {val(vv)}" for kk, vv in v.items()) for k, v in d.items()
              if isinstance(v, dict)]
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def band_entries(j: Journal, status: str) -> list[dict[str, Any]]:
    return [e.payload for e in j.entries("band") if e.payload.get("status") == status]


def alerts(j: Journal, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in j.entries("alert") if e.payload.get("kind") == kind]


@pytest.fixture
def sim(tmp_path: Path) -> SimVenue:
    v = make_sim(tmp_path / "venue.sqlite")
    yield v
    v.close()


# ------------------------------------------------------------------ config
def test_default_model_is_fhs_and_unknown_models_are_refused(tmp_path: Path) -> None:
    cfg = parse_config({}, "test", tmp_path)
    assert cfg.risk.model == "fhs" and cfg.risk.recalibrate_every_hours == 24.0
    with pytest.raises(ConfigError, match=r"field 'risk.model'.*unknown risk model 'normal'"):
        parse_config({"risk": {"model": "normal"}}, "test", tmp_path)
    assert parse_config({"risk": {"model": "GBM"}}, "test", tmp_path).risk.model == "gbm"


def test_stress_is_ignored_under_fhs_with_a_warning_and_scales_gbm(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from basisctl.calibration.inputs import calibrate_sigma
    from basisctl.model.margin import theta_f_for
    from basisctl.model.static import solve_alpha_risk

    asof = pd.Timestamp(START)
    out = {}
    for model in ("fhs", "gbm"):
        for stress in (1.0, 2.0):
            d = calib_data(model=model)
            d["band"]["stress"] = stress
            out[model, stress] = calibrate_band(parse_config(d, "t", tmp_path), asof, 1e6)[0]
    err = capsys.readouterr().err
    assert err.count("warning: band.stress") == 2 and "risk.model = 'fhs'" in err
    assert out["fhs", 1.0].alpha_target == out["fhs", 2.0].alpha_target
    assert out["fhs", 1.0].alpha_lower == out["fhs", 2.0].alpha_lower
    # gbm: the paper's closed form at the realised sigma x stress, by hand
    sig = calibrate_sigma("BTC", asof, 60).sigma_annual
    theta = theta_f_for("hyperliquid", "BTC", notional_usd=1e6)[0]
    for stress in (1.0, 2.0):
        assert out["gbm", stress].alpha_target == pytest.approx(
            float(solve_alpha_risk(sig * stress, theta, 1 / 365, 1e-3)), abs=1e-12)
    assert out["gbm", 2.0].alpha_target > out["gbm", 1.0].alpha_target
    calibrate_band(parse_config(calib_data(model="fhs"), "t", tmp_path), asof, 1e6)  # stress not set: silent
    assert "warning" not in capsys.readouterr().err


def test_optimal_rule_uses_the_configured_models_floor(tmp_path: Path) -> None:
    from basisctl.risk.rule import model_band

    d = calib_data(model="fhs")
    d["band"]["rule"] = "optimal"
    pol, info = calibrate_band(parse_config(d, "t", tmp_path), pd.Timestamp(START), 1e6)
    ref = model_band("fhs", "BTC", info["theta_f"], pd.Timestamp(START), 60, 1e-3, 24.0, 1e-4, 3.0)
    assert info["optimal_floor"] == min(ref["alpha_lower"], ref["alpha_target"])
    assert pol.alpha_lower >= info["optimal_floor"] - 1e-12


# ------------------------------------------------------------------ recalibration = offline calibration
@pytest.mark.parametrize("bars", ["venue", "store"])
def test_recalibration_equals_the_offline_calibration_on_the_same_bars(tmp_path: Path, sim: SimVenue,
                                                                       bars: str) -> None:
    from basisctl.calibration.inputs import calibrate_kappa
    from basisctl.data.io import to_shared_csv_frame
    from basisctl.risk.rule import model_band

    ctl = controller(tmp_path, sim, model="fhs", bars=bars)
    old = band_values(ctl.policy)
    recalibrate_once(ctl, sim)
    (applied,) = band_entries(ctl.journal, "applied")
    new, inputs = applied["new"], applied["inputs"]
    assert applied["old"] == old and band_values(ctl.policy) == new and new != old
    assert inputs["asof"] == ASOF.isoformat() and inputs["bars"] == 60 * 24  # the window's span is journaled
    assert inputs["bars_to"] == (ASOF - pd.Timedelta(hours=1)).isoformat()
    prices_file = None
    if bars == "venue":  # the bars the venue's candle endpoint served, as a file for the offline calibration
        served = sim.candles(int(ASOF.value // 10**6) - 61 * 24 * HOUR_MS, int(ASOF.value // 10**6))
        prices_file = tmp_path / "served.csv"
        to_shared_csv_frame(served).to_csv(prices_file, index=False)
    ref = model_band("fhs", "BTC", inputs["theta_f"], ASOF, 60, 1e-3, 24.0, 1e-4, 3.0, prices_file=prices_file)
    assert ref["risk_calibration"] == inputs["risk_calibration"]
    assert new["alpha_target"] == pytest.approx(ref["alpha_target"], abs=1e-12)
    assert new["alpha_lower"] == pytest.approx(min(ref["alpha_lower"], ref["alpha_target"]), abs=1e-12)
    kappa = calibrate_kappa("hyperliquid", "BTC", ASOF, 60, 14 * 24.0).kappa
    assert new["kappa_fix"] == pytest.approx(kappa, abs=1e-15)
    assert new["alpha_upper"] == pytest.approx(new["alpha_target"] + 20e-4 / kappa, abs=1e-12)  # eq. 45
    assert alerts(ctl.journal, "RECALIBRATED")


def test_candle_snapshot_over_http_serves_the_sim_venues_bars(tmp_path: Path, sim: SimVenue, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if not have_sdk():
        pytest.skip("needs the 'live' extra (hyperliquid-python-sdk)")
    from basisctl.venues.hyperliquid.adapter import HyperliquidVenue
    from basisctl.venues.hyperliquid.keys import load_signer, test_private_key, test_wallet_address
    from basisctl.venues.hyperliquid.server import HLServer

    srv = HLServer(sim, test_wallet_address()).start()
    try:
        monkeypatch.setenv("BASISCTL_TEST_HL_KEY", test_private_key())
        hv = HyperliquidVenue(srv.url, test_wallet_address(), load_signer("BASISCTL_TEST_HL_KEY"), "BTC", "UBTC/USDC",
                              timeout_s=2.0, weight_per_min=1e6, max_retries=2, clock="server")
        now = sim.now_ms()
        got = hv.candles(now - 30 * 24 * HOUR_MS, now)
        want = sim.candles(now - 30 * 24 * HOUR_MS, now)
        assert len(got) == len(want) == 30 * 24
        assert (got["ts"].to_numpy() == want["ts"].to_numpy()).all()
        for c in ("open", "high", "low", "close"):
            assert got[c].to_numpy() == pytest.approx(want[c].to_numpy(), rel=1e-12)
        assert pd.Timestamp(want["ts"].iloc[-1]) == pd.Timestamp(START) - pd.Timedelta(hours=1)  # closed bars only
    finally:
        srv.stop()


# ------------------------------------------------------------------ failures keep the last good band
@pytest.mark.parametrize("how", ["thin_data", "not_converged", "timeout"])
def test_failed_recalibration_keeps_the_last_good_band_and_alerts(tmp_path: Path, sim: SimVenue, monkeypatch,  # type: ignore[no-untyped-def]
                                                                  how: str) -> None:
    import basisctl.live.calibration as calib
    import basisctl.risk.fit as risk_fit
    from basisctl.risk.base import ModelFitError

    ctl = controller(tmp_path, sim, model="fhs", bars="venue", timeout_seconds=0.3)
    old = band_values(ctl.policy)
    release = threading.Event()
    if how == "thin_data":  # the venue serves 10 days of bars: far fewer than the 60-day window needs
        full = sim.candles
        monkeypatch.setattr(sim, "candles", lambda a, b: full(a, b).tail(240))
    elif how == "not_converged":
        def no_fit(*a: Any, **k: Any) -> Any:
            raise ModelFitError("fhs: GARCH(1,1) likelihood did not converge on the window (injected)")
        monkeypatch.setattr(risk_fit, "fit_model", no_fit)
    else:
        real = calib.calibrate_band

        def slow(*a: Any, **k: Any) -> Any:
            release.wait(30)
            return real(*a, **k)
        monkeypatch.setattr(calib, "calibrate_band", slow)
    sim.advance(3600)
    ctl.recalibration_tick()
    if how == "timeout":
        time.sleep(0.4)
        ctl._sleep = time.sleep  # a wall-clock controller: the tick never waits for the fit
        ctl.recalibration_tick()
        release.set()
    else:
        assert ctl._recal_job is not None and ctl._recal_job.done.wait(60)
        ctl.recalibration_tick()
    (failed,) = band_entries(ctl.journal, "failed")
    assert failed["kept"] == old and band_values(ctl.policy) == old and not band_entries(ctl.journal, "applied")
    want = {"thin_data": "cover", "not_converged": "did not converge", "timeout": "timeout_seconds"}[how]
    assert want in failed["reason"]
    (alert,) = alerts(ctl.journal, "RECALIBRATION_FAILED")
    assert "keeping the last good band" in alert["message"] and want in alert["message"]
    rec = ctl.cycle()  # the band is still defined: the cycle decides against it
    assert rec["alpha"] > 0 and ctl.last_decision is not None
    band_values_now, _, status = band_in_force(ctl.journal)
    assert band_values_now == old and status == "start"


# ------------------------------------------------------------------ a new floor above alpha: ordinary policy
def test_floor_above_alpha_goes_through_the_ordinary_policy_with_an_alert(tmp_path: Path, sim: SimVenue,  # type: ignore[no-untyped-def]
                                                                          monkeypatch) -> None:
    import basisctl.live.calibration as calib

    ctl = controller(tmp_path, sim, model="fhs")
    ctl.cycle()
    alpha = ctl.last_state.alpha  # type: ignore[union-attr]
    high = BandPolicy(alpha + 0.10, alpha + 0.05, alpha + 0.20, 0.01, 0.002, q_min_usd=1000, sell_budget_bps=60,
                      buy_budget_bps=60)
    monkeypatch.setattr(calib, "calibrate_band", lambda *a, **k: (high, {"asof": "x"}))
    intents = ctl.journal.count("intent")
    recalibrate_once(ctl, sim)
    assert ctl.journal.count("intent") == intents  # the recalibration itself trades nothing
    assert ctl.policy == high
    (fa,) = alerts(ctl.journal, "FLOOR_ABOVE_ALPHA")
    assert f"alpha_L={alpha + 0.05:.4f}" in fa["message"]
    ctl.cycle()
    d = ctl.last_decision
    assert d is not None and d.action in (Action.RAISE_COLLATERAL, Action.EMERGENCY)
    last = ctl.journal.entries("decision", newest_first=True, limit=1)[0].payload
    assert last["blocked"] == "" and ctl.journal.count("intent") > intents  # executed by the cycle, not the refit


# ------------------------------------------------------------------ kills inside a recalibration
_CHILD = """
import sys
from basisctl.live.config import load_config
from basisctl.live.runner import build
b = build(load_config(sys.argv[1]))
b.controller.run(max_cycles=int(sys.argv[2]), advance=b.advance)
"""


@pytest.mark.parametrize("point", ["recalibration:started", "recalibration:fitted", "recalibration:journaled"])
def test_kill_inside_a_recalibration_restarts_with_the_old_or_the_new_band(tmp_path: Path, point: str) -> None:
    from basisctl.live.chaos import band_audit
    from basisctl.live.config import load_config
    from basisctl.live.runner import build

    d = calib_data(model="fhs")
    d["sim"]["state_file"] = "venue.sqlite"
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(toml(d))
    env = {**os.environ, "BASISCTL_CRASHPOINT": f"{point}@2"}  # the second refit: the first one was applied
    p = subprocess.run([sys.executable, "-c", _CHILD, str(cfg_path), "40"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == -9, p.stderr[-2000:]
    j = Journal(tmp_path / "journal.sqlite")
    started = band_entries(j, "started")
    applied = band_entries(j, "applied")
    last_id = started[-1]["id"]
    assert len(started) == 2 and len(applied) == (2 if point == "recalibration:journaled" else 1)
    before = band_in_force(j)[0]
    j.close()
    b = build(load_config(cfg_path))
    b.controller.start()
    j2 = b.journal
    values, _, status = band_in_force(j2)
    assert band_values(b.controller.policy) == values == before and status == "applied"
    ended = {e["id"]: s for s in ("applied", "interrupted") for e in band_entries(j2, s)}
    if point == "recalibration:journaled":  # committed before the kill: the new band, restored from the journal
        assert ended[last_id] == "applied" and values == applied[-1]["new"]
    else:  # killed before the commit: the old band, and the journal says the refit was interrupted
        assert ended[last_id] == "interrupted" and values == applied[0]["new"]
        assert band_entries(j2, "interrupted")[-1]["kept"] == values
        assert alerts(j2, "RECALIBRATION_INTERRUPTED")
    audit = band_audit(j2)
    assert audit["band_chain_breaks"] == 0 and audit["band_mismatches"] == 0 and audit["recalibrations"] >= 1


def test_a_journaled_band_is_restored_only_under_the_same_calibration_inputs(tmp_path: Path, sim: SimVenue) -> None:
    ctl = controller(tmp_path, sim, model="gbm")
    recalibrate_once(ctl, sim)
    applied = band_entries(ctl.journal, "applied")[-1]["new"]
    ctl.journal.close()
    same = controller(tmp_path, sim, model="gbm")  # unchanged config: the refitted band comes back
    assert band_values(same.policy) == applied
    same.journal.close()
    d = calib_data(model="gbm")
    d["band"]["epsilon"] = 2e-3  # a changed budget: the start-up calibration under it is the band in force
    cfg = parse_config(d, "test", tmp_path)
    pol, info = calibrate_band(cfg, pd.Timestamp(START), 1e6, warn=False)
    changed = Controller(cfg, sim, Journal(tmp_path / "journal.sqlite"), pol, info, sleep=lambda s: None)
    changed.start()
    values, _, status = band_in_force(changed.journal)
    assert band_values(changed.policy) == band_values(pol) == values and status == "start" and values != applied
