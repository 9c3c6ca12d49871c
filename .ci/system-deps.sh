#!/usr/bin/env bash
# System packages the test suite needs beyond PyPI (none yet).
set -euo pipefail
exit 0
