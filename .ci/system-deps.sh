#!/usr/bin/env bash
# System packages the test suite needs beyond PyPI: Debian's chromium for the dashboard's browser tests
# (Playwright drives /usr/bin/chromium; `playwright install` cannot work offline and is never used).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # a failed install must not fail CI: the browser test then skips with its reason in the pytest output
    { $SUDO apt-get update -qq >/dev/null && \
      $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
      echo "warning: could not install chromium; the dashboard browser test will be skipped" >&2
  else
    echo "warning: no apt-get; browser tests will be skipped" >&2
  fi
fi
