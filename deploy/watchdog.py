#!/usr/bin/env python3
"""External watchdog for a basisctl controller (a process cannot report its own death).

Standard library only: it runs from a systemd timer (deploy/basisctl-watchdog.timer), cron or a container
orchestrator on the same host, NOT inside the controller. It GETs /health and fails when the controller is
unreachable, answers 503, or its last cycle is older than --max-age seconds. A failure posts one JSON alert to
--webhook (any receiver of apprise's json:// shape: {"title", "message", "type"}) and exits 1; while it keeps
failing it does not post again (--state-file remembers), and the first healthy run after a failure posts a
"recovered" message.

    watchdog.py --url http://127.0.0.1:8787/health --max-age 300 --webhook https://hooks.example/basisctl \
                --state-file /var/lib/basisctl/watchdog.state

Exit codes: 0 healthy, 1 unhealthy (alert posted or already posted), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def check(url: str, max_age: float, timeout: float, token: str | None) -> str | None:
    """None when healthy, else one line saying why not."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read() or b"{}")
        except ValueError:
            body = {}
        return f"/health answered {e.code}: {'; '.join(body.get('reasons') or [body.get('reason', '?')])}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return f"controller unreachable at {url} ({getattr(e, 'reason', e)}): dead, hung or not started"
    age = body.get("last_cycle_age_s")
    if age is None:
        return "no cycle yet (last_cycle_age_s is null)"
    if float(age) > max_age:
        return f"last cycle {float(age):.0f} s ago (limit {max_age:g} s): the loop is stuck"
    return None


def post(webhook: str, title: str, message: str, kind: str, timeout: float) -> bool:
    data = json.dumps({"version": "1.0", "title": title, "message": message, "type": kind}).encode()
    req = urllib.request.Request(webhook, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError) as e:
        print(f"watchdog: alert not delivered to the webhook ({getattr(e, 'reason', e)})", file=sys.stderr)
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8787/health")
    ap.add_argument("--max-age", type=float, default=300.0, help="oldest acceptable last cycle [s]")
    ap.add_argument("--webhook", default=os.environ.get("BASISCTL_WATCHDOG_WEBHOOK"),
                    help="JSON webhook for alerts (default $BASISCTL_WATCHDOG_WEBHOOK)")
    ap.add_argument("--state-file", default=None, help="remembers an alert already sent (no repeat)")
    ap.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout [s]")
    ap.add_argument("--name", default=os.uname().nodename, help="who is watched (in the alert title)")
    a = ap.parse_args(argv)
    token = os.environ.get("BASISCTL_API_TOKEN")
    why = check(a.url, a.max_age, a.timeout, token)
    was_failing = bool(a.state_file and os.path.exists(a.state_file))
    if why is None:
        if was_failing:
            if a.webhook:
                post(a.webhook, f"basisctl watchdog {a.name}: recovered", "/health is ok again", "success", a.timeout)
            os.unlink(a.state_file)
        return 0
    print(f"watchdog: {why}", file=sys.stderr)
    if not was_failing:
        sent = post(a.webhook, f"basisctl watchdog {a.name}: CONTROLLER DOWN", why, "failure", a.timeout) \
            if a.webhook else False
        if a.state_file and (sent or not a.webhook):
            with open(a.state_file, "w") as fh:
                fh.write(why + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
