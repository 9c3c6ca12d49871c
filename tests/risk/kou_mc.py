"""Independent reference for Kou first passage: exact-jump Monte Carlo with Brownian-bridge crossing.

Between jumps the log price is a Brownian motion with drift; over a diffusion segment from x to y of length
dt the probability that it touched b (both ends below b) is exp(-2 (b - x)(b - y) / (sigma^2 dt)). Jumps are
placed at their exact Poisson times. The estimator per path is 1 - prod(1 - p_segment) (conditional expectation
given the endpoints), or 1 once an endpoint or a post-jump level is at/above b. Plain numpy, no shared code.
"""

from __future__ import annotations

import numpy as np


def kou_hit_mc(b: float, t_years: float, sigma: float, lam: float, p_up: float, m_up: float, m_down: float,
               mu_log: float, n_paths: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(lam * t_years, n_paths)
    kmax = int(counts.max()) if n_paths else 0
    valid = np.arange(kmax)[None, :] < counts[:, None]
    # unused slots are parked at the horizon BEFORE sorting, so the first `count` times are count iid uniforms
    times = np.sort(np.where(valid, rng.uniform(0.0, t_years, (n_paths, kmax)), t_years), axis=1)
    bounds = np.concatenate([np.zeros((n_paths, 1)), times, np.full((n_paths, 1), t_years)], axis=1)
    dts = np.diff(bounds, axis=1)  # (paths, kmax + 1) diffusion segments; padded ones have length 0
    up = rng.uniform(size=(n_paths, kmax)) < p_up
    size = np.where(up, rng.exponential(m_up, (n_paths, kmax)), -rng.exponential(m_down, (n_paths, kmax)))
    size = np.where(valid, size, 0.0)
    z = rng.standard_normal((n_paths, kmax + 1))
    x = np.zeros(n_paths)
    survive = np.ones(n_paths)
    for j in range(kmax + 1):
        dt = dts[:, j]
        y = x + mu_log * dt + sigma * np.sqrt(dt) * z[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(dt > 0, np.exp(-2.0 * (b - x) * (b - y) / (sigma * sigma * dt)), 0.0)
        p_seg = np.where((x >= b) | (y >= b), 1.0, np.minimum(cross, 1.0))
        survive *= 1.0 - p_seg
        x = y
        if j < kmax:
            x = x + size[:, j]
            survive *= np.where(x >= b, 0.0, 1.0)
    hit = 1.0 - survive
    return float(hit.mean()), float(hit.std(ddof=1) / np.sqrt(n_paths))
