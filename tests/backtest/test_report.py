"""The HTML report renders offline on a small subset with every section and embedded images; the numbers of the
Monte Carlo and execution sections are checked against closed forms / hand calculations / brute force and against
the CLI commands their captions print."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from basisctl.calibration.inputs import calibrate_sigma
from basisctl.cli.main import app
from basisctl.data.snapshots import default_pool, synthetic_book_from_depth
from basisctl.execution import (
    FixedFrictions,
    OrderBookPerpLeg,
    UniswapV3SpotLeg,
    build_instant_costs,
)
from basisctl.model.static import hit_probability_log_barrier, pi_liq
from tests.skips import CHROMIUM, CHROMIUM_REASON

# reads market data from the data dir; the module's report fixture computes every section of a quick report (cold
# numba caches in a fresh venv included), which is longer than the suite's default 300 s limit on a busy machine
pytestmark = [pytest.mark.needs_data, pytest.mark.timeout(1500)]

runner = CliRunner()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    res = runner.invoke(app, ["report", "--out", str(out), "--assets", "BTC", "--quick"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def doc(report_dir: Path) -> str:
    return (report_dir / "index.html").read_text()




@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=CHROMIUM_REASON)
def test_report_renders_in_a_real_browser(report_dir: Path) -> None:
    """The report opened from disk in headless Chromium: every figure decodes, every nav link has its section,
    and nothing is fetched from outside the file (offline, self-contained)."""
    from playwright import sync_api
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto((report_dir / "index.html").as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
        assert len(sizes) >= 11 and all(ok and w > 100 for ok, w in sizes)
        targets = page.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
        assert len(targets) >= 6
        for href in targets:
            assert page.locator(href).count() == 1, href
        assert page.locator("table").count() >= 7
        browser.close()
    assert not external


class _Tables(HTMLParser):
    """Collects every ``<p class="cap"><b>caption</b> ... <code>cmd</code></p><table>`` as (caption, cmd, rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, str, list[list[str]]]] = []
        self._cap: list[str] = []
        self._cmd = ""
        self._tag = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        if tag == "p" and ("class", "cap") in attrs:
            self._cap, self._cmd = [], ""
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._rows is not None and self._cell is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables.append(("".join(self._cap).strip(), self._cmd, self._rows))
            self._rows = None
        self._tag = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._tag == "b":
            self._cap.append(data)
        elif self._tag == "code":
            self._cmd += data


def table(doc: str, caption_start: str) -> tuple[str, list[dict[str, str]]]:
    """(regenerating command, rows as dicts) of the first table whose caption starts with ``caption_start``."""
    p = _Tables()
    p.feed(doc)
    for cap, cmd, rows in p.tables:
        if cap.startswith(caption_start):
            head, *body = rows
            return cmd, [dict(zip(head, r, strict=True)) for r in body]
    raise AssertionError(f"no table captioned {caption_start!r}")


def num(s: str) -> float:
    s = s.replace("$", "").replace(",", "").strip()
    return math.nan if s == "" else float(s)


