"""A certificate near its expiry is renewed: the periodic job asks its charge point (connected over
a real WebSocket) for a new request, once, and the new certificate is issued and delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration import ca_fixtures, sim_fixtures
from tests.integration.ca_fixtures import ConnectStation, Script
from tests.integration.sim_fixtures import Central, eventually
from voltline.app import Voltline
from voltline.store import tables as t

ca_files = ca_fixtures.ca_files
server = ca_fixtures.server
ocpp_station = ca_fixtures.ocpp_station
central = sim_fixtures.central


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"certificate_renewal_interval": 0.2, "certificate_renew_before_days": 30}


async def _delivered(central: Central, count: int) -> list[dict[str, Any]]:
    items = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
    return items if len(items) == count and all(i["delivery_status"] == "Accepted" for i in items) else []


async def test_a_certificate_near_its_expiry_is_renewed_once(
    central: Central, ocpp_station: ConnectStation, server: Voltline
) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script()
    await ocpp_station("CP-1", script=script)
    await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    [first] = await eventually(lambda: _delivered(central, 1), "the first certificate is delivered")
    # A year on, as far as the register is concerned: 10 days left.
    c = t.issued_certificates.c
    soon = datetime.now(UTC) + timedelta(days=10)
    await server.store.write(
        lambda conn: conn.execute(t.issued_certificates.update().where(c.serial == first["serial"]).values(not_after=soon))
    )

    newest, older = await eventually(lambda: _delivered(central, 2), "a renewed certificate is delivered")
    assert older["serial"] == first["serial"] and older["renewal_requested_at"] is not None
    assert newest["state"] == "Valid" and newest["serial"] != first["serial"]
    assert len(script.chains) == 2
    # The new certificate is a year away from its expiry: no more asking, pass after pass.
    before = len(script.triggers)
    await server.services.certificates.renew_due()
    await server.services.certificates.renew_due()
    assert len(script.triggers) == before == 2
    assert script.triggers == ["SignChargePointCertificate", "SignChargePointCertificate"]


async def test_a_charge_point_that_is_offline_is_not_asked(central: Central, server: Voltline) -> None:
    await central.post("/charge-points", {"id": "CP-9"}, expect=201)
    at = datetime.now(UTC)
    await server.store.write(lambda conn: conn.execute(t.issued_certificates.insert().values(
        serial="abc", charge_point_id="CP-9", subject="CN=CP-9", not_before=at, not_after=at + timedelta(days=3),
        pem="-", delivery_status="Accepted", issued_at=at,
    )))
    assert await server.services.certificates.renew_due() == []
    row = await server.store.fetch_one(sa.select(t.issued_certificates.c.renewal_requested_at))
    assert row is not None and row.renewal_requested_at is None
