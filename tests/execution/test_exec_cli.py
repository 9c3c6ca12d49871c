"""CLI contract: costs quote / costs capacity / exec-report (JSON keys, independent checks, one-line errors)."""

from __future__ import annotations

import json
from decimal import Decimal, getcontext

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data.snapshots import default_pool

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

getcontext().prec = 60
runner = CliRunner()


def run(*args: str) -> tuple[int, dict | None, str]:  # type: ignore[type-arg]
    r = runner.invoke(app, list(args))
    data = json.loads(r.stdout) if r.exit_code == 0 and "--json" in args else None
    return r.exit_code, data, r.stderr


@pytest.mark.parametrize("side", ["buy-basis", "sell-basis"])
def test_costs_quote_eth_contract(side: str) -> None:
    code, d, _ = run("costs", "quote", "--asset", "ETH", "--side", side, "--notional-usd", "250000", "--json")
    assert code == 0 and d is not None
    for k in ("side", "notional_usd", "spot_bps", "perp_bps", "fixed_bps", "total_bps"):
        assert k in d
    assert d["side"] == side and d["notional_usd"] == 250000.0
    assert d["total_bps"] == pytest.approx(d["spot_bps"] + d["perp_bps"] + d["fixed_bps"])
    assert d["fixed_bps"] == pytest.approx(1.0 / 250000 * 1e4)  # default $1 withdrawal
    # spot cost re-derived from the swap amounts and a Decimal mid from sqrtPriceX96
    pool = default_pool("ETH")
    s = Decimal(pool.sqrt_price_x96) / Decimal(2) ** 96
    mid = Decimal(10) ** 12 / (s * s)
    a_in, a_out = Decimal(d["spot"]["amount_in"]), Decimal(d["spot"]["amount_out"])
    if side == "buy-basis":
        # one convention (issue 10): USD lost vs mid / USD notional = 1 - base received x mid / USD spent
        expect = (1 - (a_out / Decimal(10) ** 18) * mid / (a_in / Decimal(10) ** 6)) * 10_000
    else:
        eff = (a_out / Decimal(10) ** 6) / (a_in / Decimal(10) ** 18)
        expect = (1 - eff / mid) * 10_000
    assert d["spot_bps"] == pytest.approx(float(expect), abs=1e-6)
    assert d["spot_bps"] > 5.0  # at least the 0.05% LP fee
    assert d["perp_bps"] == pytest.approx(0.5 + 4.5, abs=1e-6)  # synthetic book: half spread + taker, 1 level


def test_costs_quote_with_real_book_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bids = [{"px": "1999", "sz": "100", "n": 1}]
    asks = [{"px": "2001", "sz": "50", "n": 1}, {"px": "2003", "sz": "100", "n": 2}]
    book = {"coin": "ETH", "time": 1, "levels": [bids, asks]}
    p = tmp_path / "l2.json"
    p.write_text(json.dumps(book))
    code, d, _ = run("costs", "quote", "--asset", "ETH", "--side", "sell-basis", "--notional-usd", "200000",
                     "--book-file", str(p), "--taker-fee-bps", "3", "--json")
    assert code == 0 and d is not None
    size = 200000 / 2000.0
    avg = (2001 * 50 + 2003 * (size - 50)) / size
    assert d["perp_bps"] == pytest.approx((avg / 2000 - 1) * 1e4 + 3, rel=1e-9)


def test_costs_quote_errors_are_one_line() -> None:
    code, _, err = run("costs", "quote", "--asset", "BTC", "--side", "buy-basis", "--notional-usd", "1e5")
    assert code == 2 and err.count("\n") == 1 and "--pool-file" in err
    code, d, _ = run("costs", "quote", "--asset", "BTC", "--side", "buy-basis", "--notional-usd", "1e6",
                     "--spot-fee-bps", "5", "--spot-impact-bps-at-1m", "10", "--json")
    assert code == 0 and d is not None and d["spot_bps"] == pytest.approx(15.0)


def test_costs_capacity_contract() -> None:
    code, d, _ = run("costs", "capacity", "--asset", "ETH", "--alpha-target", "0.2", "--alpha-lower", "0.1",
                     "--alpha-upper", "0.4", "--budget-buy-bps", "30", "--budget-sell-bps", "40", "--json")
    assert code == 0 and d is not None
    assert d["phi_buy"] == pytest.approx(0.2) and d["phi_sell"] == pytest.approx(0.1)
    assert d["v_max_buy_usd"] == pytest.approx(d["q_max_buy_usd"] / 0.2)
    assert d["v_max_sell_usd"] == pytest.approx(d["q_max_sell_usd"] / 0.1)
    assert d["v_max_usd"] == min(d["v_max_buy_usd"], d["v_max_sell_usd"]) == d["v_max_safe_usd"]
    assert d["q_max_sell_usd"] > 1e4


def test_capacity_from_curve_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for t, k in ((0, 10.0), (3_600_000, 20.0), (7_200_000, 40.0)):
        for side in ("buy-basis", "sell-basis"):
            for q in (1e4, 1e6):
                rows.append({"ts": t, "side": side, "notional_usd": q, "cost_bps": 5.0 + k * q / 1e6})
    p = tmp_path / "curves.csv"
    import pandas as pd

    pd.DataFrame(rows).to_csv(p, index=False)
    code, d, _ = run("costs", "capacity", "--asset", "ETH", "--alpha-target", "0.2", "--alpha-lower", "0.1",
                     "--alpha-upper", "0.4", "--budget-buy-bps", "20", "--budget-sell-bps", "20", "--buffer-bps", "5",
                     "--q-min-usd", "0", "--curves", str(p), "--json")
    assert code == 0 and d is not None and d["observations"] == 3
    # last curve: 5 + 40 q/1e6 <= 15 -> Q^max = 250k; V^max = min(250k/0.2, 250k/0.1)
    assert d["q_max_buy_usd"] == pytest.approx(2.5e5) and d["v_max_usd"] == pytest.approx(1.25e6)
    # V^max series = {5e6, 2.5e6, 1.25e6}; lower 25% quantile = 1.25e6
    assert d["v_max_safe_usd"] == pytest.approx(1.25e6)


def test_exec_report_contract(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from basisctl.execution.analytics import synthetic_trade_log

    p = tmp_path / "trades.csv"
    synthetic_trade_log(60, 90, seed=1).to_csv(p, index=False)
    out = tmp_path / "figs"
    code, d, _ = run("exec-report", "--trades", str(p), "--q-min-usd", "10000", "--json", "--out", str(out),
                     "--n-boot", "200")
    assert code == 0 and d is not None
    for sample in ("raw", "filtered"):
        for g in ("buy-basis", "sell-basis", "all"):
            st = d[sample][g]
            for k in ("trades", "volume_usd", "median_abs_bps", "win_rate", "win_rate_weighted", "buffer_bps_for"):
                assert k in st
            assert set(st["buffer_bps_for"]) == {"0.90", "0.95", "0.98"}
    assert d["raw"]["all"]["trades"] == 150
    assert d["raw"]["buy-basis"]["trades"] + d["raw"]["sell-basis"]["trades"] == 150
    assert (out / "realised_vs_target.png").stat().st_size > 10_000
    assert (out / "buffer_success.png").stat().st_size > 10_000


def test_exec_report_bad_file_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,side,notional_usd,target_bps,realized_bps\n2025-04-01,buy-basis,abc,1,2\n")
    code, _, err = run("exec-report", "--trades", str(p))
    assert code == 2 and err.count("\n") == 1
    assert "bad.csv" in err and "row 0" in err and "notional_usd" in err
    code, _, err = run("exec-report", "--trades", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err
