"""Every CP→CS action of OCPP 2.0.1 Voltline handles, gathered from the block modules, behind
the registration gate: until Accepted, a Pending station may only boot and send what was asked
for (B02: a triggered message, NotifyReport after GetBaseReport); a Rejected one only boot
(B03: until its interval is up it sends nothing else, so nothing else is served)."""

from __future__ import annotations

from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.rpc import OcppError
from voltline.ocpp.v201 import device_model, provisioning, remote_control, transactions
from voltline.ocpp.v201.blocks import Handler201, Payload, gather
from voltline.ocpp.v201.context import Context

_ALWAYS_ALLOWED = frozenset({"BootNotification"})
REJECTED = "Rejected"


def _guarded(action: str, handler: Handler201) -> Handler201:
    always_allowed = action in _ALWAYS_ALLOWED

    async def guarded(ctx: Context, p: Payload) -> Payload:
        if not always_allowed and not ctx.accepted and (ctx.registration_status == REJECTED or not ctx.take(action)):
            raise OcppError(
                ErrorCode.SECURITY_ERROR, f"{action} refused: the charging station's registration is {ctx.registration_status}"
            )
        return await handler(ctx, p)

    return guarded


HANDLERS: dict[str, Handler201] = {
    action: _guarded(action, handler)
    for action, handler in gather(block.HANDLERS for block in (provisioning, transactions, device_model, remote_control)).items()
}
