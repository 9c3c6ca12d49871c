"""Sweep a universe: every asset with data in a folder of user files, one independent task per asset.

Folder layout (that of ``../shared/data``): ``funding/<venue>/<ASSET>.csv|.parquet`` and
``prices/<market>/<ASSET>_1h.csv|.parquet`` (perp candles for sigma; the first market found is used).
Each task reads and validates only its own asset's files and returns that asset's venue table rows (venue
choice under every venue's margin rule, :mod:`basisctl.venues.choice`), so tasks share nothing and scale out:
``executor`` ``serial`` | ``process`` (local pool) | ``ray`` (a running Ray cluster via ``ray_address``, or a
local Ray started for the call; an already initialised Ray is used as is).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.errors import BasisctlError
from basisctl.venues.choice import KEYS, venue_table
from basisctl.venues.registry import REGISTRY

EXECUTORS = ("serial", "process", "ray")
SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class AssetFiles:
    asset: str
    funding: dict[str, str] = field(default_factory=dict)
    prices_1h: str | None = None


def discover(folder: str | Path) -> list[AssetFiles]:
    """Every asset with at least one funding file for a registered venue, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise BasisctlError(f"{root}: universe folder not found")
    assets: dict[str, AssetFiles] = {}
    for vdir in sorted((root / "funding").glob("*")):
        if vdir.name not in REGISTRY:
            continue
        for f in sorted(vdir.iterdir()):
            if f.suffix in SUFFIXES:
                a = f.stem.upper()
                assets.setdefault(a, AssetFiles(a)).funding[vdir.name] = str(f)
    for mdir in sorted((root / "prices").glob("*")):
        for f in sorted(mdir.glob("*_1h.*")):
            a = f.name.split("_1h")[0].upper()
            if a in assets and assets[a].prices_1h is None and f.suffix in SUFFIXES:
                assets[a] = AssetFiles(a, assets[a].funding, str(f))
    if not assets:
        raise BasisctlError(f"{root}: no funding files under funding/<venue>/<ASSET>.csv for a known venue")
    return [assets[k] for k in sorted(assets)]


def asset_task(files: AssetFiles, asof: pd.Timestamp, lookback_days: float,
               theta_f: dict[str, float] | None = None) -> list[dict[str, object]]:
    """The venue table of one asset from its own files; a bad file becomes an ``error`` on that asset's row."""
    from basisctl.calibration.volatility import realised_vol
    from basisctl.data.io import read_candles, read_funding

    try:
        if files.prices_1h is None:
            raise BasisctlError(f"{files.asset}: no prices/<market>/{files.asset}_1h file for sigma")
        sigma = realised_vol(read_candles(files.prices_1h, 1.0), asof, lookback_days, 1.0, 0.9).sigma_annual
        funding = {v: read_funding(p) for v, p in files.funding.items()}
        tab = venue_table(files.asset, funding, asof=asof, lookback_days=lookback_days, sigma_annual=sigma,
                          theta_f=theta_f)
    except BasisctlError as e:
        return [{"asset": files.asset, **{k: None for k in KEYS}, "sigma_annual": None, "error": str(e)}]
    records: list[dict[str, object]] = [{str(k): v for k, v in r.items()} for r in tab.to_dict(orient="records")]
    return [{"asset": files.asset, **r, "sigma_annual": sigma, "error": ""} for r in records]


def run_universe(folder: str | Path, asof: pd.Timestamp, lookback_days: float = 180.0, executor: str = "process",
                 workers: int | None = None, ray_address: str | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 theta_f: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per (asset, venue), assets in name order, identical for every executor. ``theta_f``: venue ->
    maintenance margin fraction for assets without a documented rule."""
    if executor not in EXECUTORS:
        raise BasisctlError(f"unknown executor '{executor}': expected one of {', '.join(EXECUTORS)}")
    items = discover(folder)
    out: dict[str, list[dict[str, object]]] = {}

    def done(a: str, rows: list[dict[str, object]]) -> None:
        out[a] = rows
        if on_progress:
            on_progress(len(out), len(items))

    n_workers = workers or os.cpu_count() or 1
    if executor == "serial":
        for it in items:
            done(it.asset, asset_task(it, asof, lookback_days, theta_f))
    elif executor == "process":
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            futs = {pool.submit(asset_task, it, asof, lookback_days, theta_f): it.asset for it in items}
            for f in as_completed(futs):
                done(futs[f], f.result())
    else:
        try:
            import ray
        except ImportError as e:  # pragma: no cover - optional extra
            raise BasisctlError("--executor ray needs the optional extra: pip install 'basisctl[ray]'") from e
        started = not ray.is_initialized()
        if started:
            if ray_address:
                ray.init(address=ray_address, log_to_driver=False)
            else:
                ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False)
        try:
            remote: Any = ray.remote(asset_task)
            refs = {remote.remote(it, asof, lookback_days, theta_f): it.asset for it in items}
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                done(refs[ready[0]], ray.get(ready[0]))
        finally:
            if started:
                ray.shutdown()
    rows = [r for it in items for r in out[it.asset]]
    return pd.DataFrame(rows)
