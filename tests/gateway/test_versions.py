"""A second OCPP version plugs in at the version registry alone: the gateway negotiates it per
connection and serves it with its own handlers, validators and translators, while the services,
the REST API and the 1.6 charge points beside it are untouched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ocpp_client import OcppClient
from voltline.app import Voltline
from voltline.ocpp import commands
from voltline.ocpp.schemas import Validators
from voltline.ocpp.v16.inbound import Context
from voltline.ocpp.versions import VERSIONS, OcppVersion, Outbound

SUBPROTOCOL = "ocpp-test0.1"

# A made-up version: CP→CS "Hello" (a heartbeat by another name), CS→CP "Restart" (a reset).
SCHEMAS = {
    "Hello": {"type": "object", "properties": {"greeting": {"type": "string"}}, "required": ["greeting"],
              "additionalProperties": False},
    "HelloResponse": {"type": "object", "properties": {"seenAt": {"type": "string"}}, "required": ["seenAt"]},
    "Restart": {"type": "object", "properties": {"mode": {"enum": ["gentle", "hard"]}}, "required": ["mode"],
                "additionalProperties": False},
    "RestartResponse": {"type": "object", "properties": {"outcome": {"type": "string"}}, "required": ["outcome"]},
}


async def hello(ctx: Context, payload: dict[str, Any]) -> dict[str, Any]:
    return {"seenAt": ctx.services.charge_points.heartbeat(ctx.identity).isoformat()}


def encode(request: commands.Request[Any]) -> tuple[str, dict[str, Any]]:
    assert isinstance(request, commands.Reset), request
    return "Restart", {"mode": "hard" if request.kind == "Hard" else "gentle"}


def decode_answer(action: str, answer: Mapping[str, Any]) -> commands.Answer:
    return commands.Answer(answer["outcome"])


def read_request(action: str, payload: dict[str, Any]) -> commands.Request[Any] | None:
    return commands.Reset("Hard" if payload["mode"] == "hard" else "Soft") if action == "Restart" else None


@pytest.fixture
def test_version(tmp_path: Path) -> Iterator[OcppVersion]:
    for name, schema in SCHEMAS.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(schema), encoding="utf-8")
    validators = Validators(tmp_path)
    version = OcppVersion(
        subprotocol=SUBPROTOCOL,
        label="test 0.1",
        handlers={"Hello": hello},
        validators=lambda: validators,
        context=Context,
        outbound=Outbound(encode, decode_answer, read_request, lambda action, payload: None),
        actions=("Restart",),
    )
    VERSIONS.register(version)
    try:
        yield version
    finally:
        VERSIONS.unregister(SUBPROTOCOL)


async def test_a_registered_version_is_negotiated_and_served_by_its_own_translators(
    server: Voltline, api: httpx.AsyncClient, connect: Any, test_version: OcppVersion
) -> None:
    await server.services.charge_points.register("CP-NEXT")
    await server.services.charge_points.register("CP-OLD")
    # Offered first by the charge point, supported: it wins over 1.6 (DESIGN §5).
    client: OcppClient = await connect("CP-NEXT", subprotocols=[SUBPROTOCOL, "ocpp1.6"])
    assert client.ws.subprotocol == SUBPROTOCOL
    old: OcppClient = await connect("CP-OLD", subprotocols=["ocpp1.6"])
    assert old.ws.subprotocol == "ocpp1.6"

    # Inbound: its handler, its validators (a 1.6 message means nothing to it).
    answer = await client.call("Hello", {"greeting": "hi"})
    assert answer[0] == 3 and answer[2]["seenAt"], answer
    assert server.services.charge_points.last_heartbeat("CP-NEXT") is not None
    unknown = await client.call("Heartbeat", {})
    assert unknown[0] == 4 and unknown[2] == "NotImplemented", unknown
    assert (await client.call("Hello", {"greeting": 7}))[2] == "TypeConstraintViolation"

    # Outbound: the service's Reset goes out as this version's Restart and its answer comes back.
    reset = asyncio.create_task(api.post("/api/v1/charge-points/CP-NEXT/reset", json={"type": "Hard"}))
    call = await asyncio.wait_for(client.server_calls.get(), 10)
    assert call[2:] == ["Restart", {"mode": "hard"}]
    await client.send_raw(json.dumps([3, call[1], {"outcome": "Accepted"}]))
    response = await reset
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "Accepted"}

    # The generic endpoint takes the charge point's own version: its action in, its answer out…
    raw = asyncio.create_task(api.post("/api/v1/charge-points/CP-NEXT/commands/Restart", json={"mode": "gentle"}))
    call = await asyncio.wait_for(client.server_calls.get(), 10)
    assert call[2:] == ["Restart", {"mode": "gentle"}]
    await client.send_raw(json.dumps([3, call[1], {"outcome": "Rejected"}]))
    response = await raw
    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "Rejected"}
    # … and refuses (400) a 1.6 action, which a 1.6 charge point beside it still takes.
    refused = await api.post("/api/v1/charge-points/CP-NEXT/commands/Reset", json={"type": "Soft"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "action_not_in_version"
    soft = asyncio.create_task(api.post("/api/v1/charge-points/CP-OLD/reset", json={"type": "Soft"}))
    call = await asyncio.wait_for(old.server_calls.get(), 10)
    assert call[2:] == ["Reset", {"type": "Soft"}]
    await old.send_raw(json.dumps([3, call[1], {"status": "Accepted"}]))
    assert (await soft).json() == {"status": "Accepted"}

    # A schema of its own refuses a request it does not allow, before anything is sent.
    bad = await api.post("/api/v1/charge-points/CP-NEXT/commands/Restart", json={"mode": "sideways"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_ocpp_request"
    assert client.server_calls.empty()

