#!/usr/bin/env bash
# Install Voltline into .venv and start it with a demo: a local SQLite database, simulated charge
# points charging at once, and the dashboard URL, login and API token printed.
# Extra arguments go to `voltline serve` (e.g. scripts/demo.sh --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLTLINE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .

exec "$VENV/bin/voltline" serve --demo "$@"
