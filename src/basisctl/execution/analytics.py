"""Execution analytics from a trade log (paper Sec. X, Tables XIII, XIV, XXV; eqs. 50-52).

Trade-log schema (CSV or Parquet), one row per executed basis trade::

    timestamp     ISO-8601 / any pandas-parsable time (UTC assumed when naive), or epoch milliseconds
    side          buy-basis | sell-basis
    notional_usd  executed spot notional [USD], > 0
    target_bps    the controller's cost target K_i^target at decision time [bps of notional]
    realized_bps  realised effective cost C_i^real [bps of notional]

Definitions: slack_i = realized − target [bps]; W_i(b) = 1{slack_i <= b} (eq. 50); WR(b) = mean W_i(b)
(eq. 51); WR$(b) = Σ q_i W_i(b) / Σ q_i (eq. 52). The minimum additional buffer for success level p is the
smallest b >= 0 with WR$(b) >= p; WR$ is a right-continuous step function jumping at the sorted slacks, so the
answer is exactly max(0, slack_(k)) for the first sorted index k whose cumulative weight share reaches p.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from basisctl.errors import DataValidationError, ModelDomainError, ValidationIssue

TRADE_COLUMNS: tuple[str, ...] = ("timestamp", "side", "notional_usd", "target_bps", "realized_bps")
SUCCESS_LEVELS: tuple[float, ...] = (0.90, 0.95, 0.98)
GROUPS: tuple[str, ...] = ("buy-basis", "sell-basis", "all")
_TOL = 1e-12
_COLORS = {"buy-basis": "tab:blue", "sell-basis": "tab:red", "all": "black"}


# ------------------------------------------------------------------------------------------------ loading
def load_trade_log(path: str | Path) -> pd.DataFrame:
    """Read and validate a trade log. Returns columns timestamp (UTC), side, notional_usd, target_bps,
    realized_bps, slack_bps. Every bad cell is reported (row = 0-based data row)."""
    p = Path(path)
    sp = str(p)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", sp)
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            raw = pd.read_parquet(p)
        elif suffix in (".csv", ".txt", ""):
            raw = pd.read_csv(p, dtype=str, keep_default_na=False)
        else:
            raise DataValidationError(sp, [ValidationIssue(None, None, "a .csv or .parquet trade log", suffix)])
    except (ValueError, OSError) as e:
        if isinstance(e, DataValidationError):
            raise
        raise DataValidationError(sp, [ValidationIssue(None, None, "a readable CSV/Parquet file",
                                                       str(e).splitlines()[0][:120])]) from None
    return validate_trade_log(raw, sp)


def validate_trade_log(raw: pd.DataFrame, source: str = "<trades>") -> pd.DataFrame:
    missing = [c for c in TRADE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(source, [ValidationIssue(None, c, "a column of the trade log "
                                                           f"({', '.join(TRADE_COLUMNS)})", "missing")
                                           for c in missing])
    if raw.empty:
        raise DataValidationError(source, [ValidationIssue(None, None, "at least one trade", "no rows")])
    issues: list[ValidationIssue] = []
    ts_raw = raw["timestamp"]
    if pd.api.types.is_numeric_dtype(ts_raw.dtype):
        ts = pd.to_datetime(ts_raw, unit="ms", utc=True, errors="coerce")
    elif pd.api.types.is_datetime64_any_dtype(ts_raw.dtype):
        ts = pd.to_datetime(ts_raw, utc=True)
    else:
        s = ts_raw.astype(str).str.strip()
        is_ms = s.str.fullmatch(r"\d{11,14}")
        ts = pd.to_datetime(s.where(~is_ms), utc=True, errors="coerce", format="mixed")
        if is_ms.any():
            ts = ts.where(~is_ms, pd.to_datetime(pd.to_numeric(s.where(is_ms)), unit="ms", utc=True))
    for i in np.flatnonzero(ts.isna().to_numpy()):
        issues.append(ValidationIssue(int(i), "timestamp", "an ISO-8601 time or epoch milliseconds",
                                      repr(ts_raw.iloc[i])))
    side = raw["side"].astype(str).str.strip().str.lower()
    for i in np.flatnonzero(~side.isin(["buy-basis", "sell-basis"]).to_numpy()):
        issues.append(ValidationIssue(int(i), "side", "'buy-basis' or 'sell-basis'", repr(raw["side"].iloc[i])))
    nums: dict[str, pd.Series] = {}
    for col in ("notional_usd", "target_bps", "realized_bps"):
        v = pd.to_numeric(raw[col], errors="coerce").astype(float)
        bad = ~np.isfinite(v.to_numpy())
        if col == "notional_usd":
            bad |= v.to_numpy() <= 0
        for i in np.flatnonzero(bad):
            issues.append(ValidationIssue(int(i), col, "a finite number" + (" > 0 [USD]" if col == "notional_usd"
                                                                             else " [bps]"), repr(raw[col].iloc[i])))
        nums[col] = v
    if issues:
        issues.sort(key=lambda x: (x.row if x.row is not None else -1, TRADE_COLUMNS.index(x.column or "side")))
        raise DataValidationError(source, issues)
    out = pd.DataFrame({"timestamp": ts, "side": side, **nums})
    out["slack_bps"] = out["realized_bps"] - out["target_bps"]
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------- statistics
def win_rate(slack_bps: NDArray[np.float64], buffer_bps: float = 0.0) -> float:
    """WR(b) (eq. 51): share of trades with realized <= target + b."""
    s = np.asarray(slack_bps, dtype=np.float64)
    return float(np.mean(s <= buffer_bps)) if s.size else float("nan")


def win_rate_weighted(slack_bps: NDArray[np.float64], notional_usd: NDArray[np.float64],
                      buffer_bps: float = 0.0) -> float:
    """WR$(b) (eq. 52): notional-weighted share of trades with realized <= target + b."""
    s = np.asarray(slack_bps, dtype=np.float64)
    q = np.asarray(notional_usd, dtype=np.float64)
    return float(np.sum(q * (s <= buffer_bps)) / np.sum(q)) if s.size else float("nan")


def min_buffer_for(slack_bps: NDArray[np.float64], notional_usd: NDArray[np.float64], p: float,
                   max_buffer_bps: float | None = None) -> float | None:
    """Smallest b >= 0 with WR$(b) >= p [bps], exact from the sorted slacks; None if no trades, p > 1, or the
    answer exceeds ``max_buffer_bps``."""
    s = np.asarray(slack_bps, dtype=np.float64)
    q = np.asarray(notional_usd, dtype=np.float64)
    if s.size == 0 or not 0.0 <= p <= 1.0:
        return None
    if p <= 0.0:  # WR$(0) >= 0 always: b = 0 is the smallest admissible buffer
        return 0.0
    order = np.argsort(s, kind="stable")
    s, q = s[order], q[order]
    share = np.cumsum(q) / np.sum(q)
    k = int(np.searchsorted(share, p - _TOL, side="left"))
    k = min(k, s.size - 1)
    b = max(0.0, float(s[k]))
    if max_buffer_bps is not None and b > max_buffer_bps:
        return None
    return b


def bootstrap_median_ci(x: NDArray[np.float64], n_boot: int = 2000, level: float = 0.95,
                        seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the median [same unit as x]; seeded (numpy Generator)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return None
    rng = np.random.default_rng(seed)
    meds = np.empty(n_boot)
    chunk = max(1, 2_000_000 // x.size)
    for i in range(0, n_boot, chunk):
        m = min(chunk, n_boot - i)
        meds[i:i + m] = np.median(x[rng.integers(0, x.size, size=(m, x.size))], axis=1)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(meds, [a, 1.0 - a])
    return float(lo), float(hi)


def group_stats(d: pd.DataFrame, n_boot: int = 2000, seed: int = 0, levels: tuple[float, ...] = SUCCESS_LEVELS,
                max_buffer_bps: float | None = None) -> dict[str, Any]:
    """Table XIII/XIV/XXV figures for one group of trades."""
    s = d["slack_bps"].to_numpy()
    q = d["notional_usd"].to_numpy()
    r = d["realized_bps"].to_numpy()
    n = len(d)
    ci = bootstrap_median_ci(r, n_boot, 0.95, seed)
    return {
        "trades": n,
        "volume_usd": float(q.sum()),
        "median_abs_bps": float(np.median(np.abs(r))) if n else None,
        "median_bps": float(np.median(r)) if n else None,
        "median_bps_ci95": list(ci) if ci else None,
        "median_target_bps": float(np.median(d["target_bps"])) if n else None,
        "median_error_bps": float(np.median(s)) if n else None,
        "p90_error_bps": float(np.quantile(s, 0.9)) if n else None,
        "win_rate": win_rate(s, 0.0) if n else None,
        "win_rate_weighted": win_rate_weighted(s, q, 0.0) if n else None,
        "buffer_bps_for": {f"{p:.2f}": min_buffer_for(s, q, p, max_buffer_bps) for p in levels},
    }


def _groups(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"buy-basis": df[df["side"] == "buy-basis"], "sell-basis": df[df["side"] == "sell-basis"], "all": df}


@dataclass(frozen=True)
class ExecutionReport:
    """Raw and post-filter (notional >= q_min) execution evidence per side and for all trades."""

    trades: pd.DataFrame
    q_min_usd: float
    raw: dict[str, dict[str, Any]]
    filtered: dict[str, dict[str, Any]]
    n_boot: int
    seed: int
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "q_min_usd": self.q_min_usd,
                "bootstrap": {"n_boot": self.n_boot, "seed": self.seed, "level": 0.95, "statistic": "median_bps"},
                "raw": self.raw, "filtered": self.filtered}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for sample, groups in (("raw", self.raw), ("filtered", self.filtered)):
            for g, st in groups.items():
                row = {"sample": sample, "side": g}
                row.update({k: v for k, v in st.items() if k not in ("buffer_bps_for", "median_bps_ci95")})
                for p, b in st["buffer_bps_for"].items():
                    row[f"buffer_bps_for_{p}"] = b
                rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        a, f = self.raw["all"], self.filtered["all"]
        return (f"{a['trades']} trades (${a['volume_usd']:,.0f}); {f['trades']} with notional >= "
                f"${self.q_min_usd:,.0f}; raw WR$ {a['win_rate_weighted']:.1%}, filtered buffer for 95%: "
                f"{f['buffer_bps_for']['0.95']} bps")


def execution_report(trades: pd.DataFrame, q_min_usd: float = 10_000.0, n_boot: int = 2000, seed: int = 0,
                     max_buffer_bps: float | None = None, source: str = "") -> ExecutionReport:
    """Build the report from a validated trade log (see :func:`load_trade_log`)."""
    if q_min_usd < 0:
        raise ModelDomainError("q_min_usd must be >= 0")
    if n_boot < 1:
        raise ModelDomainError("n_boot must be >= 1")
    filt = trades[trades["notional_usd"] >= q_min_usd]
    raw = {g: group_stats(d, n_boot, seed, max_buffer_bps=max_buffer_bps) for g, d in _groups(trades).items()}
    fil = {g: group_stats(d, n_boot, seed, max_buffer_bps=max_buffer_bps) for g, d in _groups(filt).items()}
    return ExecutionReport(trades, float(q_min_usd), raw, fil, n_boot, seed, source)


# ------------------------------------------------------------------------------------------------ figures
def write_figures(report: ExecutionReport, out_dir: str | Path) -> list[str]:
    """Realised vs target scatter (45° line + OLS fit per side) and buffer–success curves (WR and WR$ vs b,
    raw and filtered). PNG files; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = report.trades
    paths: list[str] = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, side, color in zip(axes, ("buy-basis", "sell-basis"), ("tab:blue", "tab:red"), strict=True):
        d = df[df["side"] == side]
        ax.set_title(f"{side}: realised vs target ({len(d)} trades)")
        ax.set_xlabel("target K^target [bps]")
        ax.set_ylabel("realised C^real [bps]")
        if len(d):
            x, y = d["target_bps"].to_numpy(), d["realized_bps"].to_numpy()
            ax.scatter(x, y, s=8, alpha=0.4, color=color, label="trades")
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="45° line")
            if len(d) >= 2 and np.ptp(x) > 0:
                b1, b0 = np.polyfit(x, y, 1)
                xs = np.linspace(float(x.min()), float(x.max()), 2)
                ax.plot(xs, b0 + b1 * xs, color="k", lw=1.5, label=f"fit: {b0:.1f} + {b1:.2f}·target")
            ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    p1 = out / "realised_vs_target.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    paths.append(str(p1))

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    slack_all = df["slack_bps"].to_numpy()
    b_hi = float(max(20.0, np.quantile(slack_all, 0.99))) if slack_all.size else 20.0
    grid = np.linspace(0.0, b_hi, 401)
    for ax, (name, sub) in zip(axes, (("raw", df), ("filtered", df[df["notional_usd"] >= report.q_min_usd])),
                               strict=True):
        for g, dd in _groups(sub).items():
            if not len(dd):
                continue
            s, q = dd["slack_bps"].to_numpy(), dd["notional_usd"].to_numpy()
            col = _COLORS[g]
            ax.plot(grid, [win_rate_weighted(s, q, b) for b in grid], color=col, label=f"{g} WR$")
            ax.plot(grid, [win_rate(s, b) for b in grid], color=col, ls=":", label=f"{g} WR")
        for lev in SUCCESS_LEVELS:
            ax.axhline(lev, color="grey", lw=0.6)
        extra = f", q >= ${report.q_min_usd:,.0f}" if name == "filtered" else ""
        ax.set_title(f"buffer–success ({name}{extra})")
        ax.set_xlabel("additional buffer b [bps]")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("success rate")
    fig.tight_layout()
    p2 = out / "buffer_success.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    paths.append(str(p2))
    return paths


