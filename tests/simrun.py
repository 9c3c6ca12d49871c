"""Shared by the tests that run the controller on the simulated venue: the top of a paper config and stopping a
child controller process."""

from __future__ import annotations

import signal
import subprocess

SIM_START = "2025-03-07T00:00:00Z"

#: the top of a paper config on the simulated venue (hourly cadence, manual clock, no dead-man switch); each test
#: appends its own [band], [costs] and [limits] sections
SIM_HEADER = f"""cadence_seconds = 3600
[venue]
kind = "sim"
dead_man_seconds = 0
[sim]
start = "{SIM_START}"
clock = "manual"
"""

#: flat trade costs of 12 bps per side and 60 bps budgets, for a fixed-band test config (its q_min_usd follows)
FLAT_COSTS = """[costs]
model = "flat"
sell_basis_bps = 12
buy_basis_bps = 12
sell_budget_bps = 60
buy_budget_bps = 60
"""


def stop_process(p: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Send ``sig`` to a still-running child, wait up to ``timeout`` seconds, then kill it."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
