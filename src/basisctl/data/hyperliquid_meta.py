"""Hyperliquid's stored ``metaAndAssetCtxs`` response (``meta/hyperliquid/...json`` in a data dir): the perp
universe and the margin tables behind its size tiers.

The parser lives in the data layer because the locator reads the stored file (margin tiers are read here and
handed to :mod:`basisctl.model.margin` as arguments); the client that downloads it is
:class:`basisctl.venues.hyperliquid.fetch.HyperliquidInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basisctl.data.fetch._parse import RowErrors
from basisctl.errors import DataValidationError, ValidationIssue


@dataclass(frozen=True)
class HyperliquidMeta:
    """``universe``: one row per perp (index = asset id) with meta fields and ``ctx_*`` context fields;
    ``margin_tables``: margin_table_id, description, tier, lower_bound_usd [USD notional], max_leverage."""

    universe: pd.DataFrame
    margin_tables: pd.DataFrame


def parse_meta_and_asset_ctxs(resp: Any, src: str) -> HyperliquidMeta:
    """Universe (one row per asset, ``ctx_*`` fields) and margin tiers from a raw metaAndAssetCtxs response."""
    if not (isinstance(resp, list) and len(resp) == 2 and isinstance(resp[0], dict) and isinstance(resp[1], list)):
        raise DataValidationError(src, [ValidationIssue(None, None, "[meta, assetCtxs]", str(resp)[:200])])
    meta, ctxs = resp
    universe = meta.get("universe")
    if not isinstance(universe, list) or not universe:
        raise DataValidationError(src, [ValidationIssue(None, "universe", "a list of assets", str(universe))])
    errs = RowErrors(src)
    if len(ctxs) != len(universe):
        errs.add(None, None, f"one asset context per universe entry ({len(universe)})", len(ctxs))
    rows = []
    for i, u in enumerate(universe):
        if not isinstance(u, dict) or "name" not in u:
            errs.add(i, "universe", "an object with name, szDecimals, maxLeverage", u)
            continue
        lev = errs.number(i, u, "maxLeverage", positive=True)
        row: dict[str, Any] = {
            "name": u["name"],
            "szDecimals": u.get("szDecimals"),
            "maxLeverage": lev,
            "marginTableId": u.get("marginTableId"),
            "isDelisted": u.get("isDelisted"),
            "onlyIsolated": u.get("onlyIsolated"),
        }
        ctx = ctxs[i] if i < len(ctxs) and isinstance(ctxs[i], dict) else {}
        for key, val in ctx.items():
            if key == "impactPxs":
                val = ",".join(map(str, val)) if isinstance(val, list) else val
                row[f"ctx_{key}"] = val
                continue
            try:
                row[f"ctx_{key}"] = float(val) if val is not None else np.nan
            except (TypeError, ValueError):
                errs.add(i, f"ctx.{key}", "a numeric string", val)
        rows.append(row)
    tiers = []
    for j, entry in enumerate(meta.get("marginTables", []) or []):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict)):
            errs.add(j, "marginTables", "[id, {description, marginTiers}]", entry)
            continue
        tid, tab = entry
        for k, tier in enumerate(tab.get("marginTiers", [])):
            lb = errs.number(j, tier, "lowerBound")
            ml = errs.number(j, tier, "maxLeverage", positive=True)
            tiers.append(
                {
                    "margin_table_id": int(tid),
                    "description": tab.get("description", ""),
                    "tier": k,
                    "lower_bound_usd": lb,
                    "max_leverage": ml,
                }
            )
    errs.raise_if_any()
    cols = ["margin_table_id", "description", "tier", "lower_bound_usd", "max_leverage"]
    return HyperliquidMeta(universe=pd.DataFrame(rows), margin_tables=pd.DataFrame(tiers, columns=cols))
