"""The gateway's inbound queue: CALLs handled a budget per loop turn, in order; answers skip it."""

import asyncio

from voltline.app import OperatorFirst
from voltline.gateway.server import InboundFrames, OcppGateway


class FakeSession:
    """A charge point's connection and its session in one: the parts InboundFrames uses."""

    def __init__(self, name: str, handled: list[tuple[str, bytes]], fail_on: bytes | None = None) -> None:
        self.identity = name
        self.closed = False
        self._handled = handled
        self._fail_on = fail_on
        self.session = self
        self.waiting = 0
        self.paused = False
        self.resume_checks = 0

    def feed(self, data: bytes) -> None:
        self._handled.append((self.identity, data))
        if data == self._fail_on:
            raise RuntimeError("handler bug")

    def resume_if_drained(self) -> None:
        self.resume_checks += 1


async def test_calls_are_handled_in_order_a_budget_per_turn() -> None:
    handled: list[tuple[str, bytes]] = []
    inbound = InboundFrames(asyncio.get_running_loop(), budget=3)
    a, b = FakeSession("A", handled), FakeSession("B", handled)
    frames = [(a if i % 2 else b, b'[2,"%d","Heartbeat",{}]' % i) for i in range(8)]
    for session, data in frames:
        inbound.put(session, data)
    assert handled == [] and len(inbound) == 8  # nothing is handled inside the read callback
    await asyncio.sleep(0)
    assert len(handled) == 3  # one turn, one budget
    for _ in range(5):
        await asyncio.sleep(0)
    assert handled == [(s.identity, d) for s, d in frames]


async def test_answers_skip_the_queue_and_a_failure_stops_nothing() -> None:
    handled: list[tuple[str, bytes]] = []
    inbound = InboundFrames(asyncio.get_running_loop(), budget=10)
    bad = FakeSession("BAD", handled, fail_on=b'[2,"1","Heartbeat",{}]')
    good = FakeSession("GOOD", handled)
    inbound.put(bad, b'[2,"1","Heartbeat",{}]')
    inbound.put(good, b'[2,"2","Heartbeat",{}]')
    inbound.put(good, b' [ 3 ,"x",{}]')
    inbound.put(good, b'[4,"y","InternalError","",{}]')
    assert handled == [("GOOD", b' [ 3 ,"x",{}]'), ("GOOD", b'[4,"y","InternalError","",{}]')]
    closed = FakeSession("GONE", handled)
    inbound.put(closed, b'[2,"3","Heartbeat",{}]')
    closed.closed = True
    await asyncio.sleep(0)
    assert handled[2:] == [("BAD", b'[2,"1","Heartbeat",{}]'), ("GOOD", b'[2,"2","Heartbeat",{}]')]
    assert len(inbound) == 0


async def test_turns_are_shorter_while_an_operator_command_is_in_flight() -> None:
    handled: list[tuple[str, bytes]] = []
    inbound = InboundFrames(asyncio.get_running_loop(), budget=5, urgent_budget=2)
    session = FakeSession("A", handled)
    for i in range(20):
        inbound.put(session, b'[2,"%d","Heartbeat",{}]' % i)
    inbound.urgent += 1
    await asyncio.sleep(0)
    assert len(handled) == 2
    inbound.urgent -= 1
    await asyncio.sleep(0)
    assert len(handled) == 7


async def test_only_requests_that_change_something_put_the_operator_first() -> None:
    class Gateway:  # the part of OcppGateway that OperatorFirst uses
        operator_first = OcppGateway.operator_first

        def __init__(self) -> None:
            self.inbound = InboundFrames(asyncio.get_running_loop())

    gateway = Gateway()
    seen: list[int] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.append(gateway.inbound.urgent)

    wrapped = OperatorFirst(app, gateway)  # type: ignore[arg-type]
    for method in ("GET", "POST", "HEAD", "DELETE"):
        await wrapped({"type": "http", "method": method}, None, None)
    assert seen == [0, 1, 0, 1]
    assert gateway.inbound.urgent == 0


async def test_each_connection_knows_how_many_of_its_calls_wait_in_the_queue() -> None:
    handled: list[tuple[str, bytes]] = []
    inbound = InboundFrames(asyncio.get_running_loop(), budget=2)
    a, b = FakeSession("A", handled), FakeSession("B", handled)
    assert inbound.put(a, b'[2,"1","Heartbeat",{}]') is True
    assert inbound.put(a, b'[2,"2","Heartbeat",{}]') is True
    assert inbound.put(b, b'[2,"3","Heartbeat",{}]') is True
    assert inbound.put(a, b'[3,"x",{}]') is False  # an answer is not queued, nor counted
    assert (a.waiting, b.waiting) == (2, 1)
    a.paused = True  # a paused connection is asked to resume as its frames leave the queue
    await asyncio.sleep(0)
    assert (a.waiting, b.waiting, a.resume_checks) == (0, 1, 2)
    await asyncio.sleep(0)
    assert (a.waiting, b.waiting, b.resume_checks) == (0, 0, 0)
