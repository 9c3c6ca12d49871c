"""Diebold-Mariano with HAC (h-1 lags) and the Harvey-Leybourne-Newbold correction: hand values and size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from basisctl.errors import ModelDomainError
from basisctl.forecast.dm import diebold_mariano


def test_hand_computation_h2() -> None:
    # d = |e1| - |e2| = 1..6, T = 6, h = 2: dbar = 3.5, gamma0 = 17.5/6, gamma1 = 8.75/6, V = 35/6
    # DM = 3.5 / sqrt(V / 6) = 3.549648; HLN factor sqrt((6 + 1 - 4 + 2/6) / 6) = sqrt(5/9); DM* = sqrt(7)
    e1 = np.arange(1.0, 7.0)
    e2 = np.zeros(6)
    r = diebold_mariano(e1, e2, h=2)
    assert r.mean_diff == 3.5
    assert r.dm == pytest.approx(3.5 / math.sqrt(35.0 / 36.0), rel=1e-14)
    assert r.stat == pytest.approx(math.sqrt(7.0), rel=1e-14)
    assert r.kernel == "rectangular"
    # two-sided p from Student t with 5 df at sqrt(7): closed form of the t_5 CDF
    x = math.sqrt(7.0)
    th = math.atan(x / math.sqrt(5.0))
    cdf = 0.5 + (th + math.sin(th) * math.cos(th) * (1 + 2.0 / 3.0 * math.cos(th) ** 2)) / math.pi
    assert r.p == pytest.approx(2 * (1 - cdf), rel=1e-10)
    assert r.p == pytest.approx(0.045659, abs=1e-6)


def test_h1_is_the_plain_t_statistic_scaled_by_hln() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0.3, 1.0, 50)
    r = diebold_mariano(d, np.zeros(50), h=1)  # |e1| = d only for positive d: use squared loss instead
    r2 = diebold_mariano(np.sqrt(np.abs(d)) * np.sign(d), np.zeros(50), h=1, power=2)
    dd = np.abs(d)
    assert r.dm == pytest.approx(dd.mean() / math.sqrt(dd.var() / 50), rel=1e-12)
    assert r.stat == pytest.approx(r.dm * math.sqrt((50 + 1 - 2) / 50), rel=1e-12)
    assert r2.mean_diff == pytest.approx(dd.mean(), rel=1e-12)


def test_negative_rectangular_variance_falls_back_to_bartlett() -> None:
    # d = [1, -1, 2, 0] (h = 2): gamma0 = 1.25, gamma1 = -0.9375 -> rectangular V < 0; Bartlett: 1.25 - 0.9375
    e1 = np.array([1.0, 0.0, 2.0, 0.0])
    e2 = np.array([0.0, 1.0, 0.0, 0.0])
    r = diebold_mariano(e1, e2, h=2)
    assert r.kernel == "bartlett"
    assert r.dm == pytest.approx(0.5 / math.sqrt((1.25 - 0.9375) / 4), rel=1e-12)


def test_size_under_the_null_with_overlapping_errors() -> None:
    """MA(h-1) loss differentials with mean 0: the HLN test rejects about 5 % at the 5 % level."""
    rng = np.random.default_rng(7)
    h, t, reps = 5, 300, 800
    rej = 0
    for _ in range(reps):
        u = rng.normal(size=(2, t + h - 1))
        e1 = np.convolve(u[0], np.ones(h), "valid")
        e2 = np.convolve(u[1], np.ones(h), "valid")
        rej += diebold_mariano(e1, e2, h, power=2).p < 0.05
    rate = rej / reps
    assert 0.02 < rate < 0.10, rate


def test_bad_input_is_refused() -> None:
    with pytest.raises(ModelDomainError):
        diebold_mariano(np.zeros(3), np.zeros(4), 1)
    with pytest.raises(ModelDomainError):
        diebold_mariano(np.zeros(10), np.zeros(10), 0)
    with pytest.raises(ModelDomainError, match="too few"):
        diebold_mariano(np.zeros(5), np.zeros(5), 3)
