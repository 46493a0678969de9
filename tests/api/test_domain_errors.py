"""Each domain error reaches an API client with its intended status, code and message: the one
DomainError handler translates them all, the charge points' own refusals included."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

import voltline.services
from tests.unit.test_error_hierarchy import defined_exceptions
from voltline.api.errors import install
from voltline.services import errors as e
from voltline.services.authorization.id_tags import ImportRefused
from voltline.services.provisioning.errors import (
    ChargePointExists,
    NotStored,
    UnknownChargePoint,
)
from voltline.services.remote_control.request_checks import InvalidRequest, Problem
from voltline.services.security.authority import AuthorityNotConfigured, CsrRejected
from voltline.services.security.operators import (
    TooManyAttempts,
    UnknownUser,
    UserExists,
)
from voltline.services.security.passwords import HasherBusy

# error → (status, code, message, Retry-After)
INTENDED: dict[type[e.DomainError], tuple[Callable[[], e.DomainError], int, str, str, str | None]] = {
    e.DomainError: (lambda: e.DomainError("odd"), 400, "error", "odd", None),
    e.NotFound: (lambda: e.NotFound("no id tag X"), 404, "not_found", "no id tag X", None),
    e.Conflict: (lambda: e.Conflict("taken"), 409, "conflict", "taken", None),
    e.Invalid: (lambda: e.Invalid("bad"), 400, "bad_request", "bad", None),
    e.Throttled: (lambda: e.Throttled("later"), 429, "too_many_attempts", "later", None),
    e.Unavailable: (lambda: e.Unavailable("not now"), 503, "unavailable", "not now", "1"),
    e.ChargePointOffline: (lambda: e.ChargePointOffline("CP is offline"), 409, "charge_point_offline", "CP is offline", None),
    e.CommandTimeout: (lambda: e.CommandTimeout("no answer"), 504, "timeout", "no answer", None),
    e.CommandLost: (lambda: e.CommandLost("node A stopped"), 504, "node_lost", "node A stopped", None),
    e.CommandFailed: (lambda: e.CommandFailed("CALLERROR", ocpp_code="NotSupported", description=""), 502,
                      "call_error", "CALLERROR", None),
    UnknownChargePoint: (lambda: UnknownChargePoint("CP-9"), 404, "not_found", "no charge point CP-9", None),
    ChargePointExists: (lambda: ChargePointExists("CP-9"), 409, "charge_point_exists", "charge point CP-9 exists", None),
    NotStored: (lambda: NotStored("the row of charge point CP-9 was not written"), 503, "not_stored",
                "the row of charge point CP-9 was not written", "1"),
    HasherBusy: (HasherBusy, 503, "busy", "the server is checking many passwords at once; try again", "1"),
    UserExists: (lambda: UserExists("ada"), 409, "user_exists", "there is an operator ada already", None),
    UnknownUser: (lambda: UnknownUser("ada"), 404, "not_found", "no operator ada", None),
    TooManyAttempts: (lambda: TooManyAttempts(29.2), 429, "too_many_attempts",
                      "too many failed logins; try again in 29 s", "30"),
    CsrRejected: (lambda: CsrRejected("not a PEM certificate signing request"), 400, "bad_request",
                  "not a PEM certificate signing request", None),
    AuthorityNotConfigured: (lambda: AuthorityNotConfigured("no CA"), 503, "unavailable", "no CA", "1"),
    ImportRefused: (lambda: ImportRefused("the file is empty", code="invalid_csv"), 400, "invalid_csv",
                    "the file is empty", None),
    InvalidRequest: (lambda: InvalidRequest("SetChargingProfile", [Problem(("stack_level",), "must be 0 or more")]),
                     400, "invalid_ocpp_request", "SetChargingProfile was not sent: stack_level: must be 0 or more", None),
}


def test_every_domain_error_has_an_intended_status() -> None:
    # A new domain error must say here how an API client sees it.
    assert set(defined_exceptions(voltline.services)) == set(INTENDED)


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = FastAPI()
    install(app)
    names = {cls.__name__: make for cls, (make, *_) in INTENDED.items()}

    @app.get("/raise/{name}")
    async def _raise(name: str) -> None:
        raise names[name]()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


@pytest.mark.parametrize("cls", list(INTENDED), ids=lambda cls: cls.__name__)
async def test_a_domain_error_answers_its_status(client: httpx.AsyncClient, cls: type[e.DomainError]) -> None:
    _, status, code, message, retry_after = INTENDED[cls]
    response = await client.get(f"/raise/{cls.__name__}")
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    assert response.headers.get("retry-after") == retry_after


async def test_the_charge_points_refusals_read_as_before(api: httpx.AsyncClient) -> None:
    # Once answered by handlers of their own; the same bodies through the domain's one handler.
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-E"})).status_code == 201
    again = await api.post("/api/v1/charge-points", json={"id": "CP-E"})
    assert again.status_code == 409
    assert again.json() == {"error": {"code": "charge_point_exists", "message": "charge point CP-E exists"}}
    unknown = await api.patch("/api/v1/charge-points/CP-NONE", json={"description": "x"})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": {"code": "not_found", "message": "no charge point CP-NONE"}}
