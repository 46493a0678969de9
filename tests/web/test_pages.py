"""The dashboard over plain HTTP: login, CSRF, logout, commands' outcomes, every page, live stream."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest
import sqlalchemy as sa

from tests.web.conftest import csrf_of, log_in
from voltline.app import Voltline
from voltline.store import tables as t

PAGES = ["/", "/charge-points", "/sessions", "/id-tags", "/messages"]


async def test_every_page_needs_a_login(anonymous: httpx.AsyncClient) -> None:
    for path in [*PAGES, "/charge-points/CP-1", "/sessions/1", "/sessions.csv", "/id-tags/T"]:
        response = await anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    live = await anonymous.get("/live")
    assert live.status_code == 401


async def test_login_with_a_wrong_password_is_refused(anonymous: httpx.AsyncClient, operator: tuple[str, str]) -> None:
    response = await log_in(anonymous, operator[0], "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert (await anonymous.get("/")).status_code == 303
    unknown = await log_in(anonymous, "nobody", "whatever-it-is")
    assert unknown.status_code == 401


async def test_login_goes_back_to_the_page_asked_for_and_never_off_site(
    anonymous: httpx.AsyncClient, operator: tuple[str, str]
) -> None:
    token = csrf_of((await anonymous.get("/login?next=/sessions")).text)
    response = await anonymous.post("/login", data={"username": operator[0], "password": operator[1],
                                                   "csrf_token": token, "next": "//evil.example/x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_forms_without_the_csrf_token_are_refused(web: httpx.AsyncClient, server: Voltline) -> None:
    missing = await web.post("/id-tags", data={"id_tag": "NO-TOKEN", "status": "Accepted"})
    assert missing.status_code == 403
    wrong = await web.post("/id-tags", data={"id_tag": "NO-TOKEN", "status": "Accepted", "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert "NO-TOKEN" not in (await web.get("/id-tags")).text
    token = csrf_of((await web.get("/id-tags")).text)
    created = await web.post("/id-tags", data={"id_tag": "WITH-TOKEN", "status": "Accepted", "csrf_token": token})
    assert created.status_code == 303
    assert "WITH-TOKEN" in (await web.get("/id-tags")).text


async def test_the_login_form_itself_needs_the_csrf_token(anonymous: httpx.AsyncClient, operator: tuple[str, str]) -> None:
    await anonymous.get("/login")
    response = await anonymous.post("/login", data={"username": operator[0], "password": operator[1]})
    assert response.status_code == 403
    assert (await anonymous.get("/")).status_code == 303


async def test_logout_ends_the_session_even_for_a_copied_cookie(web: httpx.AsyncClient) -> None:
    assert (await web.get("/")).status_code == 200
    copied = dict(web.cookies)
    token = csrf_of((await web.get("/")).text)
    response = await web.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert (await web.get("/")).status_code == 303
    async with httpx.AsyncClient(base_url=str(web.base_url), cookies=copied) as thief:
        assert (await thief.get("/")).status_code == 303


async def test_a_tampered_cookie_is_worth_nothing(web: httpx.AsyncClient) -> None:
    cookie = web.cookies["voltline_session"]
    body, signature = cookie.rsplit(".", 1)
    web.cookies.set("voltline_session", body + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert (await web.get("/")).status_code == 303


async def test_every_page_renders_with_data(web: httpx.AsyncClient, server: Voltline, station) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of((await web.get("/id-tags")).text)
    await web.post("/id-tags", data={"id_tag": "PARENT", "status": "Accepted", "csrf_token": token})
    made = await web.post("/id-tags", data={"id_tag": "TAG-1", "status": "Accepted", "parent_id_tag": "PARENT",
                                           "expiry_date": "2099-01-01T00:00", "csrf_token": token})
    assert made.status_code == 303
    cp = await station("CP-PAGES")
    response = await web.post("/charge-points/CP-PAGES/commands/remote-start",
                              data={"id_tag": "TAG-1", "connector_id": "1", "csrf_token": token},
                              headers={"Accept": "application/json"})
    assert response.json()["kind"] == "accepted"
    await asyncio.wait_for(cp.started.wait(), 10)
    while cp.register_wh < cp.meter_start + 450:  # a few meter values
        await asyncio.sleep(0.05)
    detail = await web.get("/charge-points/CP-PAGES")
    assert detail.status_code == 200
    assert f"#{cp.transaction_id}" in detail.text and "Sim-22" in detail.text and "1.4.2" in detail.text
    await cp.stop("Remote")
    transaction_id = (await server.store.fetch_one(sa.select(sa.func.max(t.transactions.c.id))))[0]  # type: ignore[index]
    written = server.services.message_log.flush()  # the log is written in the background
    if written is not None:
        await written
    paths = [
        *PAGES, "/charge-points/CP-PAGES", "/charge-points/CP-PAGES/configuration", f"/sessions/{transaction_id}",
        "/id-tags/TAG-1", "/messages?charge_point_id=CP-PAGES", "/messages?action=StartTransaction",
        "/messages?direction=out&errors=1", "/sessions?state=finished&charge_point_id=CP-PAGES",
        "/sessions?since=2000-01-01&until=2099-12-31", "/charge-points?q=pages&state=online&status=Available",
    ]
    for path in paths:
        page = await web.get(path)
        assert page.status_code == 200, path
        assert "<main" in page.text
    session_page = (await web.get(f"/sessions/{transaction_id}")).text
    energy = cp.meter_stop - cp.meter_start  # type: ignore[operator]
    assert f"{energy / 1000:,.2f} kWh" in session_page
    assert "Remote" in session_page
    log = (await web.get("/messages?charge_point_id=CP-PAGES&action=RemoteStartTransaction")).text
    assert "RemoteStartTransaction" in log and 'data-answer-status="Accepted"' in log
    config = (await web.get("/charge-points/CP-PAGES/configuration")).text
    assert "MeterValueSampleInterval" in config and "Read from the charge point" in config
    export = await web.get("/sessions.csv?charge_point_id=CP-PAGES")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1
    assert rows[0]["id_tag"] == "TAG-1" and float(rows[0]["energy_wh"]) == energy and rows[0]["stop_reason"] == "Remote"


async def test_unknown_things_are_404_pages(web: httpx.AsyncClient) -> None:
    for path in ["/charge-points/NOPE", "/sessions/424242", "/id-tags/NOPE"]:
        response = await web.get(path)
        assert response.status_code == 404
        assert "There is no" in response.text


async def test_an_address_the_dashboard_lacks_is_its_own_404_page_and_the_api_keeps_json(
    web: httpx.AsyncClient, server: Voltline
) -> None:
    page = {"Accept": "text/html,application/xhtml+xml"}
    response = await web.get("/transactions", headers=page)  # a mistyped address, logged in
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "There is no page at /transactions" in response.text and 'href="/sessions"' in response.text  # the menu
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as anonymous:
        response = await anonymous.get("/nowhere", headers=page)
        assert response.status_code == 404 and "There is no page at /nowhere" in response.text
        assert 'href="/sessions"' not in response.text  # no menu without a login
        for client, path, headers in ((web, "/api/v1/nowhere", page), (web, "/nowhere", {"Accept": "application/json"}),
                                      (anonymous, "/static/nothing.png", {"Accept": "image/*"})):
            response = await client.get(path, headers=headers)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found", path


@pytest.fixture
async def quick_server(start_server) -> Voltline:  # type: ignore[no-untyped-def]
    return await start_server(call_timeout=0.5)


async def test_command_outcomes_are_told_apart(quick_server: Voltline, station) -> None:  # type: ignore[no-untyped-def]
    from tests.web.charge_point import ChargingStation
    from tests.web.conftest import USERNAME, PASSWORD
    from voltline.services.security.operators import UserService

    server = quick_server
    await UserService(server.store).create(USERNAME, PASSWORD)
    await server.services.charge_points.register("CP-OFF")
    await server.services.charge_points.register("CP-ON")
    cp = await ChargingStation.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-ON")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as client:
            await log_in(client, USERNAME, PASSWORD)
            token = csrf_of((await client.get("/")).text)

            async def send(identity: str, command: str, **fields: str) -> dict:  # type: ignore[type-arg]
                response = await client.post(f"/charge-points/{identity}/commands/{command}",
                                             data={"csrf_token": token, **fields}, headers={"Accept": "application/json"})
                assert response.status_code == 200
                return response.json()  # type: ignore[no-any-return]

            assert (await send("CP-ON", "reset", type="Soft"))["kind"] == "accepted"
            assert (await send("CP-OFF", "reset", type="Soft"))["kind"] == "offline"
            cp.answers["Reset"] = {"status": "Rejected"}
            assert (await send("CP-ON", "reset", type="Hard"))["kind"] == "rejected"
            cp.silent.add("UnlockConnector")
            assert (await send("CP-ON", "unlock", connector_id="1"))["kind"] == "timeout"
            assert (await send("CP-ON", "reset", type="Sideways"))["kind"] == "invalid"
            assert (await send("CP-ON", "remote-start", id_tag=""))["kind"] == "invalid"
            raw = await send("CP-ON", "raw", ocpp_action="GetConfiguration", payload='{"key": ["HeartbeatInterval"]}')
            assert raw["kind"] == "accepted" and raw["response"]["configurationKey"]
            assert (await send("CP-ON", "raw", ocpp_action="BootNotification", payload="{}"))["kind"] == "invalid"
            # Without JavaScript: the outcome comes back as a notice on the charge point's page.
            plain = await client.post("/charge-points/CP-OFF/commands/reset", data={"csrf_token": token, "type": "Soft"})
            assert plain.status_code == 303
            page = await client.get(plain.headers["location"])
            assert "CP-OFF is offline" in page.text
            plain = await client.post("/charge-points/CP-ON/commands/raw",
                                      data={"csrf_token": token, "ocpp_action": "GetConfiguration", "payload": "{}"})
            page = await client.get(plain.headers["location"])
            assert "&#34;key&#34;: &#34;HeartbeatInterval&#34;" in page.text  # the answer, in the notice
    finally:
        await cp.close()


async def test_id_tags_are_created_blocked_unblocked_and_edited(web: httpx.AsyncClient) -> None:
    token = csrf_of((await web.get("/id-tags")).text)
    await web.post("/id-tags", data={"id_tag": "CARD-7", "status": "Accepted", "csrf_token": token})
    duplicate = await web.post("/id-tags", data={"id_tag": "CARD-7", "status": "Accepted", "csrf_token": token})
    assert "exists" in (await web.get(duplicate.headers["location"])).text
    too_long = await web.post("/id-tags", data={"id_tag": "X" * 37, "status": "Accepted", "csrf_token": token})
    assert "1 to 36 characters" in (await web.get(too_long.headers["location"])).text
    await web.post("/id-tags/CARD-7/status", data={"status": "Blocked", "csrf_token": token})
    assert "Blocked the id tag CARD-7" in (await web.get("/id-tags")).text
    await web.post("/id-tags/CARD-7/status", data={"status": "Accepted", "csrf_token": token})
    no_parent = await web.post("/id-tags/CARD-7", data={"status": "Accepted", "parent_id_tag": "GHOST", "csrf_token": token})
    assert "no id tag GHOST" in (await web.get(no_parent.headers["location"])).text
    await web.post("/id-tags", data={"id_tag": "FLEET", "status": "Accepted", "csrf_token": token})
    await web.post("/id-tags/CARD-7", data={"status": "Accepted", "parent_id_tag": "FLEET",
                                            "expiry_date": "2030-05-01T12:00", "csrf_token": token})
    page = (await web.get("/id-tags/CARD-7")).text
    assert 'value="FLEET"' in page and 'value="2030-05-01T12:00"' in page


async def test_the_live_stream_relays_events(web: httpx.AsyncClient, station) -> None:  # type: ignore[no-untyped-def]
    async with web.stream("GET", "/live") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        connecting = asyncio.create_task(station("CP-LIVE"))
        seen: set[str] = set()
        async with asyncio.timeout(15):
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["charge_point_id"] == "CP-LIVE":
                        seen.add(event["type"])
                if {"charge_point.connected", "connector.status"} <= seen:
                    break
        await connecting


async def test_an_id_tags_sessions_at_once_are_set_in_its_forms(web: httpx.AsyncClient, server: Voltline) -> None:
    """The per-tag limit of active transactions (0: a fleet card without one) is set when the tag is
    created and changed on its page, and a limit that is no whole number changes nothing."""
    token = csrf_of((await web.get("/id-tags")).text)

    async def limit(tag: str) -> int:
        row = await server.store.fetch_one(
            sa.select(t.id_tags.c.max_active_transactions).where(t.id_tags.c.id_tag == tag)
        )
        assert row is not None
        return int(row[0])

    await web.post("/id-tags", data={"id_tag": "FLEET-0", "status": "Accepted", "max_active_transactions": "0",
                                     "csrf_token": token})
    assert await limit("FLEET-0") == 0
    await web.post("/id-tags/FLEET-0", data={"status": "Accepted", "max_active_transactions": "3", "csrf_token": token})
    assert await limit("FLEET-0") == 3
    assert 'name="max_active_transactions" type="number" min="0" step="1" value="3"' in (
        await web.get("/id-tags/FLEET-0")
    ).text
    bad = await web.post("/id-tags/FLEET-0", data={"status": "Accepted", "max_active_transactions": "-1",
                                                   "csrf_token": token})
    assert "whole number" in (await web.get(bad.headers["location"])).text
    assert await limit("FLEET-0") == 3
    await web.post("/id-tags", data={"id_tag": "CARD-1", "status": "Accepted", "csrf_token": token})
    assert await limit("CARD-1") == 1  # one session at a time unless said otherwise
