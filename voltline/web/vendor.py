"""The dashboard's charting library (Chart.js), bundled into static/vendor/ by scripts/build-web.sh.

The bundle is built from package-lock.json, never kept in git. A checkout that has not built it
still serves every page: the charts say how to get them, and the server says so once at start.
"""

from __future__ import annotations

import logging
from pathlib import Path

STATIC = Path(__file__).parent / "static"
CHART_JS = "vendor/chart.umd.min.js"
BUILD_COMMAND = "scripts/build-web.sh"

log = logging.getLogger("voltline.web")


def bundle() -> Path:
    return STATIC / CHART_JS


def charts_bundled() -> bool:
    """True when the charting library is there to be served (looked up per page: a bundle built
    while the server runs is picked up without a restart)."""
    return bundle().is_file()


def notice_if_missing() -> bool:
    """Log once at start that the dashboard has no charts until the bundle is built; True if it is there."""
    if charts_bundled():
        return True
    log.warning("dashboard charts are off: %s is missing; run %s (Node.js and npm) to bundle the charting library",
                bundle(), BUILD_COMMAND)
    return False
