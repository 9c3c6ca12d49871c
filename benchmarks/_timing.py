"""Shared timing helper for the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time [s] of ``repeat`` calls of ``fn`` (warm-up, e.g. JIT compilation, is the caller's job)."""
    ts = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def print_summary(out: Mapping[str, object], as_json: bool, line: str) -> None:
    """A benchmark's figures as one JSON line (``--json``), else the human summary ``line``."""
    print(json.dumps(out) if as_json else line)


def print_results(out: Mapping[str, object], as_json: bool, key_fmt: str = "40s", value_fmt: str = ".4g",
                  sep: str = " ") -> None:
    """A benchmark's figures: indented JSON (``--json``), else one line per figure, the name formatted with
    ``key_fmt`` and floats with ``value_fmt``."""
    if as_json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        print(f"{k:{key_fmt}}{sep}{v:{value_fmt}}" if isinstance(v, float) else f"{k:{key_fmt}}{sep}{v}")
