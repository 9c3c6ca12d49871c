"""Allocation of capital across (asset, venue) from venue tables (the Python API returns DataFrames).

Inputs per position: ``expected_apy`` (net carry APY from :mod:`basisctl.venues.choice`), ``alpha_target``,
``capacity_usd`` (V^max from the execution layer, ``basisctl costs capacity``; inf = not given) and, optionally,
a history of the position's carry APY for the covariance (weekly means of 1-day carry x 365, aligned on common
weeks; Ledoit-Wolf shrinkage). Solved by :func:`basisctl.portfolio.allocate.solve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from basisctl.calibration.funding import rolling_carry
from basisctl.errors import BasisctlError
from basisctl.portfolio.allocate import make_problem, shrinkage_covariance, solve

MIN_COMMON_WEEKS = 8


@dataclass(frozen=True)
class Allocation:
    """One position per row (asset, venue, capital_usd, alpha_target, expected_apy) and the book's figures:
    ``book_apy`` [decimal per year on the whole capital, cash earns 0] and ``book_apy_std`` (its spread, the standard
    deviation of weekly funding APY under the shrinkage covariance; NaN without histories)."""

    positions: pd.DataFrame
    capital_usd: float
    book_apy: float
    book_apy_std: float
    unallocated_usd: float
    method: str
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.positions.copy()

    def to_dict(self) -> dict[str, object]:
        return {"capital_usd": self.capital_usd, "book_apy": self.book_apy, "book_apy_std": self.book_apy_std,
                "unallocated_usd": self.unallocated_usd, "method": self.method, "warnings": self.warnings,
                "positions": self.positions.to_dict(orient="records")}

    def summary(self) -> str:
        return (f"{len(self.positions)} positions, ${self.capital_usd - self.unallocated_usd:,.0f} of "
                f"${self.capital_usd:,.0f} allocated; book APY {self.book_apy:.2%} (std {self.book_apy_std:.2%})")


def weekly_apy(funding: pd.DataFrame) -> pd.Series:
    """Weekly means of 1-day cumulative funding x 365 [decimal per year] over calendar weeks (Monday 00:00 UTC
    to the next Monday, ``W-MON`` bins closed on the left), indexed by the week's Monday: streams that start on
    different weekdays share the same week labels, so their common weeks line up for the covariance."""
    c = rolling_carry(funding, 24.0)
    if c.empty:
        return pd.Series(dtype=float)
    return (c * 365.0).resample("W-MON", closed="left", label="left").mean().dropna()


def allocate(table: pd.DataFrame, capital_usd: float, *, max_venue_share: float = 0.4, max_asset_share: float = 0.4,
             risk_aversion: float = 1.0, history: dict[tuple[str, str], pd.Series] | None = None) -> Allocation:
    """Allocate ``capital_usd`` over the rows of ``table`` (columns asset, venue, expected_apy, alpha_target,
    capacity_usd). Rows whose expected_apy is missing are refused: rank venues first and drop the unranked."""
    if not capital_usd > 0:
        raise BasisctlError(f"capital_usd must be > 0 (got {capital_usd})")
    need = {"asset", "venue", "expected_apy", "alpha_target", "capacity_usd"}
    if missing := need - set(table.columns):
        raise BasisctlError(f"allocation table lacks columns {sorted(missing)}")
    t = table.reset_index(drop=True)
    if t["expected_apy"].isna().any():
        raise BasisctlError("expected_apy missing for " + ", ".join(
            f"{r.asset}/{r.venue}" for r in t[t["expected_apy"].isna()].itertuples()) + ": unranked rows cannot be "
            "allocated")
    if t.duplicated(["asset", "venue"]).any():
        raise BasisctlError("one row per (asset, venue) expected")
    venues = sorted(t["venue"].unique())
    assets = sorted(t["asset"].unique())
    v_of = t["venue"].map({v: i for i, v in enumerate(venues)}).to_numpy()
    a_of = t["asset"].map({a: i for i, a in enumerate(assets)}).to_numpy()
    cap = np.minimum(t["capacity_usd"].to_numpy(float) / capital_usd, 1.0)
    warnings: list[str] = []
    sigma = None
    lam = 0.0
    method = "linear programme (maximise expected net carry; no covariance)"
    if history is None and risk_aversion > 0:
        warnings.append(f"risk aversion {risk_aversion:g} but no funding history given: no covariance, "
                        "diversification term dropped (linear programme)")
    if history is not None and risk_aversion > 0:
        keys = list(zip(t["asset"].astype(str), t["venue"].astype(str), strict=True))
        cols = {i: history.get(k) for i, k in enumerate(keys)}
        frame = pd.DataFrame({i: s for i, s in cols.items() if s is not None and len(s)})
        frame = frame.dropna()
        if frame.shape[1] == len(t) and frame.shape[0] >= MIN_COMMON_WEEKS:
            sigma, delta = shrinkage_covariance(frame.to_numpy())
            lam = risk_aversion
            method = (f"mean-variance (risk aversion {risk_aversion:g}) on weekly funding APY, Ledoit-Wolf "
                      f"shrinkage {delta:.2f} over {frame.shape[0]} common weeks")
        else:
            warnings.append(f"fewer than {MIN_COMMON_WEEKS} common weeks of funding across the positions: "
                            "diversification term dropped (linear programme)")
    p = make_problem(t["expected_apy"].to_numpy(float), cap, v_of, a_of, [max_venue_share] * len(venues),
                     [max_asset_share] * len(assets), sigma, lam)
    w = solve(p)
    out = pd.DataFrame({"asset": t["asset"], "venue": t["venue"], "capital_usd": w * capital_usd,
                        "alpha_target": t["alpha_target"], "expected_apy": t["expected_apy"]})
    out = out[out["capital_usd"] > 1e-9 * capital_usd].sort_values("capital_usd", ascending=False)
    std = math.sqrt(max(float(w @ sigma @ w), 0.0)) if sigma is not None else math.nan
    return Allocation(out.reset_index(drop=True), float(capital_usd), float(p.mu @ w), std,
                      float(capital_usd * (1 - w.sum())), method, warnings)
