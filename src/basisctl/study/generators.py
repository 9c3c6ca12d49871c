"""Simulated price paths: FHS and Kou generators driven by calendar blocks of (z, u, funding) triples.

History (``History``): every asset's 1 h bars and the study's funding stream on one common hourly calendar,
up to ``holdout_from``; a day is usable when every asset has all 24 bars and funding coverage on it. The usable
days are split into two disjoint *parts* by alternating calendar quarters (``gen`` = even quarter index since
2000-Q1, ``cal`` = odd): the generator is fitted on ``gen`` and the burn-in the rules calibrate on is drawn from
``cal``, so the rules' calibration data and the generator's data never share a bar.

A path is a sequence of blocks of ``block_days`` whole days; a block lies inside one quarter of its part, and
its start day is drawn uniformly among the valid ones. **Block starts are common to all assets** (a crash in
the history hits every asset of a simulated path at once), and common to all rules (every rule replays the same
arrays). Per bar of a block the triple (z, u, f) is taken together:

* FHS: z = GARCH(1,1)-standardised close-to-close log return, u = standardised log(high / previous close),
  both demeaned and fitted per (asset, part) (:mod:`basisctl.risk.garch`); the path's volatility follows the
  GARCH recursion from its unconditional variance: r = sigma_t z, high = sigma_t u (never below 0 or r);
* Kou: the log return is a Kou jump diffusion (fitted per (asset, part) by :func:`basisctl.risk.kou.fit_kou`
  with ``match_variance``: the diffusion carries only the variance the jumps leave),
  drawn per path and asset, with a Brownian-bridge maximum inside the bar plus any up-jump; only f comes from
  the block.

Both generators have zero log drift (the study compares rules, not directional bets). Opens equal the previous
close; spot = perp on simulated paths (no basis noise). Funding f is the stream's rate settled at the bar open
[decimal per settlement]. Units: bars of 1 h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.errors import DataCoverageError
from basisctl.risk.garch import fit_garch
from basisctl.risk.kou import fit_kou

F64 = NDArray[np.float64]
BARS_PER_DAY: int = 24
PARTS: tuple[str, str] = ("gen", "cal")


@dataclass(frozen=True)
class History:
    """Hourly grid [ts] x assets: close, high, funding (NaN where missing); ``usable`` per day."""

    assets: tuple[str, ...]
    ts: pd.DatetimeIndex  # hourly bar opens, starting at a UTC midnight
    close: F64  # (assets, bars)
    high: F64
    fund: F64
    usable: NDArray[np.bool_]  # (days,)

    @property
    def days(self) -> pd.DatetimeIndex:
        return self.ts[::BARS_PER_DAY]

    def part_of_day(self) -> NDArray[np.int64]:
        """0 = gen (even calendar quarter), 1 = cal (odd), per day."""
        d = self.days
        q = (d.year - 2000) * 4 + (d.month - 1) // 3
        return np.asarray(q % 2, dtype=np.int64)

    def quarter_of_day(self) -> NDArray[np.int64]:
        d = self.days
        return np.asarray((d.year - 2000) * 4 + (d.month - 1) // 3, dtype=np.int64)


def history_from_frames(candles: dict[str, pd.DataFrame], funding: dict[str, pd.DataFrame],
                        end: pd.Timestamp) -> History:
    """Build the common hourly grid from 1 h candles (ts, high, close) and funding (ts, rate) per asset,
    truncated before ``end``."""
    assets = tuple(sorted(candles))
    first = max(candles[a]["ts"].min() for a in assets).ceil("D")
    first = max(first, max(funding[a]["ts"].min() for a in assets).ceil("D"))
    last_f = min(funding[a]["ts"].max() for a in assets).floor("D")
    last = min(min(candles[a]["ts"].max() for a in assets).floor("D"), last_f, end.floor("D"))
    if last <= first:
        raise DataCoverageError(f"no common span of candles and funding for {', '.join(assets)} before {end:%Y-%m-%d}")
    ts = pd.date_range(first, last, freq="1h", inclusive="left").as_unit("ns")
    n = len(ts)
    close = np.full((len(assets), n), np.nan)
    high = np.full((len(assets), n), np.nan)
    fund = np.zeros((len(assets), n))
    for k, a in enumerate(assets):
        c = candles[a].drop_duplicates("ts").set_index("ts").reindex(ts)
        close[k] = c["close"].to_numpy(float)
        high[k] = c["high"].to_numpy(float)
        f = funding[a]
        f = f[(f["ts"] >= ts[0]) & (f["ts"] <= ts[-1])]
        idx = np.searchsorted(ts.asi8, pd.DatetimeIndex(f["ts"]).as_unit("ns").asi8, side="left")
        ok = idx < n
        np.add.at(fund[k], idx[ok], f["rate"].to_numpy(float)[ok])
    day_ok = np.isfinite(close).reshape(len(assets), -1, BARS_PER_DAY).all(axis=(0, 2))
    day_ok &= np.isfinite(high).reshape(len(assets), -1, BARS_PER_DAY).all(axis=(0, 2))
    return History(assets, ts, close, high, fund, day_ok)


def valid_starts(h: History, part: int, block_days: int) -> NDArray[np.int64]:
    """Day indices where a block of ``block_days`` usable days of ``part`` starts inside one quarter (and the
    bar before it exists, so its first return is defined)."""
    use = h.usable & (h.part_of_day() == part)
    q = h.quarter_of_day()
    nd = use.size
    out = []
    for d in range(1, nd - block_days + 1):
        if use[d:d + block_days].all() and q[d] == q[d + block_days - 1] and h.usable[d - 1]:
            out.append(d)
    if not out:
        raise DataCoverageError(f"no {block_days}-day block of the '{PARTS[part]}' part lies inside one quarter of "
                                f"usable days ({h.ts[0]:%Y-%m-%d} -> {h.ts[-1]:%Y-%m-%d})")
    return np.asarray(out, dtype=np.int64)


def part_returns(h: History, k: int, part: int) -> tuple[F64, NDArray[np.bool_]]:
    """Log returns on the grid (NaN where undefined) and the mask of the part's usable bars with a return."""
    r = np.full(h.ts.size, np.nan)
    r[1:] = np.diff(np.log(h.close[k]))
    day_mask = h.usable & (h.part_of_day() == part)
    mask = np.repeat(day_mask, BARS_PER_DAY) & np.isfinite(r)
    return r, mask