def cli_json(cmd: str) -> dict:  # type: ignore[type-arg]
    args = shlex.split(cmd)
    assert args[0] == "basisctl"
    res = runner.invoke(app, args[1:])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_report_quick_subset(doc: str) -> None:
    for section in ("id='backtest'", "id='static'", "id='bands'", "id='funding'", "id='mc'", "id='execution'",
                    "Table X shape", "Table XI shape", "Table IX shape", "Table VII shape", "Table XIX shape",
                    "Findings on this data"):
        assert section in doc, section
    for anchor in ("backtest", "static", "bands", "mc", "execution", "funding"):
        assert f"<a href='#{anchor}'>" in doc, anchor
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', doc)
    # 8 backtest/static/funding figures + hit rate vs cost + alpha_L comparison + executable cost curves
    assert len(imgs) >= 11 and all(len(i) > 2000 for i in imgs)
    alts = re.findall(r'<img alt="([^"]*)"', doc)
    for start in ("alpha_U hit rate (top", "alpha_liq &lt; alpha_L", "Executable cost vs notional"):
        assert any(a.startswith(start) for a in alts), start
    # offline / self-contained: nothing is fetched
    assert not re.search(r'(src|href)="https?://', doc)
    # captions carry the regenerating command
    assert "basisctl backtest --asset ASSET" in doc and "basisctl static-grid --venues" in doc
    assert "basisctl funding-stats" in doc
    assert "basisctl bands --venue V --asset A --cost-bps 10,20,30 --risk-model gbm --asof 2026-03-10 --json" in doc
    assert "basisctl report --out DIR  (python" not in doc
    for cmd in ("basisctl simulate upper-grid --venues binance,hyperliquid --assets BTC",
                "basisctl simulate lower-grid --venues binance,hyperliquid --assets BTC",
                "basisctl costs quote --asset ETH --side SIDE --notional-usd Q",
                "basisctl costs capacity --asset ETH --budget-buy-bps K --budget-sell-bps K"):
        assert cmd in doc, cmd
    # the perp book of the execution section is labelled synthetic
    ex = doc[doc.index("id='execution'"):doc.index("id='funding'")]
    assert ex.count("SYNTHETIC") >= 2 and "synthetic" in ex
    # the BTC rows of both funding environments are in Table X
    assert doc.count("Binance funding") >= 1 and doc.count("Hyperliquid funding") >= 1


def test_upper_grid_table_matches_exact_gbm_hit_probability(doc: str) -> None:
    cmd, rows = table(doc, "alpha_U hit rate within 60 days")
    assert {r["venue"] for r in rows} == {"binance", "hyperliquid"} and {r["asset"] for r in rows} == {"BTC"}
    se_max = float(re.search(r"hit rate within 60 days.*?largest standard error of a hit rate ([0-9]+\.[0-9]+)",
                             doc).group(1))  # type: ignore[union-attr]
    sigma = calibrate_sigma("BTC", None, 180).sigma_annual  # paths use the calibrated, unstressed vol
    for r in rows:
        at, kap = num(r["alpha_target"]), num(r["kappa14_bps"])
        for c in (5, 10, 20, 30):
            au = num(r[f"alpha_U {c}bps"])
            assert au == pytest.approx(min(at + c / kap, 0.99), abs=2e-4)  # eq. 45 by hand (4-decimal table)
            # driftless GBM: alpha_U is hit when log p falls to b = ln((1 - aU)/(1 - at)); -log p has log drift
            # +sigma^2/2, i.e. the mirrored price drift is sigma^2
            b = math.log((1 - au) / (1 - at))
            exact = float(hit_probability_log_barrier(-b, sigma, 60 / 365, sigma * sigma))
            assert abs(num(r[f"hit {c}bps"]) - exact) < 4 * se_max + 2e-3, (r["venue"], c, exact)
    # the caption's command regenerates the numbers
    out = cli_json(cmd)
    assert out["paths"] == 20_000 and out["horizon_days"] == 60
    for r in out["rows"]:
        (row,) = [x for x in rows if x["venue"] == r["venue"]]
        c = f"{r['cost_bps']:g}"
        assert num(row[f"hit {c}bps"]) == pytest.approx(r["hit_rate"], abs=6e-4)
        if r["median_hit_days"] is not None and row[f"median d {c}bps"]:  # blank: no hit / fewer than 30 hits
            assert num(row[f"median d {c}bps"]) == pytest.approx(r["median_hit_days"], abs=0.06)
        elif r["median_hit_days"] is not None:
            assert r["hit_rate"] * out["paths"] < 20


