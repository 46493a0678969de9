#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run all of it.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLTLINE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[test]'

# The dashboard's charting library, bundled from package-lock.json (Node.js and npm).
bash scripts/build-web.sh

# The dashboard tests drive Debian's headless Chromium (browser downloads are not used).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium for the browser tests…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing; browser tests will be skipped (install Debian's chromium package)" >&2
  fi
fi

exec "$VENV/bin/python" -m pytest "$@"