@dataclass(frozen=True)
class FHSGen:
    """GARCH params [per 1 h bar] and the standardised pools on the grid (NaN outside the part)."""

    omega: float
    a: float
    beta: float
    z: F64
    u: F64

    @property
    def s2_uncond(self) -> float:
        return self.omega / (1.0 - self.a - self.beta)


def fit_fhs_gen(h: History, k: int, part: int) -> FHSGen:
    """GARCH(1,1) on the part's returns of asset k; z, u standardised with the filtered variances."""
    r, mask = part_returns(h, k, part)
    rr = r[mask]
    g = fit_garch(rr, f"{h.assets[k]} {PARTS[part]} part")
    s2 = g.filter(rr)[:-1]
    z = np.full(r.size, np.nan)
    u = np.full(r.size, np.nan)
    sd = np.sqrt(s2)
    z[mask] = (rr - g.mean) / sd
    prev_close = np.r_[np.nan, h.close[k][:-1]]
    u[mask] = (np.log(h.high[k][mask] / prev_close[mask]) - g.mean) / sd
    return FHSGen(g.omega, g.a, g.beta, z, u)


@dataclass(frozen=True)
class KouGen:
    """Kou parameters per 1 h bar (diffusion sd, jump probability per bar, p_up, mean sizes)."""

    sd: float
    lam_bar: float
    p_up: float
    m_up: float
    m_down: float


def fit_kou_gen(h: History, k: int, part: int) -> KouGen:
    r, mask = part_returns(h, k, part)
    m = fit_kou(r[mask], 1.0, f"{h.assets[k]} {PARTS[part]} part", match_variance=True)
    return KouGen(float(m.sigma_annual[0]) / np.sqrt(8760.0), float(m.jump_rate_annual[0]) / 8760.0,
                  float(m.p_up[0]), float(m.mean_up[0]), float(m.mean_down[0]))


