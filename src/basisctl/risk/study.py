"""The coverage study over many assets and both venue margin rules (one barrier computation per asset).

Barriers do not depend on theta_F, so each asset's models are calibrated and solved once; each venue's rule only
maps barriers to alphas (``mean_alpha``). Bars: the data dir's binance_perp 1h series, 4h where an asset has no
1h file (then horizons shorter than a bar are dropped with a warning).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from basisctl.model.margin import VENUES, theta_f_for
from basisctl.risk.base import Bars
from basisctl.risk.coverage import Barriers, StudyConfig, compute_barriers, coverage_table, warn_skipped
from basisctl.risk.fit import load_bars


def _asset_barriers(job: tuple[str, StudyConfig, Path | None, int | None]) -> tuple[Bars, Barriers]:
    a, cfg, prices_file, last_days = job
    bars = load_bars(a, prices_file)
    short = [h for h in cfg.horizons_hours if h < bars.bar_hours]
    if short:
        sys.stderr.write(f"warning: {a}: {bars.bar_hours:g}h bars cannot test horizons "
                         f"{', '.join(f'{h:g}h' for h in short)}; dropped\n")
        cfg = replace(cfg, horizons_hours=tuple(h for h in cfg.horizons_hours if h >= bars.bar_hours))
    start = None if last_days is None else int(bars.ts_ns[-1]) - last_days * 86_400 * 10**9
    return bars, compute_barriers(bars, cfg, start)


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

        from basisctl.data import locator

        override = next((r.path for r in locator.roots() if r.origin == "--data-dir"), None)
        with ProcessPoolExecutor(min(workers, len(jobs)), initializer=locator.set_data_dir,
                                 initargs=(override,)) as ex:
            results = list(ex.map(_asset_barriers, jobs))
    else:
        results = [_asset_barriers(j) for j in jobs]
    for (a, *_), (bars, bt) in zip(jobs, results, strict=True):
        if progress:
            progress(a)
        warn_skipped(bt)
        for i, v in enumerate(venues):
            th, _ = theta_f_for(v, a)
            r, det = coverage_table(bt, a, th)
            rows += [{**x, "venue": v, "theta_f": th, "bar_hours": bars.bar_hours} for x in r]
            if i == 0:
                dets.append(det.assign(asset=a))
    return pd.DataFrame(rows), (pd.concat(dets, ignore_index=True) if dets else pd.DataFrame())


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
        by = {(x["venue"], x["epsilon"], x["horizon_hours"]): x["mean_alpha"] for _, x in g.iterrows()}
        out.append(f"| {a} | {m} | " + " | ".join(f"{by.get((v, e, h), float('nan')):.3f}" for v in venues
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
    a = ap.parse_args()
    cfg = StudyConfig(models=tuple(a.models.split(",")), gbm_stress=a.gbm_stress)
    rows, _ = run_study(a.assets.split(","), cfg, workers=a.workers)
    if a.out:
        rows.to_csv(a.out, index=False)
    print(markdown_tables(rows))


if __name__ == "__main__":  # pragma: no cover
    main()
