"""The RPC session on its own, with a fake wire: ordering, correlation, timeouts, errors."""

import asyncio
import logging

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, OcppError, PeerWarnings, RpcSession
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


# -- every CALL gets exactly one answer, whatever is inside it -----------------------------------


async def _echo_time(ctx, payload):  # type: ignore[no-untyped-def]
    return {"currentTime": "2026-01-01T00:00:00Z"}


async def _invalid_response(ctx, payload):  # type: ignore[no-untyped-def]
    return {"status": "Maybe"}


async def _raises(ctx, payload):  # type: ignore[no-untyped-def]
    raise RuntimeError("database down")


async def _unencodable_details(ctx, payload):  # type: ignore[no-untyped-def]
    raise OcppError("GenericError", "with details JSON cannot carry", {"at": object()})


async def _unvalidatable_response(ctx, payload):  # type: ignore[no-untyped-def]
    return {"status": "Accepted", "data": {1, 2}}  # a set: the validator itself fails


async def _unencodable_response(ctx, payload):  # type: ignore[no-untyped-def]
    return {"transactionId": 2**70, "idTagInfo": {"status": "Accepted"}}  # valid, but no 64-bit integer


async def _echo_payload(ctx, payload):  # type: ignore[no-untyped-def]
    return {}


FUZZ_HANDLERS = {
    "Heartbeat": _echo_time,
    "BootNotification": _invalid_response,
    "Authorize": _raises,
    "StatusNotification": _unencodable_details,
    "DataTransfer": _unvalidatable_response,
    "StartTransaction": _unencodable_response,
    "MeterValues": _echo_payload,
}
# The actions a charge point may call, others that only the Central System calls, and nonsense.
_ACTIONS = st.sampled_from([*FUZZ_HANDLERS, "Reset", "GetConfiguration", "FlyToTheMoon", ""])
_KEYS = st.sampled_from(["connectorId", "meterValue", "sampledValue", "value", "vendorId", "data", "idTag", "x"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.text(max_size=5).map(lambda s: s * 2000)  # some size
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def _call_shaped(draw: st.DrawFn, serial: int) -> tuple[str | None, bytes]:
    """One CALL-shaped frame and the id its answer must carry (None: it has no readable id)."""
    message_id: object = f"m{serial}"
    if draw(st.integers(0, 9)) == 0:
        message_id = draw(st.sampled_from([17, None, "", "x" * 37, ["m"], True]))
    payload = orjson.dumps(draw(st.dictionaries(_KEYS, _JSON, max_size=4))).decode()
    depth = draw(st.sampled_from([0, 0, 0, 3, 30, 31, 32, 33, 200, 254, 255, 256, 300, 900]))
    if depth:
        # nesting in the text: no encoder writes 300 levels
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
        payload = payload[:-1] + ("," if payload != "{}" else "") + '"deep":' + opener * depth + "1" + closer * depth + "}"
    action = orjson.dumps(draw(_ACTIONS)).decode()
    tail = draw(st.sampled_from(["", "", "", ',"extra"']))
    raw = f"[2,{orjson.dumps(message_id).decode()},{action},{payload}{tail}]"
    answer_id = message_id if isinstance(message_id, str) and 0 < len(message_id) <= 36 else None
    return answer_id, raw.encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_every_call_gets_exactly_one_answer_whatever_is_inside_it(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 12))
    frames = [data.draw(_call_shaped(n)) for n in range(count)]
    lenient = data.draw(st.sets(st.sampled_from(list(FUZZ_HANDLERS))))

    async def run() -> list[list]:  # type: ignore[type-arg]
        wire = Wire()
        rpc = session(wire, FUZZ_HANDLERS, lenient_actions=lenient)
        for _, raw in frames:
            rpc.feed(raw)
        for _ in range(1000):
            if rpc.backlog == 0:
                break
            await asyncio.sleep(0)
        assert rpc.backlog == 0
        return wire.sent

    sent = asyncio.run(run())
    assert all(frame[0] == 4 or frame[0] == 3 for frame in sent)
    expected = sorted(message_id or "-1" for message_id, _ in frames)
    assert sorted(frame[1] for frame in sent) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"[3, 17, {}]",
        b'[3, null, {"status": "Accepted"}]',
        b'[4, 17, "InternalError", "", {}]',
        b"[3]",
        b'[3, "ok", []]',
        b'[4, "ok", "InternalError"]',
        b"[        3, 5, {}]",
    ],
)
async def test_a_broken_callresult_or_callerror_is_never_answered(raw: bytes) -> None:
    wire = Wire()
    rpc = session(wire)
    rpc.feed(raw)
    await asyncio.sleep(0.01)
    assert wire.sent == []


