"""Management pages over plain HTTP against the real server: the forms refuse what the API
refuses, and say why; confirmations are required; an id tag CSV import is checked before it is
written and never writes a bad row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from tests.ocpp_client import OcppClient
from tests.web.conftest import csrf_of, log_in
from voltline.app import Voltline
from voltline.services.security.operators import UserService

@pytest.fixture
async def anonymous_factory() -> AsyncIterator[Any]:
    """`await anonymous_factory(server)`: an HTTP client logged in to the dashboard of `server`."""
    clients: list[httpx.AsyncClient] = []

    async def make(server: Voltline) -> httpx.AsyncClient:
        await UserService(server.store).create("operator", "correct horse battery")
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30)
        clients.append(client)
        assert (await log_in(client, "operator", "correct horse battery")).status_code == 303
        return client

    yield make
    for client in clients:
        await client.aclose()


FORM = {"registration_status": "Accepted", "ping_interval": "", "description": ""}


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return csrf_of(page.text)


async def test_every_management_page_needs_a_login(anonymous: httpx.AsyncClient) -> None:
    for path in ["/admin/charge-points", "/admin/tokens", "/admin/operators", "/admin/password",
                 "/charge-points/CP-1/settings", "/charge-points/CP-1/delete", "/id-tags/T/delete",
                 "/id-tags/import/csv"]:
        response = await anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("identity", "says"),
    [
        ("CP 1", "may hold only the letters A-Z and a-z, digits and - . _ ~"),
        ("x" * 49, "has 49 characters, at most 48 are allowed"),
        ("", "the charge point identity is empty"),
    ],
)
async def test_a_bad_identity_is_refused_by_the_form_which_says_why(
    web: httpx.AsyncClient, server: Voltline, identity: str, says: str
) -> None:
    token = await _token(web, "/admin/charge-points")
    response = await web.post("/admin/charge-points", data={**FORM, "id": identity, "csrf_token": token})
    assert response.status_code == 400
    assert says in response.text
    assert 'data-form-problems' in response.text
    assert server.services.charge_points.access(identity) is None


async def test_other_settings_are_refused_as_the_api_refuses_them(web: httpx.AsyncClient, server: Voltline) -> None:
    token = await _token(web, "/admin/charge-points")
    for changes, says in [
        ({"ping_interval": "-5"}, "ping interval: input should be greater than or equal to 0"),
        ({"ping_interval": "soon"}, "ping interval: input should be a valid number"),
        ({"registration_status": "Maybe"}, "registration status: input should be"),
        ({"lenient_actions": "Meter Values"}, "lenient actions"),
    ]:
        response = await web.post("/admin/charge-points", data={**FORM, "id": "CP-OK", "csrf_token": token, **changes})
        assert response.status_code == 400, changes
        assert says in response.text, (changes, says)
        assert 'value="CP-OK"' in response.text  # what was typed stays in the form
    assert server.services.charge_points.access("CP-OK") is None

    response = await web.post("/admin/charge-points", data={
        **FORM, "id": "CP-OK", "csrf_token": token, "ping_interval": "30", "password": "s3cret-pass",
        "registration_status": "Pending", "lenient_actions": ["MeterValues", "StatusNotification"],
        "description": "Depot bay 3"})
    assert response.status_code == 303
    assert response.headers["location"] == "/charge-points/CP-OK"
    access = server.services.charge_points.access("CP-OK")
    assert access is not None and access.registration_status == "Pending" and access.ping_interval == 30
    assert access.password_hash is not None and access.lenient_actions == {"MeterValues", "StatusNotification"}

    again = await web.post("/admin/charge-points", data={**FORM, "id": "CP-OK", "csrf_token": token})
    assert again.status_code == 409
    assert "registered already" in again.text


async def test_settings_change_and_clear_the_password(web: httpx.AsyncClient, server: Voltline, api: httpx.AsyncClient) -> None:
    await server.services.charge_points.register("CP-PW", password="first-password")
    token = await _token(web, "/charge-points/CP-PW/settings")
    both = await web.post("/charge-points/CP-PW/settings", data={
        **FORM, "csrf_token": token, "password": "x", "remove_password": "1"})
    assert both.status_code == 400
    bad = await web.post("/charge-points/CP-PW/settings", data={**FORM, "csrf_token": token, "ping_interval": "90000"})
    assert bad.status_code == 400 and "less than or equal to 86400" in bad.text

    kept = await web.post("/charge-points/CP-PW/settings", data={**FORM, "csrf_token": token, "ping_interval": "45",
                                                                 "registration_status": "Rejected"})
    assert kept.status_code == 303
    body = (await api.get("/api/v1/charge-points/CP-PW")).json()
    assert body["has_password"] is True and body["ping_interval"] == 45 and body["registration_status"] == "Rejected"

    cleared = await web.post("/charge-points/CP-PW/settings", data={**FORM, "csrf_token": token, "remove_password": "1"})
    assert cleared.status_code == 303
    assert (await api.get("/api/v1/charge-points/CP-PW")).json()["has_password"] is False
    assert server.services.charge_points.access("CP-PW").password_hash is None  # type: ignore[union-attr]


async def test_deleting_a_charge_point_needs_its_id_typed(web: httpx.AsyncClient, server: Voltline, api: httpx.AsyncClient) -> None:
    await server.services.charge_points.register("CP-DEL")
    token = await _token(web, "/charge-points/CP-DEL/delete")
    for typed in ["", "CP-DE", "cp-del"]:
        refused = await web.post("/charge-points/CP-DEL/delete", data={"csrf_token": token, "confirm_id": typed})
        assert refused.status_code == 400, typed
    assert (await api.get("/api/v1/charge-points/CP-DEL")).status_code == 200
    deleted = await web.post("/charge-points/CP-DEL/delete", data={"csrf_token": token, "confirm_id": "CP-DEL"})
    assert deleted.status_code == 303
    assert (await api.get("/api/v1/charge-points/CP-DEL")).status_code == 404


async def test_an_unknown_charge_point_refused_at_the_handshake_is_listed_then_registered(
    web: httpx.AsyncClient, server: Voltline
) -> None:
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-STRANGER"
    for _ in range(2):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await OcppClient.connect(url)
        assert refused.value.response.status_code == 404
    page = await web.get("/admin/charge-points")
    assert 'data-refused="CP-STRANGER"' in page.text
    assert "127.0.0.1" in page.text
    assert [(r.identity, r.attempts) for r in server.services.charge_points.refused_unknown()] == [("CP-STRANGER", 2)]
    # "With settings…" opens the form with its identity filled in.
    assert 'href="/admin/charge-points?id=CP-STRANGER' in page.text
    assert 'name="id" value="CP-STRANGER"' in (await web.get("/admin/charge-points?id=CP-STRANGER")).text

    response = await web.post("/admin/charge-points/refused/CP-STRANGER/register", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert 'data-refused="CP-STRANGER"' not in (await web.get("/admin/charge-points")).text
    client = await OcppClient.connect(url)
    try:
        answer = await client.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        assert answer[2]["status"] == "Accepted"
    finally:
        await client.close()


async def test_the_refusal_record_is_bounded(server: Voltline) -> None:
    charge_points = server.services.charge_points
    limit = charge_points.refusals.limit
    for n in range(limit + 25):
        charge_points.refused(f"SCAN-{n}", "192.0.2.1", charge_points.check_handshake(f"SCAN-{n}", None))
    listed = charge_points.refused_unknown()
    assert len(listed) == limit
    assert listed[0].identity == f"SCAN-{limit + 24}"  # newest first; the oldest fell off


async def test_an_operator_cannot_delete_themself(web: httpx.AsyncClient, server: Voltline) -> None:
    token = await _token(web, "/admin/operators")
    response = await web.post("/admin/operators/operator/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert [u.username for u in await UserService(server.store).list()] == ["operator"]
    page = await web.get("/admin/operators")
    assert "You cannot delete yourself" in page.text
    assert 'data-operator="operator"' in page.text


async def test_operator_form_refuses_short_and_mismatched_passwords(web: httpx.AsyncClient) -> None:
    token = await _token(web, "/admin/operators")
    short = await web.post("/admin/operators", data={"csrf_token": token, "username": "kim", "password": "short",
                                                     "password_again": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.text
    differ = await web.post("/admin/operators", data={"csrf_token": token, "username": "kim",
                                                      "password": "long enough 1", "password_again": "long enough 2"})
    assert differ.status_code == 400 and "differ" in differ.text
    assert 'data-operator="kim"' not in (await web.get("/admin/operators")).text


async def test_changing_my_password_needs_the_current_one_and_keeps_me_logged_in(
    web: httpx.AsyncClient, operator: tuple[str, str], server: Voltline
) -> None:
    token = await _token(web, "/admin/password")
    wrong = await web.post("/admin/password", data={"csrf_token": token, "current": "not it",
                                                    "new": "a new password", "new_again": "a new password"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    changed = await web.post("/admin/password", data={"csrf_token": token, "current": operator[1],
                                                      "new": "a new password", "new_again": "a new password"})
    assert changed.status_code == 303
    assert (await web.get("/admin/password")).status_code == 200  # still logged in
    assert await UserService(server.store).authenticate(operator[0], "a new password") is not None


CSV_WITH_ONE_BAD_ROW = (
    "id_tag,status,expiry_date,parent_id_tag,max_active_transactions\n"
    "CARD-1,Accepted,2030-01-01T00:00:00Z,,2\n"
    "CARD-2,Blocked,,CARD-1,\n"
    "CARD-3,Sometimes,,,\n"
    "EXISTING,Blocked,,,\n"
)


async def test_csv_import_previews_then_writes_the_valid_rows_only(web: httpx.AsyncClient, server: Voltline,
                                                                    api: httpx.AsyncClient) -> None:
    await server.services.id_tags.create("EXISTING")
    token = await _token(web, "/id-tags/import/csv")
    preview = await web.post("/id-tags/import/csv", data={"csrf_token": token},
                             files={"file": ("tags.csv", CSV_WITH_ONE_BAD_ROW.encode(), "text/csv")})
    assert preview.status_code == 200
    assert 'data-applied="no"' in preview.text
    assert 'data-count="created">2<' in preview.text and 'data-count="updated">1<' in preview.text
    assert 'data-count="rejected">1<' in preview.text
    assert "status must be one of Accepted, Blocked, Expired, Invalid" in preview.text
    assert (await api.get("/api/v1/id-tags/CARD-1")).status_code == 404  # a preview writes nothing

    applied = await web.post("/id-tags/import/csv", data={"csrf_token": token, "apply": "1",
                                                          "csv_text": CSV_WITH_ONE_BAD_ROW})
    assert applied.status_code == 200 and 'data-applied="yes"' in applied.text
    card1 = (await api.get("/api/v1/id-tags/CARD-1")).json()
    assert card1["max_active_transactions"] == 2 and card1["expiry_date"].startswith("2030-01-01T00:00:00")
    card2 = (await api.get("/api/v1/id-tags/CARD-2")).json()
    assert card2["status"] == "Blocked" and card2["parent_id_tag"] == "CARD-1" and card2["max_active_transactions"] == 1
    assert (await api.get("/api/v1/id-tags/CARD-3")).status_code == 404
    assert (await api.get("/api/v1/id-tags/EXISTING")).json()["status"] == "Blocked"


async def test_a_file_that_is_not_an_id_tag_csv_is_refused_whole(web: httpx.AsyncClient) -> None:
    token = await _token(web, "/id-tags/import/csv")
    for content, says in [
        (b"tag,state\nA,Accepted\n", "unknown column"),
        (b"status\nAccepted\n", "no id_tag column"),
        ("id_tag\n\xe9\n".encode("latin-1"), "not UTF-8"),
    ]:
        response = await web.post("/id-tags/import/csv", data={"csrf_token": token},
                                  files={"file": ("x.csv", content, "text/csv")})
        assert response.status_code == 400, content
        assert says in response.text, content


async def test_deleting_an_id_tag_asks_first(web: httpx.AsyncClient, server: Voltline, api: httpx.AsyncClient) -> None:
    await server.services.id_tags.create("GONE-SOON")
    confirm = await web.get("/id-tags/GONE-SOON/delete")
    assert confirm.status_code == 200 and "Delete the id tag GONE-SOON?" in confirm.text
    assert (await api.get("/api/v1/id-tags/GONE-SOON")).status_code == 200
    deleted = await web.post("/id-tags/GONE-SOON/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303
    assert (await api.get("/api/v1/id-tags/GONE-SOON")).status_code == 404


async def test_a_charge_point_the_boot_policy_rejected_is_listed_and_accepted_in_a_click(
    start_server: Any, anonymous_factory: Any
) -> None:
    server = await start_server(auto_register=True, boot_policy="reject-unknown")
    web = await anonymous_factory(server)
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-UNASKED"
    client = await OcppClient.connect(url)
    boot = {"chargePointVendor": "V", "chargePointModel": "M"}
    try:
        assert (await client.call("BootNotification", boot))[2]["status"] == "Rejected"
        page = await web.get("/admin/charge-points")
        assert 'data-refused="CP-UNASKED"' in page.text
        assert "registered as Rejected by the boot policy" in page.text
        response = await web.post("/admin/charge-points/refused/CP-UNASKED/register",
                                  data={"csrf_token": csrf_of(page.text)})
        assert response.status_code == 303
        # Its connection is closed, so that it boots again: now Accepted.
        await asyncio.wait_for(client.ws.wait_closed(), 10)
    finally:
        await client.close()
    assert 'data-refused="CP-UNASKED"' not in (await web.get("/admin/charge-points")).text
    again = await OcppClient.connect(url)
    try:
        assert (await again.call("BootNotification", boot))[2]["status"] == "Accepted"
    finally:
        await again.close()
