"""``basisctl report`` in its three states (docs/performance.md), each a fresh process, times in one run:

- **cold**: empty numba cache (``NUMBA_CACHE_DIR`` in a new temp dir) and empty result cache;
- **warm**: numba kernels compiled (the cold run's cache), result cache empty;
- **cached**: both filled (the warm run's results), nothing changed since.

``--baseline-src DIR`` also times another checkout's ``src`` (e.g. ``../main/src``, today's report without the
result cache) warm, in the same run: its numba cache is filled by an untimed first run, then the timed one.

    BASISCTL_DATA_DIR=../shared/data python benchmarks/bench_report.py [--quick] [--assets BTC,ETH,LINK,DOGE]
        [--baseline-src ../main/src] [--json]

Prints one line per state (wall and CPU seconds, 1-minute load average before the run) and the ratios. Each
state is one run (a full report takes minutes); the load average says how busy the shared machine was, and CPU
seconds (the report and its workers) are the figure that other jobs on the machine disturb least.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def run_report(src: Path, numba_dir: Path, cache_dir: Path, out: Path, assets: str, quick: bool
               ) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``basisctl report`` in a fresh interpreter importing ``src``; CPU = user + system
    time of the process and its worker processes (robust to other jobs on a shared machine, unlike wall)."""
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_CACHE_DIR": str(numba_dir),
           "BASISCTL_CACHE_DIR": str(cache_dir)}
    cmd = [sys.executable, "-m", "basisctl.cli.main", "report", "--out", str(out), "--assets", assets,
           *(["--quick"] if quick else [])]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if res.returncode != 0:
        raise SystemExit(f"report failed ({res.returncode}) with {src}:\n{res.stderr[-2000:]}")
    return dt, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assets", default="BTC,ETH,LINK,DOGE")
    ap.add_argument("--quick", action="store_true", help="basisctl report --quick (one period per asset)")
    ap.add_argument("--baseline-src", type=Path, default=None, help="another checkout's src/ to time warm")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        t = Path(tmp)
        numba_dir, cache_dir = t / "numba", t / "results"

        def timed(state: str, src: Path, nd: Path, cd: Path) -> None:
            load = os.getloadavg()[0]
            s, cpu = run_report(src, nd, cd, t / f"out-{state}", a.assets, a.quick)
            rows.append({"state": state, "seconds": round(s, 1), "cpu_seconds": round(cpu, 1), "load1": round(load, 2)})
            print(f"{state:>14}: {s:7.1f} s wall, {cpu:7.1f} s CPU   (load average before: {load:.2f})", flush=True)

        timed("cold", SRC, numba_dir, cache_dir)
        timed("warm", SRC, numba_dir, t / "results-warm")
        timed("cached", SRC, numba_dir, t / "results-warm")
        if a.baseline_src is not None:
            base_numba = t / "numba-baseline"
            run_report(a.baseline_src.resolve(), base_numba, t / "r-b0", t / "out-b0", a.assets, a.quick)
            timed("baseline warm", a.baseline_src.resolve(), base_numba, t / "results-baseline")
            timed("warm again", SRC, numba_dir, t / "results-warm2")
    for key in ("seconds", "cpu_seconds"):
        by = {str(r["state"]): float(r[key]) for r in rows}  # type: ignore[arg-type]
        print(f"{key}: cached / warm = {by['cached'] / by['warm']:.3f}", end="")
        if "baseline warm" in by:
            print(f"; warm / baseline warm = {by['warm'] / by['baseline warm']:.2f} (first) and "
                  f"{by['warm again'] / by['baseline warm']:.2f} (after the baseline)", end="")
        print()
    if a.json:
        print(json.dumps({"assets": a.assets, "quick": a.quick, "runs": rows}))


if __name__ == "__main__":
    main()
