from __future__ import annotations

import pytest

from tests.conftest import ServerFactory
from voltline.app import Voltline


@pytest.fixture
async def server(start_server: ServerFactory) -> Voltline:
    # Day and month rollups in the zone the tests ask in: their reports read them, the UTC ones hours.
    return await start_server(reports_time_zone="Europe/Berlin")
