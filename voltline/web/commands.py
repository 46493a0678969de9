"""Commands from the dashboard to a charge point, with an outcome an operator can read.

Every outcome is one of: accepted, rejected (the charge point said no, or answered a CALLERROR),
timeout, offline, invalid (the request was not sent: bad input or not valid OCPP). The calls go
through the command service, so they have the same domain effects as from the REST API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from voltline.ocpp.commands import Reply
from voltline.services.errors import ChargePointOffline, CommandFailed, CommandTimeout, DomainError, Unavailable
from voltline.services.node import Node
from voltline.web.answers import ANSWERED, OK, WARN, AnswerStatus, answer_status

log = logging.getLogger("voltline.web")

# Seconds the dashboard waits for an answer: an operator at a screen should not wait 30 s.
TIMEOUT_S = 15.0


@dataclass(slots=True)
class Outcome:
    kind: str  # accepted | rejected | timeout | offline | invalid | error
    message: str
    response: dict[str, Any] | None = field(default=None)
    status: AnswerStatus | None = field(default=None)  # what the charge point answered, when it did

    @property
    def ok(self) -> bool:
        return self.kind == "accepted"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "response": self.response,
                "status": self.status.as_dict() if self.status else None}


def _timeout(node: Node) -> float:
    return min(TIMEOUT_S, node.settings.call_timeout)


async def send(node: Node, charge_point_id: str, action: str, payload: dict[str, Any]) -> Outcome:
    commands = node.services.commands
    return await _outcome(charge_point_id, action,
                          lambda: commands.send_as_written(charge_point_id, action, payload, _timeout(node)))


async def run(node: Node, charge_point_id: str, action: str, call: Any) -> Outcome:
    """A service verb that calls the charge point: `call(timeout)` returns its reply."""
    return await _outcome(charge_point_id, action, lambda: call(_timeout(node)))


async def remote_start(
    node: Node, charge_point_id: str, id_tag: str, connector_id: int | None, evse_id: int | None = None
) -> Outcome:
    """Through the remote-start service: it checks the tag, picks a free connector when none is
    given, and records the request so the StartTransaction that follows is matched to it
    (`evse_id`: the EVSE of a 2.0.1 station)."""

    async def start() -> Reply[Any]:
        reply, _ = await node.services.remote_starts.start(
            charge_point_id, id_tag, connector_id=connector_id, evse_id=evse_id, timeout=_timeout(node)
        )
        return reply

    # Named as the charge point's version names it.
    action = "RequestStartTransaction" if node.services.commands.speaks(charge_point_id, "RequestStartTransaction") \
        else "RemoteStartTransaction"
    return await _outcome(charge_point_id, action, start)


async def _outcome(charge_point_id: str, action: str, call: Any) -> Outcome:
    try:
        reply = await call()
    except ChargePointOffline as exc:
        return Outcome("offline", exc.message)
    except CommandTimeout as exc:
        return Outcome("timeout", exc.message)
    except CommandFailed as exc:
        detail = f": {exc.description}" if exc.description else ""
        return Outcome("rejected", f"{charge_point_id} answered {action} with the error {exc.ocpp_code}{detail}",
                       {"errorCode": exc.ocpp_code, "errorDescription": exc.description or ""},
                       answer_status(None, exc.ocpp_code))
    except Unavailable as exc:  # nothing was sent, and the message says so (the cluster without Redis)
        return Outcome("error", exc.message)
    except DomainError as exc:
        return Outcome("invalid", f"{action} was not sent: {exc.message}")
    except Exception:
        log.exception("%s to %s failed", action, charge_point_id)
        return Outcome("error", f"{action} to {charge_point_id} failed on the server")
    # The operator sees the charge point's answer as it came.
    return _judge(charge_point_id, action, dict(reply.answer))


def _judge(charge_point_id: str, action: str, response: dict[str, Any]) -> Outcome:
    status = answer_status(response)
    if status is ANSWERED:
        # GetConfiguration, GetDiagnostics, GetLocalListVersion…: an answer is success.
        return Outcome("accepted", f"{charge_point_id} answered {action}", response, status)
    if status.tone in (OK, WARN):  # Scheduled, RebootRequired: it will, later
        return Outcome("accepted", f"{charge_point_id} accepted {action} ({status.label})", response, status)
    return Outcome("rejected", f"{charge_point_id} answered {action}: {status.label}", response, status)
