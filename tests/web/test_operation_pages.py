"""The operation forms over plain HTTP (no script): what the server checks before it sends a
charging profile, a reservation, a firmware update or a diagnostics request, and what it shows."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.web.conftest import csrf_of
from voltline.app import Voltline
from tests.logged_frames import store_frames
from voltline.services.message_log.search import FrameQuery

GOOD = {
    "purpose": "TxDefaultProfile", "connector_id": "1", "charging_profile_id": "7", "stack_level": "0",
    "kind": "Absolute", "start_schedule": "2026-01-01T00:00", "rate_unit": "A",
    "period_start": ["0", "3600"], "period_limit": ["16", "8"], "period_phases": ["", "3"],
}


async def sent(server: Voltline, action: str) -> list[dict[str, Any]]:
    """The calls of `action` the server logged on their way to a charge point."""
    flushing = server.services.message_log.flush()
    if flushing is not None:
        await flushing
    await server.store.write()
    rows = await store_frames(server.store, FrameQuery(action=action, direction="out", message_types=(2,)))
    return [json.loads(row.payload)[3] for row in rows]


async def post_profile(web: httpx.AsyncClient, charge_point_id: str, **changes: Any) -> httpx.Response:
    token = csrf_of((await web.get(f"/charging-profiles/new?charge_point_id={charge_point_id}")).text)
    form = {**GOOD, "charge_point_id": charge_point_id, "csrf_token": token, **changes}
    return await web.post("/charging-profiles", data=form)


def problems(page: httpx.Response) -> list[str]:
    block = re.search(r"<div class=\"notice notice-bad\" role=\"alert\" data-problems>(.*?)</div>", page.text, re.S)
    assert block, page.text[:2000]
    return [re.sub(r"<[^>]+>", "", item).strip().replace("&#39;", "'").replace("&#34;", '"')
            for item in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


async def test_a_profile_that_breaks_ocpp_is_refused_at_its_fields_and_never_sent(
    web: httpx.AsyncClient, server: Voltline, station: Any
) -> None:
    await station("CP-P")
    cases = [
        ({"purpose": "ChargePointMaxProfile"}, ["Connector: a ChargePointMaxProfile is set on connector 0, the whole charge point"]),
        ({"period_limit": ["16.25", "8"]}, ["Period 1 limit: 16.25 is not a multiple of 0.1"]),
        ({"period_start": ["0", "0"]}, ["Period 2 start offset: must be later than the period before it (0 s)"]),
        ({"period_start": ["60", "3600"]}, ["Period 1 start offset: the first period starts at 0 s"]),
        ({"valid_from": "2026-02-01T00:00", "valid_to": "2026-01-01T00:00"}, ["Valid to: must be later than valid from"]),
        ({"kind": "Recurring", "start_schedule": ""}, ["Schedule start is missing"]),
        ({"duration": "1800"}, ["Period 2 start offset: must lie within the schedule's duration (1800 s)"]),
        ({"period_limit": ["lots", "8"]}, ["Period 1 limit must be a number"]),
        ({"purpose": "TxProfile"}, ["Transaction is missing: a TxProfile is for a running session"]),
        ({"purpose": "TxProfile", "transaction_id": "4242"}, ["Transaction: transaction 4242 is not running on connector 1"]),
        ({"stack_level": "-1", "period_phases": ["4", ""]}, ["Stack level: must be 0 or more", "Period 1 phases: must be 1, 2 or 3"]),
    ]
    for changes, expected in cases:
        page = await post_profile(web, "CP-P", **changes)
        assert page.status_code == 400, changes
        assert problems(page) == expected, changes
        assert 'aria-invalid="true"' in page.text
    # What was entered is shown again, to be corrected.
    page = await post_profile(web, "CP-P", period_limit=["16.25", "8"])
    assert 'value="16.25"' in page.text and 'value="3600"' in page.text
    assert await sent(server, "SetChargingProfile") == []


async def test_a_valid_profile_from_the_form_is_sent_as_built_and_listed(
    web: httpx.AsyncClient, server: Voltline, station: Any
) -> None:
    await station("CP-P")
    response = await post_profile(web, "CP-P", valid_to="2027-01-01T00:00")
    assert response.status_code == 303
    assert response.headers["location"] == "/charging-profiles?charge_point_id=CP-P"
    [call] = await sent(server, "SetChargingProfile")
    assert call == {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "validTo": "2027-01-01T00:00:00.000Z",
        "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": "2026-01-01T00:00:00.000Z",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0},
                                                        {"startPeriod": 3600, "limit": 8.0, "numberPhases": 3}]}}}
    listed = await web.get("/charging-profiles?charge_point_id=CP-P")
    assert "installed the charging profile 7 on connector 1" in listed.text
    assert 'data-profile-row="CP-P/7"' in listed.text
    # The next form proposes an id the charge point holds nothing under.
    assert 'name="charging_profile_id" type="number" min="0" step="1" required value="8"' in (
        await web.get("/charging-profiles/new?charge_point_id=CP-P")).text


async def test_the_api_refuses_the_same_profiles_with_every_field_named(
    api: httpx.AsyncClient, server: Voltline, station: Any
) -> None:
    await station("CP-P")
    response = await api.post("/api/v1/charging-profiles", json={
        "charge_point_id": "CP-P", "connector_id": 1, "charging_profile": {
            "charging_profile_id": 1, "stack_level": 0, "charging_profile_purpose": "ChargePointMaxProfile",
            "charging_profile_kind": "Recurring", "charging_schedule": {
                "charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 11000.05}]}}})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_ocpp_request"
    assert {d["field"] for d in error["details"]} == {
        "connectorId", "csChargingProfiles.recurrencyKind", "csChargingProfiles.chargingSchedule.startSchedule",
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit"}
    assert await sent(server, "SetChargingProfile") == []


async def test_reserve_and_cancel_without_a_script(web: httpx.AsyncClient, server: Voltline, station: Any) -> None:
    await station("CP-R")
    await server.services.id_tags.create("GUEST")
    page = await web.get("/charge-points/CP-R")
    token = csrf_of(page.text)
    reserved = await web.post("/reservations", data={
        "csrf_token": token, "charge_point_id": "CP-R", "connector_id": "1", "id_tag": "GUEST",
        "expiry_date": "2099-01-01T10:00"})
    assert reserved.status_code == 303 and reserved.headers["location"] == "/charge-points/CP-R"
    [call] = await sent(server, "ReserveNow")
    assert call["connectorId"] == 1 and call["idTag"] == "GUEST" and call["expiryDate"] == "2099-01-01T10:00:00.000Z"
    listed = await web.get("/reservations?active=yes")
    assert "accepted ReserveNow (Accepted)" in listed.text
    assert f'data-reservation-row="{call["reservationId"]}"' in listed.text

    past = await web.post("/reservations", data={
        "csrf_token": token, "charge_point_id": "CP-R", "connector_id": "1", "id_tag": "GUEST",
        "expiry_date": "2000-01-01T10:00"}, headers={"Accept": "application/json"})
    assert past.json()["kind"] == "invalid" and "expiry_date must lie in the future" in past.json()["message"]

    cancel = f"/reservations/{call['reservationId']}/cancel"
    first = await web.post(cancel, data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert first.json()["kind"] == "accepted"
    again = await web.post(cancel, data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert again.json()["kind"] == "invalid" and "is Cancelled" in again.json()["message"]
    assert "Cancelled" in (await web.get("/reservations?active=no")).text
    assert f'data-reservation-row="{call["reservationId"]}"' not in (await web.get("/reservations?active=yes")).text


async def test_firmware_and_diagnostics_requests_are_checked_before_they_are_sent(
    web: httpx.AsyncClient, server: Voltline, station: Any
) -> None:
    cp = await station("CP-F")
    cp.answers["UpdateFirmware"] = {}  # as OCPP 1.6 answers it
    token = csrf_of((await web.get("/charge-points/CP-F")).text)
    json_accept = {"Accept": "application/json"}
    bad = await web.post("/firmware-updates", headers=json_accept, data={
        "csrf_token": token, "charge_point_id": "CP-F", "location": "not a url", "retrieve_date": "2026-01-01T00:00",
        "retries": "-1"})
    assert bad.json()["kind"] == "invalid"
    assert "Location: " in bad.json()["message"] and "Retries: must be 0 or more" in bad.json()["message"]
    backwards = await web.post("/diagnostics-requests", headers=json_accept, data={
        "csrf_token": token, "charge_point_id": "CP-F", "location": "ftp://logs.example/",
        "start_time": "2026-01-02T00:00", "stop_time": "2026-01-01T00:00"})
    assert (backwards.json()["kind"], backwards.json()["message"]) == (
        "invalid", "GetDiagnostics was not sent: Until: must be later than the start time")
    assert await sent(server, "UpdateFirmware") == [] and await sent(server, "GetDiagnostics") == []

    good = await web.post("/firmware-updates", headers=json_accept, data={
        "csrf_token": token, "charge_point_id": "CP-F", "location": "https://fw.example/v2.bin",
        "retrieve_date": "2026-01-01T00:00", "retries": "3", "retry_interval": "60"})
    assert good.json()["kind"] == "accepted"
    assert await sent(server, "UpdateFirmware") == [{"location": "https://fw.example/v2.bin", "retries": 3,
                                                    "retrieveDate": "2026-01-01T00:00:00.000Z", "retryInterval": 60}]
    page = await web.get("/charge-points/CP-F")
    assert 'data-event-kind="firmware"' in page.text and "https://fw.example/v2.bin" in page.text


async def test_the_new_pages_render_and_unknown_charge_points_are_not_found(
    web: httpx.AsyncClient, server: Voltline
) -> None:
    await server.services.charge_points.register("CP-X")
    for path in ["/reservations", "/charging-profiles", "/charging-profiles?status=", "/charging-profiles/new?charge_point_id=CP-X",
                 "/charging-profiles/composite?charge_point_id=CP-X"]:
        page = await web.get(path)
        assert page.status_code == 200, path
        assert 'href="/reservations"' in page.text and 'href="/charging-profiles"' in page.text
    # Offline: the charge point page's operation forms cannot be used.
    page = (await web.get("/charge-points/CP-X")).text
    for heading in ("reservations-title", "maintenance-title"):
        section = page[page.index(f'id="{heading}"'):]
        assert re.search(r'<fieldset class="commands" data-needs-online data-cp="CP-X" disabled>', section[:600]), heading
    offline = await web.get("/charging-profiles/composite?charge_point_id=CP-X&connector_id=0&duration=600")
    assert "offline" in offline.text
    for path in ["/charging-profiles/new?charge_point_id=NOPE", "/charging-profiles/composite?charge_point_id=NOPE"]:
        assert (await web.get(path)).status_code == 404
