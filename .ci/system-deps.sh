#!/usr/bin/env bash
# System packages the test suite needs beyond PyPI: Debian's chromium for the dashboard's browser tests
# (Playwright drives /usr/bin/chromium; `playwright install` cannot work offline and is never used).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "warning: no apt-get; browser tests will be skipped" >&2
  fi
fi
