"""The coverage study over many assets and both venue margin rules (one barrier computation per asset).

Barriers do not depend on theta_F, so each asset's models are calibrated and solved once; each venue's rule only
maps barriers to alphas (``mean_alpha``). Bars: the data dir's binance_perp 1h series, with origins from the 4h
series on the days 1h bars cannot serve (before 1h data starts, or across a gap); an asset with no 1h file uses
4h bars throughout. Horizons shorter than a bar are not tested at 4h origins. Every substitution is a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.calibration.inputs import margin_for
from basisctl.data import locator
from basisctl.errors import DataCoverageError, ModelDomainError
from basisctl.model.margin import VENUES
from basisctl.risk.base import bars_from_frame
from basisctl.risk.coverage import (
    BAND_FLOOR_CELL,
    Barriers,
    StudyConfig,
    compute_barriers,
    coverage_table,
    empty_barriers,
    pooled_floor_rows,
    splice_barriers,
    warn_skipped,
)
from basisctl.risk.fit import PRICE_MARKET, load_bars
from basisctl.warnings import note, substitute


def _usable(cfg: StudyConfig, bar_hours: float) -> StudyConfig | None:
    """``cfg`` without the horizons that are not whole multiples of ``bar_hours`` (None if none is left)."""
    hs = tuple(h for h in cfg.horizons_hours if h >= bar_hours and abs(h / bar_hours - round(h / bar_hours)) < 1e-9)
    return replace(cfg, horizons_hours=hs) if hs else None


def asset_barriers(asset: str, cfg: StudyConfig, prices_file: Path | None = None, last_days: int | None = None,
                   use_4h: bool = True, start_ns: int | None = None, end_ns: int | None = None) -> Barriers:
    """Barriers of one asset. Without ``prices_file``: the data dir's 1h bars, with 4h-bar origins spliced in on
    the days where 1h bars are missing (before the 1h series starts, or where a gap breaks a 1h window); a
    ``note:`` line says how many. Horizons shorter than a bar are not tested at those origins."""
    a = asset.upper()
    bars = load_bars(a, prices_file)
    c = _usable(cfg, bars.bar_hours)
    if c is None:
        raise ModelDomainError(f"{a}: {bars.bar_hours:g}h bars cannot test horizons "
                               f"{', '.join(f'{h:g}h' for h in cfg.horizons_hours)}")
    if c != cfg:
        substitute("thin_sample", f"{a}: {bars.bar_hours:g}h bars cannot test horizons "
                   f"{', '.join(f'{h:g}h' for h in cfg.horizons_hours if h not in c.horizons_hours)}", echo=True)
    start = start_ns if last_days is None else int(bars.ts_ns[-1]) - last_days * 86_400 * 10**9
    try:
        bt = compute_barriers(bars, c, start, end_ns)
    except DataCoverageError:
        bt = None
    c4 = _usable(cfg, 4.0)
    if (prices_file is None and use_4h and bars.bar_hours == 1.0 and c4 is not None
            and locator.has_candles(PRICE_MARKET, a, "4h")):
        b4 = bars_from_frame(locator.load_candles(PRICE_MARKET, a, "4h"), 4.0)
        try:
            bt4 = compute_barriers(b4, c4, start, end_ns)
        except DataCoverageError:
            bt4 = None
        if bt4 is not None:
            n_before = 0 if bt is None else bt.origins.size
            bt = splice_barriers(bt if bt is not None else empty_barriers(c, bars.bar_hours), bt4)
            k = bt.origins.size - n_before
            if k:
                ts4 = bt.origin_ts_ns[bt.origins < 0]
                span = f"{np.datetime64(int(ts4.min()), 'ns').astype('datetime64[D]')} -> " \
                       f"{np.datetime64(int(ts4.max()), 'ns').astype('datetime64[D]')}"
                note(f"{a}: {k} daily origins use 4h bars where 1h bars are missing ({span}); "
                     "horizons shorter than 4h are not tested there", echo=True)  # nothing substituted: a note
    if bt is None:
        def day(ns: int | None) -> str:
            return "-" if ns is None else str(np.datetime64(int(ns), "ns").astype("datetime64[D]"))

        asked = f" in {day(start)} .. {day(end_ns)}" if start is not None or end_ns is not None else ""
        raise DataCoverageError(f"{a}: no daily origin{asked} has {cfg.lookback_days:g} days of gap-free bars "
                                f"before it; the data has {bars.span_text()}")  # issue 20 d: name the data's span
    return bt


def _asset_barriers(job: tuple[str, StudyConfig, Path | None, int | None]
                    ) -> tuple[str, Barriers, locator.Reads, list[tuple[str, str]]]:
    """One asset's barriers with the files read and the substitutions made: a worker process returns them so that
    the parent's Data section and warning list include them (issue 20 item 3a)."""
    from basisctl.warnings import collecting

    a, cfg, prices_file, last_days = job
    with locator.recording() as reads, collecting() as col:
        bt = asset_barriers(a, cfg, prices_file, last_days)
    return a, bt, reads, [(x.kind, x.message) for x in col.items]


