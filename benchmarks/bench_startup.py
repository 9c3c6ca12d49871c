"""CLI start-up: ``basisctl --help`` with lazy imports vs the eager numerical imports it used to do, same run.

Run:  .venv/bin/python benchmarks/bench_startup.py [--repeat 7] [--json]

* ``help``: ``basisctl --help`` in a fresh interpreter (what a user waits for);
* ``help_eager``: the same, after importing numpy, pandas, scipy and numba first (the import set the CLI
  loaded for ``--help`` before issue 10), i.e. the baseline, measured in the same run on the same machine;
* ``cold_report`` / ``warm_report`` (``--report``): ``basisctl report`` with a fresh ``NUMBA_CACHE_DIR`` and
  then again with that cache filled (slow: minutes on a loaded 2-core machine).
Medians of ``--repeat`` runs [s]; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HELP = ("import sys; sys.argv = ['basisctl', '--help']\nfrom basisctl.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n")
EAGER = "import numpy, pandas, scipy.stats, numba\n" + HELP


def _time(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t


def _report(cache: str, out: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from basisctl.cli.main import app; app()", "report", "--out", out],
                   check=True, capture_output=True, env={**os.environ, "NUMBA_CACHE_DIR": cache})
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--report", action="store_true", help="also time a cold and a warm `basisctl report`")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    lazy, eager = [], []
    for _ in range(a.repeat):  # interleaved, so both see the same load
        lazy.append(_time(HELP))
        eager.append(_time(EAGER))
    res: dict[str, float] = {"help_s": statistics.median(lazy), "help_eager_s": statistics.median(eager)}
    res["ratio_eager_over_lazy"] = res["help_eager_s"] / res["help_s"]
    if a.report:
        with tempfile.TemporaryDirectory() as d:
            res["cold_report_s"] = _report(os.path.join(d, "nb"), os.path.join(d, "r1"))
            res["warm_report_s"] = _report(os.path.join(d, "nb"), os.path.join(d, "r2"))
    res["load_avg_1m"] = os.getloadavg()[0]
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:>24}: {v:.3f}")


if __name__ == "__main__":
    main()