def block_bar_starts(h: History, part: int, block_days: int, n_blocks: int, rng: np.random.Generator
                     ) -> NDArray[np.int64]:
    """Bar indices of ``n_blocks`` block starts drawn uniformly among the part's valid start days."""
    st = valid_starts(h, part, block_days)
    return st[rng.integers(0, st.size, size=n_blocks)] * BARS_PER_DAY


@njit
def fhs_path_nb(z: F64, u: F64, f: F64, starts: NDArray[np.int64], block_bars: int, n_bars: int, omega: float,
                a: float, beta: float, s2_0: float, p0: float) -> tuple[F64, F64, F64, F64, float]:
    """One FHS path: (open, high, close, funding) per bar and the final variance."""
    po = np.empty(n_bars)
    ph = np.empty(n_bars)
    pc = np.empty(n_bars)
    fr = np.empty(n_bars)
    s2 = s2_0
    lp = np.log(p0)
    for i in range(n_bars):
        j = starts[i // block_bars] + i % block_bars
        sd = np.sqrt(s2)
        e = sd * z[j]
        hi = sd * u[j]
        if hi < e:
            hi = e
        if hi < 0.0:
            hi = 0.0
        po[i] = np.exp(lp)
        ph[i] = np.exp(lp + hi)
        lp += e
        pc[i] = np.exp(lp)
        fr[i] = f[j]
        s2 = omega + a * e * e + beta * s2
    return po, ph, pc, fr, s2


def fhs_path(g: FHSGen, fund: F64, starts: NDArray[np.int64], block_days: int, n_bars: int, s2_0: float,
             p0: float) -> tuple[F64, F64, F64, F64, float]:
    return fhs_path_nb(g.z, g.u, fund, starts, block_days * BARS_PER_DAY, n_bars, g.omega, g.a, g.beta, s2_0, p0)


def kou_path(g: KouGen, fund: F64, starts: NDArray[np.int64], block_days: int, n_bars: int, p0: float,
             rng: np.random.Generator) -> tuple[F64, F64, F64, F64]:
    """One Kou path: diffusion + double-exponential jumps per bar, Brownian-bridge bar maxima, block funding."""
    bb = block_days * BARS_PER_DAY
    idx = starts[np.arange(n_bars) // bb] + np.arange(n_bars) % bb
    x = g.sd * rng.standard_normal(n_bars)
    nj = rng.poisson(g.lam_bar, n_bars)
    tot = int(nj.sum())
    jump = np.zeros(n_bars)
    up_part = np.zeros(n_bars)
    if tot:
        up = rng.random(tot) < g.p_up
        size = np.where(up, rng.exponential(g.m_up, tot), -rng.exponential(g.m_down, tot))
        where = np.repeat(np.arange(n_bars), nj)
        np.add.at(jump, where, size)
        np.add.at(up_part, where, np.where(up, size, 0.0))
    v = rng.random(n_bars)
    bridge = 0.5 * (x + np.sqrt(x * x - 2.0 * g.sd * g.sd * np.log1p(-v)))  # max of a bridge from 0 to x
    r = x + jump
    hi = np.maximum(np.maximum(bridge + up_part, r), 0.0)
    lp = np.log(p0) + np.concatenate([[0.0], np.cumsum(r)])
    return np.exp(lp[:-1]), np.exp(lp[:-1] + hi), np.exp(lp[1:]), fund[idx]


def switching_funding_level(rng: np.random.Generator, n: int) -> F64:
    """A synthetic hourly funding level over ``n`` bars [decimal per hour]: regimes of 10-39 whole days, each at
    +2, -0.5 or +0.3 bp per hour drawn uniformly, so a forecast crosses any hurdle (regime tests and benchmark)."""
    level = np.empty(n)
    i = 0
    while i < n:
        k = int(rng.integers(10, 40)) * 24
        level[i:i + k] = rng.choice([2e-4, -0.5e-4, 0.3e-4])
        i += k
    return level
