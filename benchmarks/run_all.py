"""Run every benchmark once and print its output: ``python benchmarks/run_all.py [--quick]``.

Each benchmark measures its baseline in the same run and prints ratios. ``--quick`` lowers repeat counts and
skips the naive static baseline (≈ 30 s); the fractal-defi parity study runs only when ``.venv-bench`` exists
(see docs/parity.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rep = ["--repeat", "1" if args.quick else "3"]
    runs: list[list[str]] = [
        ["bench_static.py", *rep],
        ["bench_mc.py", *rep],
        ["bench_backtest.py", *rep],
        ["bench_execution.py"],
        ["bench_risk.py"],
        ["bench_allocate.py", *rep],
    ]
    if (HERE.parent / ".venv-bench" / "bin" / "python").exists():
        runs.append(["parity_fractal.py"])
    failed = 0
    for cmd in runs:
        print(f"\n=== {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(HERE / cmd[0]), *cmd[1:]])
        print(f"--- exit {rc}, {time.perf_counter() - t0:.1f} s", flush=True)
        failed += rc != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
