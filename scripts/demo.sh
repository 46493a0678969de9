#!/usr/bin/env bash
# Install Voltline into .venv and start it with a demo: a local SQLite database (voltline-demo.db),
# simulated charge points charging at once, and the dashboard URL, login, API token and the
# commands to try it from a second terminal printed.
# Ports: VOLTLINE_PORT (HTTP, default 8000) and VOLTLINE_OCPP_PORT (OCPP, default 9000), or
# --port / --ocpp-port: extra arguments go to `voltline serve` (e.g. scripts/demo.sh --port 8080).
# VOLTLINE_VENV chooses the virtual environment (default .venv), PYTHON the Python that makes it.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLTLINE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .

# The dashboard's charting library, bundled from package-lock.json (Node.js and npm).
bash scripts/build-web.sh

exec "$VENV/bin/voltline" serve --demo "$@"
