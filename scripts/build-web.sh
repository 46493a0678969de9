#!/usr/bin/env bash
# Bundle the dashboard's browser libraries into voltline/web/static/vendor/ (built here, never
# committed): the versions package-lock.json pins, installed with the machine's Node.js and npm.
# Run by scripts/demo.sh and scripts/test.sh before anything starts; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=voltline/web/static/vendor

if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Node.js and npm for the dashboard's charts…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "error: npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm), then run $0" >&2
    exit 1
  fi
fi

# npm ci: exactly the lock file's versions, checked against its integrity hashes.
npm ci --prefer-offline --no-audit --no-fund --loglevel=error

mkdir -p "$VENDOR"
cp node_modules/chart.js/dist/chart.umd.min.js "$VENDOR/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$VENDOR/chart.js.LICENSE.md"
echo "dashboard bundle: $VENDOR/chart.umd.min.js (Chart.js $(node -p 'require("./node_modules/chart.js/package.json").version'))"
