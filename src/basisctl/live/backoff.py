"""Jittered exponential backoff for reads and start-up (429 / 5xx / timeouts / disconnects).

Delay of attempt k (0-based): ``uniform(0.5, 1) x min(cap_s, base_s x 2**k)`` [s] ("equal jitter"): retries
from many clients spread out, and the wait never drops below half the nominal step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """Stateful backoff: ``next_delay()`` grows until ``reset()``."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
        self.base_s = base_s
        self.cap_s = cap_s
        self.rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next try [s]."""
        # the exponent is bounded: 2.0 ** 1024 overflows (an outage of ~6 h at the 30 s cap crashed the process)
        nominal = min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 60))
        self.attempt += 1
        return nominal * self.rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> float:
        d = self.next_delay()
        sleep(d)
        return d
