"""The charge point page of a 2.0.1 station: it offers 2.0.1's actions with 2.0.1 examples, and its
panels' commands go out in 2.0.1's words (the `ocpp` package's v201.ChargePoint answering)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any

import httpx
from ocpp.v201 import call

from tests.commands.station201 import Station, station
from tests.web.conftest import csrf_of
from voltline.app import Voltline
from voltline.ocpp.schemas import OCPP201, validators


async def panel(web: httpx.AsyncClient, cs: Station, command: str, action: str, answer: dict[str, Any],
                **fields: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Submit a panel's form while the station answers; the outcome and what the station received."""
    token = csrf_of((await web.get(f"/charge-points/{cs.id}")).text)
    cs.will_answer(action, answer)
    sent = asyncio.create_task(web.post(f"/charge-points/{cs.id}/commands/{command}",
                                        data={"csrf_token": token, **fields}, headers={"Accept": "application/json"}))
    received = await cs.next_request(action)
    return (await sent).json(), received


async def test_a_201_station_is_offered_201_and_its_panels_speak_it(web: httpx.AsyncClient, server: Voltline) -> None:
    await server.services.charge_points.register("CS-WEB")
    async with station(server, "CS-WEB") as cs:
        assert await cs.boot() == "Accepted"
        page = (await web.get("/charge-points/CS-WEB")).text
        assert "<option>RequestStartTransaction</option>" in page and "RemoteStartTransaction</option>" not in page
        assert "<option>OnIdle</option>" in page and "<option>Soft</option>" not in page
        raw = page.split('<script type="application/json" id="payload-examples">', 1)[1].split("</script>", 1)[0]
        offered = json.loads(html.unescape(raw))
        assert "GetVariables" in offered and "GetConfiguration" not in offered
        for action, payload in offered.items():
            validators(OCPP201).validate_request(action, payload)

        outcome, received = await panel(web, cs, "reset", "Reset", {"status": "Accepted"}, type="OnIdle")
        assert (outcome["kind"], received) == ("accepted", {"type": "OnIdle"})
        outcome, received = await panel(web, cs, "unlock", "UnlockConnector", {"status": "Unlocked"}, connector_id="2")
        assert (outcome["kind"], received) == ("accepted", {"evseId": 2, "connectorId": 1})
        outcome, received = await panel(web, cs, "availability", "ChangeAvailability", {"status": "Scheduled"},
                                        connector_id="0", type="Inoperative")
        assert received == {"operationalStatus": "Inoperative"}
        assert outcome["kind"] == "accepted" and outcome["response"] == {"status": "Scheduled"}
        outcome, received = await panel(web, cs, "trigger", "TriggerMessage", {"status": "Accepted"},
                                        requested_message="StatusNotification", connector_id="1")
        assert received == {"requestedMessage": "StatusNotification", "evse": {"id": 1}}


async def test_a_201_stations_forms_name_evses_and_their_connectors(web: httpx.AsyncClient, server: Voltline) -> None:
    """Two EVSEs of two connectors each: the forms offer EVSE and EVSE/connector (connector 1 is
    on both), and what is picked goes out as 2.0.1's evseId / evse with connectorId."""
    await server.services.charge_points.register("CS-FORMS")
    async with station(server, "CS-FORMS") as cs:
        assert await cs.boot() == "Accepted"
        for evse in (1, 2):
            for connector in (1, 2):
                await cs.call(call.StatusNotification(timestamp="2026-12-02T05:00:00Z", connector_status="Available",
                                                      evse_id=evse, connector_id=connector))
        page = (await web.get("/charge-points/CS-FORMS")).text
        unlock = page.split('id="ul-connector"', 1)[1].split("</select>", 1)[0]
        assert [html.unescape(v) for v in re.findall(r'<option value="([^"]+)"', unlock)] == ["1/1", "1/2", "2/1", "2/2"]
        assert "EVSE 2 connector 2 (Available)" in unlock
        start = page.split('id="rs-connector"', 1)[1].split("</select>", 1)[0]
        assert re.findall(r'<option value="([^"]*)"', start) == ["", "1", "2"]
        reserve = page.split('id="rv-connector"', 1)[1].split("</select>", 1)[0]
        assert "EVSE 2" in reserve

        outcome, received = await panel(web, cs, "unlock", "UnlockConnector", {"status": "Unlocked"}, evse="2/2")
        assert (outcome["kind"], received) == ("accepted", {"evseId": 2, "connectorId": 2})
        outcome, received = await panel(web, cs, "availability", "ChangeAvailability", {"status": "Accepted"},
                                        evse="2/1", type="Inoperative")
        assert received == {"operationalStatus": "Inoperative", "evse": {"id": 2, "connectorId": 1}}
        outcome, received = await panel(web, cs, "availability", "ChangeAvailability", {"status": "Accepted"},
                                        evse="", type="Operative")
        assert received == {"operationalStatus": "Operative"}  # the whole station
        outcome, received = await panel(web, cs, "trigger", "TriggerMessage", {"status": "Accepted"},
                                        requested_message="StatusNotification", evse="2/2")
        assert received == {"requestedMessage": "StatusNotification", "evse": {"id": 2, "connectorId": 2}}
        outcome, received = await panel(web, cs, "trigger", "TriggerMessage", {"status": "Accepted"},
                                        requested_message="MeterValues", evse="2")
        assert received == {"requestedMessage": "MeterValues", "evse": {"id": 2}}
        # An unlock must name the connector: 2.0.1's UnlockConnector takes both.
        token = csrf_of(page)
        refused = await web.post("/charge-points/CS-FORMS/commands/unlock", data={"csrf_token": token, "evse": "2"},
                                 headers={"Accept": "application/json"})
        assert refused.json()["kind"] == "invalid"


async def test_the_composite_schedule_form_of_a_201_station_asks_by_evse(web: httpx.AsyncClient, server: Voltline) -> None:
    """2.0.1's GetCompositeSchedule names an EVSE (evseId); 1.6's connectorId is not in its schema."""
    await server.services.charge_points.register("CS-CS")
    async with station(server, "CS-CS") as cs:
        assert await cs.boot() == "Accepted"
        for evse in (1, 2):
            await cs.call(call.StatusNotification(timestamp="2026-12-02T05:00:00Z", connector_status="Available",
                                                  evse_id=evse, connector_id=1))
        form = (await web.get("/charging-profiles/composite?charge_point_id=CS-CS")).text
        select = form.split('id="cs-connector"', 1)[1].split("</select>", 1)[0]
        assert 'name="evse_id"' in select and re.findall(r'<option value="([^"]+)"', select) == ["0", "1", "2"]
        assert '<label for="cs-connector">EVSE</label>' in form

        cs.will_answer("GetCompositeSchedule", {"status": "Accepted", "schedule": {
            "evseId": 2, "duration": 600, "scheduleStart": "2026-12-02T06:00:00Z", "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}, {"startPeriod": 300, "limit": 7400.0}]}})
        page = asyncio.create_task(web.get(
            "/charging-profiles/composite", params={"charge_point_id": "CS-CS", "evse_id": "2", "duration": "600", "unit": "W"}))
        assert await cs.next_request("GetCompositeSchedule") == {"evseId": 2, "duration": 600, "chargingRateUnit": "W"}
        text = (await page).text
        assert re.findall(r"data-composite-limit><strong>([^<]+)</strong>", text) == ["11000.0 W", "7400.0 W"]
        assert "on EVSE 2</p>" in text
