"""Simulated paths of one (asset, generator): the shared burn-in, the rules calibrated on it, the test paths.

Seeds (``numpy.random.SeedSequence`` entropy lists, so a path never depends on chunking, order or executor):
burn-in block starts [seed, generator, 0] and test-path block starts [seed, generator, 1, path] are common to
every asset; Kou innovations [seed, generator, 2 + asset index, path] (burn-in: path = -1 -> 10**9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import FrozenRule, RuleSpec
from basisctl.study.batch import Liquidation, PathBatch, run_batch
from basisctl.study.calibrate import calibrate_on_frames, param_column
from basisctl.study.generators import (
    BARS_PER_DAY,
    FHSGen,
    History,
    KouGen,
    block_bar_starts,
    fhs_path,
    fit_fhs_gen,
    fit_kou_gen,
    kou_path,
    valid_starts,
)

GEN_IDS: dict[str, int] = {"fhs": 0, "kou": 1}
BURN_EPOCH = pd.Timestamp("2001-01-01", tz="UTC")
BURN_KOU_PATH = 10**9


@dataclass(frozen=True)
class SimSetup:
    """Everything a chunk of test paths of one (asset, generator) needs (picklable, for ray)."""

    asset: str
    generator: str
    asset_index: int
    gen: FHSGen | KouGen
    fund: np.ndarray  # the asset's funding grid
    starts_gen: np.ndarray  # valid block-start days of the generator part
    block_days: int
    n_bars: int
    seed: int
    p0: float
    params: np.ndarray  # (fields, rules)
    reset_every: np.ndarray  # (rules,)
    cost_bps: float
    tiers: tuple[np.ndarray, np.ndarray]
    capital: float
    q_min_usd: float
    buffer_bps: float
    liq: Liquidation


def _path(gen: FHSGen | KouGen, fund: np.ndarray, starts_days: np.ndarray, block_days: int, n_bars: int,
          p0: float, kou_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    st = starts_days * BARS_PER_DAY
    if isinstance(gen, FHSGen):
        po, ph, pc, fr, _ = fhs_path(gen, fund, st, block_days, n_bars, gen.s2_uncond, p0)
        return po, ph, pc, fr
    return kou_path(gen, fund, st, block_days, n_bars, p0, kou_rng)


def _draw_starts(valid: np.ndarray, n_blocks: int, entropy: list[int]) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return valid[rng.integers(0, valid.size, size=n_blocks)]


def burn_in_rules(h: History, k: int, generator: str, names: Sequence[str], burn_in_days: float,
                  block_days: int, seed: int, cost_bps: float, cfg: BacktestConfig, spec: RuleSpec,
                  floor_model: str, grid: Sequence[float] = ()) -> tuple[dict[str, FrozenRule], float,
                                                                           dict[float, FrozenRule]]:
    """The burn-in of (asset k, generator) drawn from the ``cal`` part with a generator fitted there, and every
    rule calibrated on it. Returns (rules, last burn-in close, optimal rule per floor multiplier of ``grid``)."""
    gid = GEN_IDS[generator]
    gen_cal = fit_fhs_gen(h, k, 1) if generator == "fhs" else fit_kou_gen(h, k, 1)
    n = round(burn_in_days * BARS_PER_DAY)
    nb = -(-n // (block_days * BARS_PER_DAY))
    starts = _draw_starts(valid_starts(h, 1, block_days), nb, [seed, gid, 0])
    rng = np.random.default_rng(np.random.SeedSequence([seed, gid, 2 + k, BURN_KOU_PATH]))
    po, ph, pc, fr = _path(gen_cal, h.fund[k], starts, block_days, n, 1.0, rng)
    ts = pd.date_range(BURN_EPOCH, periods=n, freq="1h")
    candles = pd.DataFrame({"ts": ts, "open": po, "high": ph, "low": np.minimum(po, pc), "close": pc})
    funding = pd.DataFrame({"ts": ts[1:], "rate": fr[1:], "interval_hours": 1.0})
    rules, tuned = calibrate_on_frames(h.assets[k], candles, funding, names, cost_bps, cfg, spec, floor_model,
                                       grid)
    return rules, float(pc[-1]), tuned


def sim_setup(h: History, k: int, generator: str, rules: dict[str, FrozenRule], names: Sequence[str], p0: float,
              years: float, block_days: int, seed: int, cost_bps: float, tiers: tuple[np.ndarray, np.ndarray],
              cfg: BacktestConfig) -> SimSetup:
    gen = fit_fhs_gen(h, k, 0) if generator == "fhs" else fit_kou_gen(h, k, 0)
    params, reset = param_column(rules, names, 1.0)
    return SimSetup(h.assets[k], generator, k, gen, h.fund[k], valid_starts(h, 0, block_days), block_days,
                    round(years * 8760), seed, p0, params, reset, cost_bps, tiers, cfg.capital_usd, cfg.q_min_usd,
                    cfg.buffer_bps, Liquidation.of(cfg))


def run_sim_chunk(s: SimSetup, path_ids: Sequence[int]) -> np.ndarray:
    """Metrics (rules, len(path_ids), METRICS) of the test paths ``path_ids``."""
    gid = GEN_IDS[s.generator]
    nb = -(-s.n_bars // (s.block_days * BARS_PER_DAY))
    b = PathBatch.empty()
    for i in path_ids:
        starts = _draw_starts(s.starts_gen, nb, [s.seed, gid, 1, int(i)])
        rng = np.random.default_rng(np.random.SeedSequence([s.seed, gid, 2 + s.asset_index, int(i)]))
        po, ph, pc, fr = _path(s.gen, s.fund, starts, s.block_days, s.n_bars, s.p0, rng)
        b.add(po, ph, pc, po, pc, fr, np.zeros_like(fr), s.cost_bps, s.tiers)
    n = len(path_ids)
    params = np.repeat(s.params[:, :, None], n, axis=2)
    reset = np.repeat(s.reset_every[:, None], n, axis=1)
    return run_batch(b, params, reset, s.capital, s.q_min_usd, s.buffer_bps, s.liq)


__all__ = ["BARS_PER_DAY", "SimSetup", "block_bar_starts", "burn_in_rules", "run_sim_chunk", "sim_setup"]
