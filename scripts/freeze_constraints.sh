#!/bin/sh
# Regenerate constraints.txt from a venv the whole test suite passed in (basisctl itself excluded).
# Usage: scripts/freeze_constraints.sh [path/to/venv]   (default: .venv)
set -eu
venv="${1:-.venv}"
out="$(dirname "$0")/../constraints.txt"
{
  echo "# Pinned versions CI installs with (pip install -c constraints.txt -e '.[test]'): the versions of the"
  echo "# working venv the test suite passed on (Python 3.11, Linux x86_64). Regenerate: scripts/freeze_constraints.sh"
  "$venv/bin/pip" freeze | grep -v '^#' | grep -v '^-e ' | grep -vi '^basisctl=='
} > "$out"
echo "wrote $out"
