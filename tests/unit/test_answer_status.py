"""The dashboard's reading of an OCPP answer: its status word and the colour that means it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from voltline.ocpp.schemas import validators
from voltline.ocpp.v16.outbound import CENTRAL_SYSTEM_ACTIONS
from voltline.web.answers import answer_status, logged_answer_status
from voltline.web.commands import _judge
from voltline.web.payload_examples import examples


@pytest.mark.parametrize(
    ("payload", "label", "tone"),
    [
        ({"status": "Accepted"}, "Accepted", "ok"),
        ({"status": "Rejected"}, "Rejected", "bad"),
        ({"status": "Unlocked"}, "Unlocked", "ok"),
        ({"status": "UnlockFailed"}, "UnlockFailed", "bad"),
        ({"status": "NotSupported"}, "NotSupported", "bad"),
        ({"status": "Scheduled"}, "Scheduled", "warn"),
        ({"status": "RebootRequired"}, "RebootRequired", "warn"),
        ({"status": "Pending", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}, "Pending", "warn"),
        ({"idTagInfo": {"status": "Blocked"}}, "Blocked", "bad"),
        ({"idTagInfo": {"status": "ConcurrentTx"}, "transactionId": 7}, "ConcurrentTx", "bad"),
        ({"idTagInfo": {"status": "Expired"}}, "Expired", "bad"),
        ({"idTagInfo": {"status": "Invalid"}}, "Invalid", "bad"),
        ({"idTokenInfo": {"status": "Accepted"}}, "Accepted", "ok"),  # 2.0.1
        ({"status": "Unknown"}, "Unknown", "muted"),  # ClearChargingProfile: nothing to clear
        ({"configurationKey": [], "unknownKey": []}, "answered", "muted"),
        ({}, "answered", "muted"),
        ({"currentTime": "2026-01-01T00:00:00Z"}, "answered", "muted"),
        ({"status": "SomethingNew"}, "SomethingNew", "muted"),
        ("not an object", "answered", "muted"),
    ],
)
def test_the_status_is_read_from_the_answer(payload: object, label: str, tone: str) -> None:
    status = answer_status(payload)
    assert (status.label, status.tone) == (label, tone)


def test_a_callerror_is_its_code_in_red() -> None:
    status = answer_status(None, "NotImplemented")
    assert (status.label, status.tone) == ("NotImplemented", "bad")


def test_logged_answers_are_read_from_their_frames() -> None:
    def row(message_type: int, frame: object, error_code: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(message_type=message_type, payload=json.dumps(frame), error_code=error_code)

    assert logged_answer_status(row(3, [3, "1", {"status": "Rejected"}])).as_dict() == {"label": "Rejected", "tone": "bad"}
    assert logged_answer_status(row(3, [3, "1", {"idTagInfo": {"status": "Accepted"}}])).label == "Accepted"
    assert logged_answer_status(row(4, [4, "1", "FormationViolation", "", {}], "FormationViolation")).tone == "bad"
    assert logged_answer_status(row(3, [3, "1", {}])).label == "answered"
    assert logged_answer_status(None).label == "no answer"
    assert logged_answer_status(SimpleNamespace(message_type=3, payload="[3, broken", error_code=None)).label == "answered"


def test_the_command_outcome_carries_the_status() -> None:
    rejected = _judge("CP-1", "Reset", {"status": "Rejected"})
    assert rejected.kind == "rejected" and rejected.as_dict()["status"] == {"label": "Rejected", "tone": "bad"}
    scheduled = _judge("CP-1", "ChangeAvailability", {"status": "Scheduled"})
    assert scheduled.kind == "accepted" and scheduled.as_dict()["status"]["tone"] == "warn"
    plain = _judge("CP-1", "GetConfiguration", {"configurationKey": []})
    assert plain.kind == "accepted" and plain.as_dict()["status"]["label"] == "answered"


def test_every_action_has_a_valid_example_payload() -> None:
    offered = examples()
    assert set(offered) == set(CENTRAL_SYSTEM_ACTIONS)
    for action, payload in offered.items():
        validators().validate_request(action, payload)  # raises on a payload that breaks the schema


def test_every_201_action_has_a_valid_201_example_payload() -> None:
    from voltline.ocpp.schemas import OCPP201
    from voltline.ocpp.v201.outbound import CENTRAL_SYSTEM_ACTIONS as ACTIONS_201

    offered = examples("2.0.1")
    assert set(offered) == set(ACTIONS_201)
    for action, payload in offered.items():
        validators(OCPP201).validate_request(action, payload)


async def test_a_command_the_server_could_not_send_says_so_once() -> None:
    from voltline.services.errors import Unavailable
    from voltline.web.commands import _outcome

    async def without_redis() -> None:
        raise Unavailable("CP-1 is held by node B, which cannot be reached without Redis: Reset was not sent",
                          code="cluster_unavailable")

    outcome = await _outcome("CP-1", "Reset", without_redis)
    assert outcome.kind == "error"
    assert outcome.message.count("was not sent") == 1
