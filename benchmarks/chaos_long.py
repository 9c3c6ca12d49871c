"""The long chaos soak (not in CI): `basisctl chaos --kills N --seed S --json` with its wall time.

Run:  .venv/bin/python benchmarks/chaos_long.py [--kills 1000] [--seed 1] [--workdir DIR] [--json]

Every kill is a real SIGKILL of a real controller process over the local Hyperliquid-shaped HTTP server with
all the injected faults of ``basisctl.live.chaos``; the simulated venue continues prices past the replay, so any
N finishes. What it reports is the audit (the issue-9 JSON keys) plus wall seconds and seconds per kill. The
baseline in the same run is a 20-kill run with the same seed (the CI size), so the per-kill cost of a long run
(journal growth) is visible as a ratio. Results and the command go into docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

KEYS = ("kills", "cycles", "duplicate_orders", "economic_duplicates", "lost_fills", "position_mismatches",
        "external_events", "external_events_rehedged", "max_unhedged_usd", "max_unhedged_seconds",
        "max_unhedged_seconds_awaiting_adoption", "max_unhedged_seconds_other", "adoptions_overdue",
        "repairs_over_cap", "ok")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-kills", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from basisctl.live.chaos import run_chaos

    out = {}
    for name, n in (("baseline", a.baseline_kills), ("long", a.kills)):
        wd = None if a.workdir is None else a.workdir / name
        t0 = time.perf_counter()
        res = run_chaos(kills=n, seed=a.seed, workdir=wd)
        wall = time.perf_counter() - t0
        out[name] = {**{k: res[k] for k in KEYS}, "wall_s": round(wall, 1), "s_per_kill": round(wall / n, 3),
                     "failures": res["failures"], "faults": res.get("faults")}
    out["per_kill_ratio_long_vs_baseline"] = round(out["long"]["s_per_kill"] / out["baseline"]["s_per_kill"], 2)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for name in ("baseline", "long"):
            r = out[name]
            print(f"{name:>8}: kills {r['kills']}, wall {r['wall_s']} s ({r['s_per_kill']} s/kill), ok={r['ok']}")
        print(f"per-kill cost, long / baseline: {out['per_kill_ratio_long_vs_baseline']}x")


if __name__ == "__main__":
    main()