def test_lower_grid_table_checks(doc: str) -> None:
    cmd, rows = table(doc, "Solvency band")
    sig = calibrate_sigma("BTC", None, 180).sigma_annual * 1.5
    if "mc_z" not in rows[0]:  # the GBM check is one test (same sigma sqrt(h) distance, same seed): printed once
        _, (check,) = table(doc, "GBM check of the closed-form alpha_L")
        assert num(check["cells"]) == len(rows)
        rows = [{**r, **{k: check[k] for k in ("mc_z", "mc_liq_rate", "mc_liq_rate_se")}} for r in rows]
    for r in rows:
        assert num(r["sigma_stressed"]) == pytest.approx(sig, abs=1e-4)
        # closed form: Pi_liq(alpha_L; 3 h) = eps_liq (4-decimal alpha in the table -> loose tolerance)
        assert pi_liq(num(r["alpha_lower"]), sig, num(r["theta_f"]), 3 / 8760) == pytest.approx(1e-4, rel=0.25)
        assert abs(num(r["mc_z"])) < 4  # the GBM Monte Carlo agrees with the closed form's budget
        assert num(r["mc_liq_rate"]) == pytest.approx(1e-4, abs=4 * num(r["mc_liq_rate_se"]))
        assert num(r["boot_ci_low"]) <= num(r["alpha_lower_boot"]) <= num(r["boot_ci_high"])
        assert num(r["alpha_liq"]) < num(r["alpha_lower"]) < num(r["alpha_target"])
        assert num(r["alpha_liq"]) < num(r["alpha_lower_boot"]) < num(r["alpha_target"])
    out = cli_json(cmd)
    for r in out["rows"]:
        (row,) = [x for x in rows if x["venue"] == r["venue"]]
        assert num(row["alpha_lower_boot"]) == pytest.approx(r["alpha_lower_boot"], abs=6e-5)
        assert num(row["mc_liq_rate"]) == pytest.approx(r["mc_liq_rate"], rel=0.01)


def _eth_costs() -> dict:  # type: ignore[type-arg]
    pool = default_pool("ETH")
    perp = OrderBookPerpLeg(synthetic_book_from_depth("ETH", "hyperliquid"))
    return build_instant_costs(UniswapV3SpotLeg(pool, "WETH"), perp, FixedFrictions(withdrawal_usd=1.0))


def test_execution_legs_by_hand_and_by_caption(doc: str) -> None:
    cmd, rows = table(doc, "Leg decomposition")
    assert {r["side"] for r in rows} == {"buy-basis", "sell-basis"} and len(rows) == 8
    for r in rows:
        q = num(r["notional_usd"])
        assert num(r["fixed_bps"]) == pytest.approx(1e4 / q, abs=6e-4)  # $1 withdrawal / q
        parts = num(r["spot_bps"]) + num(r["perp_bps"]) + num(r["fixed_bps"])
        assert num(r["total_bps"]) == pytest.approx(parts, abs=0.02)
        if q == 1e4:  # first synthetic level is 0.5 bp from mid, plus the 4.5 bps taker fee
            assert num(r["perp_bps"]) == pytest.approx(5.0, abs=0.01)
            assert 5.0 <= num(r["spot_bps"]) < 5.5  # 0.05% LP fee plus a little impact at $10k
        side = r["side"]
        out = cli_json(cmd.replace("SIDE", side).replace(" Q ", f" {q:.0f} "))
        for k in ("spot_bps", "perp_bps", "total_bps"):
            assert num(r[k]) == pytest.approx(out[k], abs=0.006), (side, q, k)