def run_study(assets: Sequence[str], cfg: StudyConfig | None = None, venues: Sequence[str] = VENUES,
              prices_files: dict[str, Path] | None = None, progress: Callable[[str], None] | None = None,
              workers: int = 1, last_days: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, details): one row per asset x venue x model x epsilon x h with ``venue``, ``theta_f`` and
    ``bar_hours`` next to the CLI's keys; details per origin (venue-independent, alpha for the first venue).
    ``workers`` > 1 runs assets in a process pool (the study is CPU-bound per asset); ``last_days`` keeps only
    the origins of the last days of each asset's data (quick reports)."""
    cfg = cfg or StudyConfig()
    rows: list[dict[str, object]] = []
    dets: list[pd.DataFrame] = []
    jobs = [(a.upper(), cfg, (prices_files or {}).get(a.upper()), last_days) for a in assets]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        override = next((r.path for r in locator.roots() if r.origin == "--data-dir"), None)
        with ProcessPoolExecutor(min(workers, len(jobs)), initializer=locator.set_data_dir,
                                 initargs=(override,)) as ex:
            results = list(ex.map(_asset_barriers, jobs))
    else:
        results = [_asset_barriers(j) for j in jobs]
    for a, bt, reads, subs in results:
        locator.note_reads(reads)  # in-process runs noted them already; worker processes only return them
        for kind, msg in subs:
            substitute(kind, msg)  # type: ignore[arg-type]
        if progress:
            progress(a)
        warn_skipped(bt)
        for i, v in enumerate(venues):
            th, _ = margin_for(v, a)  # listed Hyperliquid assets: L_max from its margin table
            r, det = coverage_table(bt, a, th)
            rows += [{**x, "venue": v, "theta_f": th} for x in r]
            if i == 0:
                dets.append(det.assign(asset=a))
    det_all = pd.concat(dets, ignore_index=True) if dets else pd.DataFrame()
    if cfg.floor_epsilon is not None and len(results) > 1:  # a single asset sees ~0.14 breaches at 1e-4: pool
        rows += pooled_floor_rows(rows, det_all, float(cfg.floor_epsilon), float(cfg.floor_horizon_hours))
    return pd.DataFrame(rows), det_all


_VENUE_TAG = {"binance": "BN", "hyperliquid": "HL"}


def _cell(r: pd.Series) -> str:
    ok = r["kupiec_p"] >= 0.05 and not (r["christoffersen_p"] < 0.05)
    return f"{int(r['breaches'])}/{r['expected_breaches']:.1f} ({r['kupiec_p']:.2f}){' ✓' if ok else ''}"


def markdown_tables(rows: pd.DataFrame, venue: str = "hyperliquid") -> str:
    """Coverage (breaches/expected, Kupiec p, ✓ = Kupiec and Christoffersen p >= 0.05) and the price of safety
    (mean alpha per venue at each epsilon and h) as markdown."""
    cells = sorted({(e, h) for e, h in zip(rows["epsilon"], rows["horizon_hours"], strict=True)},
                   key=lambda x: (-x[0], x[1]))
    r = rows[rows["venue"] == venue]
    head = "| asset | model | " + " | ".join(f"ε={e:g}, h={h:g}h" for e, h in cells) + " |"
    out = [head, "|" + "---|" * (2 + len(cells))]
    for (a, m), g in r.groupby(["asset", "model"], sort=False):
        by = {(x["epsilon"], x["horizon_hours"]): x for _, x in g.iterrows()}
        out.append(f"| {a} | {m} | " + " | ".join(_cell(by[c]) if c in by else "" for c in cells) + " |")
    venues = list(dict.fromkeys(rows["venue"]))
    out += ["", "| asset | model | " + " | ".join(f"{_VENUE_TAG.get(v, v)} ε={e:g} h={h:g}h" for v in venues
                                                  for e, h in cells) + " |",
            "|" + "---|" * (2 + len(cells) * len(venues))]
    for (a, m), g in rows.groupby(["asset", "model"], sort=False):
        alpha_by = {(x["venue"], x["epsilon"], x["horizon_hours"]): x["mean_alpha"] for _, x in g.iterrows()}
        out.append(f"| {a} | {m} | " + " | ".join(f"{alpha_by.get((v, e, h), float('nan')):.3f}" for v in venues
                                                  for e, h in cells) + " |")
    return "\n".join(out)


def main() -> None:  # pragma: no cover - a thin command for regenerating docs/risk.md tables
    import argparse

    ap = argparse.ArgumentParser(description="Coverage study over assets x both venue rules (docs/risk.md).")
    ap.add_argument("--assets", default="BTC,ETH,DOGE,LINK")
    ap.add_argument("--models", default="gbm,kou,fhs,evt")
    ap.add_argument("--gbm-stress", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="also write the rows (.csv)")
    ap.add_argument("--epsilons", default="0.01,0.001")
    ap.add_argument("--horizons", default="1,24,168")
    ap.add_argument("--no-floor-cell", action="store_true", help="skip the band's floor cell (1e-4 over 3 h)")
    a = ap.parse_args()
    cfg = StudyConfig(models=tuple(a.models.split(",")), gbm_stress=a.gbm_stress,
                      epsilons=tuple(float(x) for x in a.epsilons.split(",")),
                      horizons_hours=tuple(float(x) for x in a.horizons.split(",")),
                      floor_epsilon=None if a.no_floor_cell else BAND_FLOOR_CELL[0],
                      floor_horizon_hours=BAND_FLOOR_CELL[1])
    rows, _ = run_study(a.assets.split(","), cfg, workers=a.workers)
    if a.out:
        rows.to_csv(a.out, index=False)
    print(markdown_tables(rows))


if __name__ == "__main__":  # pragma: no cover
    main()
