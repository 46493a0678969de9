"""The RPC session on its own, with a fake wire: ordering, correlation, timeouts, errors."""

import asyncio

import orjson
import pytest

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, OcppError, RpcSession
from voltline.ocpp.schemas import SchemaViolation, validators


class Wire:
    def __init__(self) -> None:
        self.sent: list[list] = []  # type: ignore[type-arg]
        self.event = asyncio.Event()

    def send(self, data: bytes) -> None:
        self.sent.append(orjson.loads(data))
        self.event.set()

    async def next(self) -> list:  # type: ignore[type-arg]
        while not self.sent:
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), 2)
        return self.sent.pop(0)


def session(wire: Wire, handlers=None, **kwargs) -> RpcSession:  # type: ignore[no-untyped-def]
    return RpcSession("CP", wire.send, handlers or {}, validators(), **kwargs)


async def test_outbound_calls_wait_for_each_other() -> None:
    wire = Wire()
    rpc = session(wire)
    first = asyncio.create_task(rpc.call("ClearCache", {}))
    second = asyncio.create_task(rpc.call("ClearCache", {}))
    call1 = await wire.next()
    await asyncio.sleep(0.05)
    assert wire.sent == []  # the second waits until the first is answered
    rpc.feed(orjson.dumps([3, call1[1], {"status": "Accepted"}]))
    call2 = await wire.next()
    assert call2[1] != call1[1]
    rpc.feed(orjson.dumps([3, call2[1], {"status": "Rejected"}]))
    assert await first == {"status": "Accepted"}
    assert await second == {"status": "Rejected"}


async def test_outbound_call_errors_and_bad_responses() -> None:
    wire = Wire()
    rpc = session(wire)
    task = asyncio.create_task(rpc.call("Reset", {"type": "Soft"}))
    call = await wire.next()
    rpc.feed(orjson.dumps([4, call[1], "NotSupported", "no", {}]))
    with pytest.raises(CallErrorReceived) as error:
        await task
    assert error.value.code == "NotSupported"

    task = asyncio.create_task(rpc.call("Reset", {"type": "Soft"}))
    call = await wire.next()
    rpc.feed(orjson.dumps([3, call[1], {"status": "Maybe"}]))
    with pytest.raises(OcppError) as error:
        await task
    assert error.value.code == "PropertyConstraintViolation"


async def test_outbound_call_times_out_and_the_next_one_proceeds() -> None:
    wire = Wire()
    rpc = session(wire)
    with pytest.raises(CallTimeout):
        await rpc.call("ClearCache", {}, timeout=0.05)
    task = asyncio.create_task(rpc.call("ClearCache", {}, timeout=1))
    call = (await wire.next(), await wire.next())[1]
    rpc.feed(orjson.dumps([3, call[1], {"status": "Accepted"}]))
    assert await task == {"status": "Accepted"}


async def test_invalid_requests_are_never_sent() -> None:
    wire = Wire()
    with pytest.raises(SchemaViolation):
        await session(wire).call("Reset", {"type": "Gentle"})
    assert wire.sent == []


async def test_closing_fails_the_outstanding_call() -> None:
    wire = Wire()
    rpc = session(wire)
    task = asyncio.create_task(rpc.call("ClearCache", {}))
    await wire.next()
    rpc.close()
    with pytest.raises(ConnectionLost):
        await task
    with pytest.raises(ConnectionLost):
        await rpc.call("ClearCache", {})


async def test_handler_failure_is_an_internal_error_and_own_bad_response_is_not_sent() -> None:
    wire = Wire()

    async def broken(ctx, payload):  # type: ignore[no-untyped-def]
        raise RuntimeError("database down")

    async def sloppy(ctx, payload):  # type: ignore[no-untyped-def]
        return {"currentTime": 5}

    rpc = session(wire, {"Heartbeat": sloppy, "Authorize": broken})
    rpc.feed(b'[2,"1","Authorize",{"idTag":"T"}]')
    assert (await wire.next())[:3] == [4, "1", "InternalError"]
    rpc.feed(b'[2,"2","Heartbeat",{}]')
    assert (await wire.next())[:3] == [4, "2", "InternalError"]


async def test_inbound_calls_are_handled_one_at_a_time_in_order() -> None:
    wire = Wire()
    running = 0
    peak = 0

    async def slow(ctx, payload):  # type: ignore[no-untyped-def]
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return {"currentTime": "2026-01-01T00:00:00Z"}

    rpc = session(wire, {"Heartbeat": slow})
    for n in range(5):
        rpc.feed(f'[2,"{n}","Heartbeat",{{}}]'.encode())
    answers = [await wire.next() for _ in range(5)]
    assert [a[1] for a in answers] == ["0", "1", "2", "3", "4"]
    assert peak == 1