async def test_a_broken_answer_to_our_call_settles_it_at_once() -> None:
    wire = Wire()
    rpc = session(wire)
    task = asyncio.create_task(rpc.call("ClearCache", {}, timeout=30))
    call = await wire.next()
    rpc.feed(orjson.dumps([3, call[1], ["not", "an", "object"]]))
    with pytest.raises(OcppError) as error:
        await asyncio.wait_for(task, 5)
    assert error.value.code == "FormationViolation"
    assert wire.sent == []


async def test_an_outbound_call_waits_one_timeout_in_all_lock_included() -> None:
    wire = Wire()
    rpc = session(wire)
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(rpc.call("ClearCache", {}, timeout=30))
    first_call = await wire.next()
    timeout = 2.0
    started = loop.time()
    second = asyncio.create_task(rpc.call("ClearCache", {}, timeout=timeout))
    # The lock is held for most of the second call's time; then the charge point never answers it.
    await asyncio.sleep(timeout * 0.8)
    rpc.feed(orjson.dumps([3, first_call[1], {"status": "Accepted"}]))
    assert await first == {"status": "Accepted"}
    with pytest.raises(CallTimeout):
        await second
    # One deadline: the whole call took its timeout; lock wait + answer wait would take 1.8 x.
    assert loop.time() - started < timeout * 1.4
    assert len(wire.sent) == 1  # the second CALL was sent, once


async def test_warnings_about_one_peer_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    wire = Wire()
    rpc = session(wire)
    with caplog.at_level(logging.WARNING, logger="voltline.ocpp.rpc"):
        for _ in range(100):
            rpc.feed(b"not json")
        rpc.close()
    assert len(wire.sent) == 100  # every one is answered
    records = [r.getMessage() for r in caplog.records if r.name == "voltline.ocpp.rpc"]
    assert len(records) == PeerWarnings.burst + 1
    assert records[-1] == f"CP: {100 - PeerWarnings.burst} more warnings about its frames were not logged"


# OCPP-J 2.0.1 spells two codes otherwise than 1.6; the session answers in its peer's spelling.
SPELLING_201 = {"format": "FormatViolation", "occurrence": "OccurrenceConstraintViolation",
                "message_type": "MessageTypeNotSupported"}


async def test_codes_are_spelled_as_the_peers_version_spells_them_in_every_direction() -> None:
    async def boot(ctx: object, payload: dict) -> dict:  # type: ignore[type-arg]
        raise OcppError("FormationViolation", "a handler names the code as 1.6 does")

    for spelling, formation, occurrence, unknown_type in (
        (SPELLING_201, "FormatViolation", "OccurrenceConstraintViolation", "MessageTypeNotSupported"),
        (None, "FormationViolation", "OccurenceConstraintViolation", "ProtocolError"),
    ):
        wire = Wire()
        rpc = RpcSession("CS", wire.send, {"BootNotification": boot, "Heartbeat": boot}, validators("ocpp2.0.1"),
                         error_codes=spelling)
        rpc.feed(b"[2, 1]")  # not a frame
        assert (await wire.next())[2] == formation
        rpc.feed(b'[6, "m0", "Heartbeat", {}]')
        assert (await wire.next())[1:3] == ["m0", unknown_type]
        rpc.feed(orjson.dumps([2, "m1", "BootNotification", {"reason": "PowerUp"}]))  # chargingStation missing
        assert (await wire.next())[2:3] == [occurrence]
        rpc.feed(orjson.dumps([2, "m2", "Heartbeat", {}]))  # the handler's own code
        assert (await wire.next())[2] == formation
        # Our own request refused before it is sent, and a broken answer to it.
        with pytest.raises(SchemaViolation) as refused:
            await rpc.call("Reset", {})
        assert refused.value.code == occurrence
        task = asyncio.create_task(rpc.call("ClearCache", {}))
        call = await wire.next()
        rpc.feed(orjson.dumps([3, call[1], {"status": "Accepted", "extra": 1}]))
        with pytest.raises(OcppError) as broken:
            await task
        assert broken.value.code == formation
        # Codes both versions spell alike stay as they are.
        rpc.feed(orjson.dumps([2, "m3", "NoSuchAction", {}]))
        assert (await wire.next())[2] == "NotImplemented"