def test_capacity_by_brute_force_and_by_caption(doc: str) -> None:
    cmd, rows = table(doc, "Capacity (eqs. 65-68)")
    ic = _eth_costs()
    q = np.geomspace(1e4, 5e7, 40_000)
    env = {s: np.maximum.accumulate(np.where(np.isfinite(c := ic[s].cost_bps(q)), c, np.inf)) for s in ic}
    for r in rows:
        k, buf = num(r["budget_bps"]), num(r["buffer_bps"])
        at, al, au = num(r["alpha_target"]), num(r["alpha_lower"]), num(r["alpha_upper"])
        assert num(r["phi_buy"]) == pytest.approx(au - at, abs=2e-4)  # eq. 65: phi = |alpha_t - alpha_target|
        assert num(r["phi_sell"]) == pytest.approx(at - al, abs=2e-4)
        qmax = {}
        for side, key in (("buy-basis", "q_max_buy_usd"), ("sell-basis", "q_max_sell_usd")):
            ok = q[env[side] + buf <= k]
            brute = float(ok.max()) if ok.size else 0.0
            qmax[side] = brute
            assert num(r[key]) == pytest.approx(brute, rel=0.03, abs=1.0), (k, side)
        vb = qmax["buy-basis"] / (au - at) if qmax["buy-basis"] >= 1e4 else 0.0
        vs = qmax["sell-basis"] / (at - al) if qmax["sell-basis"] >= 1e4 else 0.0
        assert num(r["v_max_usd"]) == pytest.approx(min(vb, vs), rel=0.03, abs=1.0)
        out = cli_json(cmd.replace("--budget-buy-bps K --budget-sell-bps K",
                                   f"--budget-buy-bps {k:g} --budget-sell-bps {k:g}"))
        for key in ("q_max_buy_usd", "q_max_sell_usd", "v_max_usd", "v_min_usd"):
            assert num(r[key]) == pytest.approx(out[key], abs=0.51), (k, key)
        assert au == pytest.approx(out["alpha"]["upper"], abs=6e-5)
    assert num(rows[0]["budget_bps"]) == 20 and num(rows[0]["v_max_usd"]) == 0.0  # CLI default: nothing fits
    assert any(num(r["v_max_usd"]) > 0 for r in rows)


def test_headline_paper_window_cells(doc: str) -> None:
    """The headline compares Table X/XI cell by cell: the paper column is the printed value, the ours column is
    what the caption's backtest command gives for BTC (the quick report's asset)."""
    from basisctl.backtest.paper_tables import PAPER_TABLE_X, PAPER_TABLE_XI

    assert "id='paper'" in doc and "<a href='#paper'>" in doc and "id='rules'" in doc
    assert doc.index("id='paper'") < doc.index("id='rules'") < doc.index("id='backtest'")
    cmd, rows = table(doc, "Table X and XI cell by cell")
    assert {r["ticker"] for r in rows} == {"BTC"} and len(rows) == 16

    def val(r: dict[str, str], col: str) -> float:
        s = r[col]
        return float(s.rstrip("%").replace(",", "")) / (100.0 if s.endswith("%") else 1.0)

    for r in rows:
        ref = {**PAPER_TABLE_X, **{k: {**PAPER_TABLE_X.get(k, {}), **v} for k, v in PAPER_TABLE_XI.items()}}
        assert val(r, "paper") == pytest.approx(ref[(r["ticker"], r["funding"])][r["metric"]], abs=6e-5)
        assert val(r, "diff") == pytest.approx(val(r, "ours") - val(r, "paper"), abs=2e-4)
    for venue in ("binance", "hyperliquid"):
        out = cli_json(cmd.replace("{binance|hyperliquid}", venue).replace("ASSET", "BTC"))
        (apy,) = [r for r in rows if r["funding"] == venue and r["metric"] == "apy"]
        assert val(apy, "ours") == pytest.approx(out["apy"], abs=6e-5)
        # the spot leg is read from the data dir (never a hard-coded span): the headline names the series used
        assert out["spot_source"] in doc
    assert "--spot auto" in cmd and "--risk-model gbm" in cmd  # the paper's model, named explicitly


def test_rules_section_pairs_against_paper(doc: str) -> None:
    _, rows = table(doc, "Walk-forward comparison per rule")
    assert {r["rule"] for r in rows} == {"paper", "optimal", "hold", "fixed_leverage", "periodic", "optimal_boot"}
    paper = {(r["asset"], r["window"], r["venue"]): num(r["apy"].rstrip("%")) for r in rows if r["rule"] == "paper"}
    for r in rows:
        d = num(r["apy"].rstrip("%")) - paper[(r["asset"], r["window"], r["venue"])]
        assert num(r["apy_vs_paper"].rstrip("%")) == pytest.approx(d, abs=0.011)