# --------------------------------------------------------------------------------------- synthetic example
def synthetic_trade_log(n_buy: int = 675, n_sell: int = 1249, seed: int = 0,
                        start: str = "2025-04-01") -> pd.DataFrame:
    """A SYNTHETIC trade log from a seeded model (not real data), shaped loosely like the paper's live sample:
    lognormal notionals (median ≈ $2.5k, ~10% above $10k), targets around 18 bps (buy) / 39 bps (sell),
    realised = target + noise with a heavier right tail on the sell side. For demos and tests only."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp(start, tz="UTC")
    for side, n, tgt, tail in (("buy-basis", n_buy, 18.0, 4.0), ("sell-basis", n_sell, 39.0, 9.0)):
        q = np.exp(rng.normal(np.log(2500.0), 1.1, n))
        target = tgt * np.exp(rng.normal(0.0, 0.25, n))
        noise = rng.normal(-1.0, 3.0, n) + rng.exponential(tail, n) * (rng.random(n) < 0.15)
        realized = target + noise
        ts = t0 + pd.to_timedelta(np.sort(rng.uniform(0, 240 * 24 * 3600, n)), unit="s")
        rows.append(pd.DataFrame({"timestamp": ts, "side": side, "notional_usd": q.round(2),
                                  "target_bps": target.round(3), "realized_bps": realized.round(3)}))
    return pd.concat(rows).sort_values("timestamp").reset_index(drop=True)
