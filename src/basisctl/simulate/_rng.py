"""Counter-free, per-chunk random streams for the compiled Monte Carlo kernels.

``numba``'s ``np.random`` inside ``prange`` keeps one hidden state per thread: results then depend on how the
scheduler assigns chunks to threads. The kernels here instead carry an explicit xoshiro256** state per
*chunk of paths* (seeded from a ``numpy.random.SeedSequence``), so the output is bit-identical for a given
seed whatever the number of threads. Normals come from Doornik's ZIGNOR ziggurat (128 layers), about 3x
faster than numba's polar method in the inner loop; a Kolmogorov-Smirnov and moment test pins its law.

All functions are written once in plain Python and jitted with :func:`basisctl._jit.njit`; with
``BASISCTL_DISABLE_JIT=1`` they run (slowly) as Python with identical results.

Developer note: numba's on-disk cache keys a kernel on its own source file only. These functions are
inlined into ``kernels.py`` and ``bootstrap.py``: after editing this module, touch those two files (or
delete ``simulate/__pycache__/*.nb*``) or the cached kernels keep the old code.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import njit

ZIG_C: int = 128
ZIG_R: float = 3.442619855899
ZIG_V: float = 9.91256303526217e-3
_INV53: float = 1.0 / 9007199254740992.0  # 2^-53

MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def ziggurat_tables() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Layer abscissae x[0..C] and ratios r[i] = x[i+1]/x[i] of the 128-layer normal ziggurat (Doornik 2005)."""
    x = np.zeros(ZIG_C + 1)
    f = np.exp(-0.5 * ZIG_R * ZIG_R)
    x[0] = ZIG_V / f
    x[1] = ZIG_R
    x[ZIG_C] = 0.0
    for i in range(2, ZIG_C):
        x[i] = np.sqrt(-2.0 * np.log(ZIG_V / x[i - 1] + f))
        f = np.exp(-0.5 * x[i] * x[i])
    r = x[1:] / x[:-1]
    return x, r


ZIG_X, ZIG_RATIO = ziggurat_tables()


def chunk_states(seed: int | np.random.SeedSequence, n_chunks: int) -> NDArray[np.uint64]:
    """(n_chunks, 4) xoshiro256** states, one independent stream per chunk of paths, from a SeedSequence."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    st = ss.generate_state(4 * max(n_chunks, 1), dtype=np.uint64).reshape(-1, 4)
    st[np.all(st == 0, axis=1), 0] = np.uint64(1)  # the all-zero state is the one forbidden state
    return np.ascontiguousarray(st)


@njit(inline="always")
def load_state(state: NDArray[np.uint64]) -> tuple:
    """The four words (s0, s1, s2, s3) of one xoshiro256** state (a row of :func:`chunk_states`)."""
    return state[0], state[1], state[2], state[3]


@njit(inline="always")
def xoshiro_next(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64) -> tuple:
    """One xoshiro256** step: returns (output, new state...)."""
    x = s1 * np.uint64(5)
    result = ((x << np.uint64(7)) | (x >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return result, s0, s1, s2, s3


@njit(inline="always")
def to_unit(r: np.uint64) -> float:
    """Top 53 bits of a 64-bit draw as a float in [0, 1) (signed conversion: one instruction on x86)."""
    return float(np.int64(r >> np.uint64(11))) * _INV53


@njit(inline="always")
def std_normal(
    s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64,
    zx: NDArray[np.float64], zr: NDArray[np.float64],
) -> tuple:
    """One N(0,1) draw by the ZIGNOR ziggurat; returns (z, new state...).

    (An out-of-line slow path was tried: faster in isolation, slower inside the hit kernel.)"""
    while True:
        r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        u = 2.0 * to_unit(r) - 1.0
        i = (r >> np.uint64(4)) & np.uint64(127)
        if abs(u) < zr[i]:
            return u * zx[i], s0, s1, s2, s3
        if i == np.uint64(0):  # base layer: the tail beyond R by Marsaglia's method
            xx = 0.0
            while True:
                r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                xx = np.log(1.0 - to_unit(r)) / 3.442619855899
                r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                yy = np.log(1.0 - to_unit(r))
                if -2.0 * yy >= xx * xx:
                    break
            if u < 0.0:
                return xx - 3.442619855899, s0, s1, s2, s3
            return 3.442619855899 - xx, s0, s1, s2, s3
        xx = u * zx[i]
        f0 = np.exp(-0.5 * (zx[i] * zx[i] - xx * xx))
        f1 = np.exp(-0.5 * (zx[i + np.uint64(1)] * zx[i + np.uint64(1)] - xx * xx))
        r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        if f1 + to_unit(r) * (f0 - f1) < 1.0:
            return xx, s0, s1, s2, s3


@njit(inline="always")
def uniform_index(
    s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, n: int
) -> tuple:
    """Uniform integer in [0, n) (bias below n / 2^53, negligible for n < 1e9); returns (j, new state...)."""
    r, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
    j: np.int64 | int = np.int64(to_unit(r) * n)  # local annotation: never evaluated, numba sees no change
    if j >= n:
        j = n - 1
    return j, s0, s1, s2, s3


@njit(cache=True)
def normals_nb(n: int, state: NDArray[np.uint64], zx: NDArray[np.float64], zr: NDArray[np.float64]) -> NDArray:
    """``n`` standard normals from one stream (for tests of the generator's law); advances ``state``."""
    s0, s1, s2, s3 = load_state(state)
    out = np.empty(n)
    for k in range(n):
        z, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3, zx, zr)
        out[k] = z
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out
