"""Everything the station sends after boot, in one ordered queue.

One queue keeps the order a central system must see (StartTransaction before the
StatusNotification "Charging" before the MeterValues of that transaction). Persistent items
(transaction messages, firmware/diagnostics progress) survive a lost connection and are delivered
in order once the station is back; volatile ones (Heartbeat, Authorize, live StatusNotification)
make no sense late and fail at once. Payloads are built when sent, so a StopTransaction queued
offline carries the transactionId the central system assigned after the reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, RpcSession

log = logging.getLogger("voltline.simulator")

Payload = dict[str, Any]


@dataclass(eq=False)
class Outgoing:
    action: str
    build: Callable[[], Payload | None]  # None: the message has become pointless, drop it
    persistent: bool
    on_result: Callable[[Payload], None] | None = None
    future: asyncio.Future[Payload] | None = None
    attempts: int = 0
    about: object = None  # what the message concerns (a transaction), for `holds`

    def settle(self, result: Payload | None = None, exc: BaseException | None = None) -> None:
        if self.future is None or self.future.done():
            return
        if exc is not None:
            self.future.set_exception(exc)
        else:
            self.future.set_result(result or {})


class Outbox:
    def __init__(self) -> None:
        self._items: deque[Outgoing] = deque()
        self._arrived = asyncio.Event()
        self.delivered = asyncio.Event()  # set whenever nothing persistent is waiting
        self.quiet = asyncio.Event()  # set whenever no call is waiting for its answer
        self.quiet.set()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending_persistent(self) -> int:
        return sum(1 for item in self._items if item.persistent)

    def holds(self, action: str, about: object = None) -> bool:
        """Whether a persistent `action` (about `about`, or any) still waits to be answered."""
        return any(
            item.persistent and item.action == action and (about is None or item.about == about)
            for item in self._items
        )

    def put(self, item: Outgoing) -> None:
        self._items.append(item)
        if item.persistent:
            self.delivered.clear()
        self._arrived.set()

    def drop_volatile(self, reason: str) -> None:
        """The connection is gone: what cannot wait fails now."""
        kept: deque[Outgoing] = deque()
        for item in self._items:
            if item.persistent:
                kept.append(item)
            else:
                item.settle(exc=ConnectionLost(reason))
        self._items = kept

    async def run(
        self,
        session: RpcSession,
        *,
        may_send: Callable[[], Any],
        retry_wait: Callable[[int], Any],
        max_attempts: Callable[[], int],
        on_error: Callable[[str], None],
        on_progress: Callable[[], None] = lambda: None,
    ) -> None:
        """Deliver items until the connection is lost (then return).

        `may_send()` is awaited before each message (it blocks while the station is silent);
        `retry_wait(attempt)` is awaited before a rejected transaction message is retried."""
        while True:
            if not self._items:
                self._mark_delivered()
                self._arrived.clear()
                await self._arrived.wait()
                continue
            await may_send()
            item = self._items[0]
            payload = item.build()
            if payload is None:
                self._items.popleft()
                item.settle(exc=ConnectionLost("the message was withdrawn"))
                continue
            self.quiet.clear()
            try:
                result = await session.call(item.action, payload)
            except ConnectionLost:
                self.quiet.set()
                if not item.persistent:
                    self._pop(item)
                    item.settle(exc=ConnectionLost(f"{session.identity} lost its connection"))
                return
            except CallTimeout as exc:
                self.quiet.set()
                on_error(f"{item.action}: {exc}")
                if not item.persistent:
                    self._pop(item)
                    item.settle(exc=exc)
                # A persistent message whose answer was lost is sent again (OCPP 1.6 §4.10):
                # the central system recognises a repeated StartTransaction.
                continue
            except CallErrorReceived as exc:
                self.quiet.set()
                on_error(f"{item.action} answered {exc.code}: {exc.description}")
                item.attempts += 1
                if item.persistent and item.attempts < max_attempts():
                    await retry_wait(item.attempts)
                    continue
                self._pop(item)
                item.settle(exc=exc)
                continue
            except Exception as exc:  # our own payload broke the schema: a bug, not a reason to stall
                self.quiet.set()
                log.exception("%s could not send %s", session.identity, item.action)
                on_error(f"{item.action}: {exc}")
                self._pop(item)
                item.settle(exc=exc)
                continue
            self.quiet.set()
            self._pop(item)
            if item.on_result is not None:
                try:
                    item.on_result(result)
                except Exception:
                    log.exception("%s: handling the %s answer failed", session.identity, item.action)
            item.settle(result)
            on_progress()

    def _pop(self, item: Outgoing) -> None:
        if self._items and self._items[0] is item:
            self._items.popleft()
        if not any(i.persistent for i in self._items):
            self._mark_delivered()

    def _mark_delivered(self) -> None:
        if not any(i.persistent for i in self._items):
            self.delivered.set()
