"""Rebuild the compact Parquet datasets shipped in ``src/basisctl/datasets`` from ``../shared/data``.

Run from the repository root:  ``python scripts/build_datasets.py [--shared ../shared/data]``

Only converts (CSV -> Parquet, zstd); it never fills gaps, resamples or edits values. Provenance (source,
span, caveats) is written to ``datasets/provenance.json`` and read by ``basisctl data list``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ASSETS = ("BTC", "ETH", "LINK", "DOGE")
OUT = Path(__file__).resolve().parents[1] / "src" / "basisctl" / "datasets"

NOTES = {
    ("prices", "binance_perp", "1h"): "Binance USD-M perp last-trade OHLCV, hourly. GAP 2024-06-16 13:00 -> "
    "2025-03-06 11:00 (LINK to 2025-09-13): use the 4h series there.",
    ("prices", "binance_perp", "4h"): "Binance USD-M perp last-trade OHLCV, 4-hour, no gaps (used where the "
    "hourly series has its 2024-2025 gap).",
    ("prices", "binance_perp", "1d"): "Binance USD-M perp daily, no gaps.",
    ("prices", "binance_spot", "1h"): "Binance spot hourly 2022-2023 (1 missing bar each).",
    ("prices", "hyperliquid_perp", "1h"): "Hyperliquid perp hourly, 1000 bars (API limit), 2025-03 -> 2025-04.",
    ("prices", "bybit_perp", "1h"): "Bybit linear perp hourly 2025-03 -> 2026-03.",
    ("funding", "hyperliquid", None): "Hyperliquid fundingHistory: 8h until 2023-06-08 00:00, then hourly. "
    "Rows with source GM (DOGE 2025-03 -> 2025-08) do not match the API exactly.",
    ("funding", "binance", None): "Binance USD-M 8h funding. GAP all of 2024 and 2025-01-01 -> 2025-03-08 (BTC/ETH).",
    ("funding", "bybit", None): "Bybit linear 8h funding. Same 2024 gap as Binance.",
}


def _ts(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["ts"] = pd.to_datetime(df["ts_ms"], unit="ms", utc=True).astype("datetime64[ms, UTC]")
    return df


def _write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=19)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    src = Path(args.shared)
    if OUT.exists():
        shutil.rmtree(OUT)
    entries: list[dict[str, object]] = []

    for venue in ("binance", "hyperliquid", "bybit"):
        for asset in ASSETS:
            f = src / "funding" / venue / f"{asset}.csv"
            if not f.exists():
                continue
            df = _ts(pd.read_csv(f))
            cols = ["ts", "rate", "interval_hours", "source"]
            if venue == "hyperliquid":
                cols.insert(3, "premium")
            df = df[cols]
            df["interval_hours"] = df["interval_hours"].astype("float64")
            rel = Path("funding") / venue / f"{asset}.parquet"
            _write(df, OUT / rel)
            entries.append(_entry("funding", venue, asset, None, rel, df, f))

    for market in ("binance_perp", "binance_spot", "hyperliquid_perp", "bybit_perp"):
        for asset in ASSETS:
            for interval in ("1h", "4h", "1d"):
                f = src / "prices" / market / f"{asset}_{interval}.csv"
                if not f.exists() or (market == "bybit_perp" and interval == "1d"):
                    continue
                df = _ts(pd.read_csv(f))[["ts", "open", "high", "low", "close", "volume", "source"]]
                rel = Path("prices") / market / f"{asset}_{interval}.parquet"
                _write(df, OUT / rel)
                entries.append(_entry("prices", market, asset, interval, rel, df, f))

    hl = OUT / "hyperliquid"
    hl.mkdir(parents=True, exist_ok=True)
    mt = pd.read_csv(src / "hyperliquid" / "margin_tables_2026-03-10.csv")
    _write(mt, hl / "margin_tables_2026-03-10.parquet")
    uni = pd.read_csv(src / "hyperliquid" / "universe_2026-03-10.csv")
    uni = uni[["name", "szDecimals", "maxLeverage", "marginTableId", "isDelisted", "onlyIsolated"]]
    uni = uni.astype({"isDelisted": "object", "onlyIsolated": "object"})
    _write(uni, hl / "universe_2026-03-10.parquet")
    for rel_name, desc in (
        ("margin_tables_2026-03-10.parquet", "Hyperliquid margin tables 50-56 (tiers by notional), 2026-03-10"),
        ("universe_2026-03-10.parquet", "Hyperliquid perp universe (maxLeverage, marginTableId), 2026-03-10"),
    ):
        entries.append({"kind": "venue", "venue": "hyperliquid", "asset": None, "interval": None,
                        "path": f"hyperliquid/{rel_name}", "rows": None, "first": None, "last": None,
                        "sources": "AG", "notes": desc})

    liq = OUT / "liquidity"
    (liq / "uniswap_v3").mkdir(parents=True, exist_ok=True)
    (liq / "orderbook").mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "liquidity/uniswap_v3/USDC_WETH_0p05_mainnet.meta.json",
                liq / "uniswap_v3/USDC_WETH_0p05_mainnet.meta.json")
    # Ticks kept as CSV text: liquidityNet is a 128-bit integer (exact integer math reads it as str -> int).
    shutil.copy(src / "liquidity/uniswap_v3/USDC_WETH_0p05_mainnet_ticks.csv",
                liq / "uniswap_v3/USDC_WETH_0p05_mainnet_ticks.csv")
    shutil.copy(src / "liquidity/orderbook/bid_depth_snapshot_2026-03.csv",
                liq / "orderbook/bid_depth_snapshot_2026-03.csv")
    entries.append({"kind": "liquidity", "venue": "uniswap_v3", "asset": "ETH", "interval": None,
                    "path": "liquidity/uniswap_v3/USDC_WETH_0p05_mainnet_ticks.csv", "rows": None,
                    "first": None, "last": None, "sources": "LY",
                    "notes": "USDC/WETH 0.05% pool tick liquidity snapshot (~2026-02); liquidity stored as "
                    "float64 upstream, exact to ~15 significant digits"})
    entries.append({"kind": "liquidity", "venue": "orderbook", "asset": None, "interval": None,
                    "path": "liquidity/orderbook/bid_depth_snapshot_2026-03.csv", "rows": None,
                    "first": None, "last": None, "sources": "GM",
                    "notes": "Top-20 bid depth (USD) on Hyperliquid and Lighter, one snapshot ~2026-03-07"})
    (OUT / "provenance.json").write_text(json.dumps(entries, indent=1, default=str) + "\n")
    shutil.copy(src / "README.md", OUT / "SOURCES.md")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(entries)} datasets, {total / 1e6:.2f} MB -> {OUT}")


def _entry(kind: str, venue: str, asset: str, interval: str | None, rel: Path, df: pd.DataFrame,
           src_file: Path) -> dict[str, object]:
    return {
        "kind": kind, "venue": venue, "asset": asset, "interval": interval, "path": str(rel),
        "rows": len(df), "first": df["ts"].iloc[0].isoformat(), "last": df["ts"].iloc[-1].isoformat(),
        "sources": ",".join(sorted(df["source"].astype(str).unique())),
        "notes": NOTES.get((kind, venue, interval if kind == "prices" else None), ""),
        "upstream": f"../shared/data/{src_file.parent.parent.name}/{src_file.parent.name}/{src_file.name}",
    }


if __name__ == "__main__":
    main()
