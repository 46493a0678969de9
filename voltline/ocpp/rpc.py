"""One peer's OCPP-J RPC session, independent of the WebSocket library underneath.

Inbound CALLs are validated, handled one at a time in arrival order (so a StartTransaction is
stored before the MeterValues that follow it) and answered exactly once. Outbound CALLs wait for
each other (at most one outstanding CALL per direction), each with a timeout.

The same class serves the server side (a charge point connected to us) and the simulator side
(us connected to a Central System): only the handlers differ.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Protocol

from voltline.ocpp import frames
from voltline.ocpp.errors import ProtocolFailure
from voltline.ocpp.frames import Call, CallError, CallResult, ErrorCode, FrameError, MessageType, UnknownMessageType
from voltline.ocpp.schemas import SchemaViolation, Validators

log = logging.getLogger("voltline.ocpp.rpc")

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]
"""An inbound action's handler: called with the session's `context` and the request payload,
returns the response payload."""


class OcppError(ProtocolFailure):
    """Raised by a handler to answer with a CALLERROR of this code."""

    def __init__(self, code: str, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}


class CallErrorReceived(OcppError):
    """The peer answered our CALL with a CALLERROR."""


class CallTimeout(ProtocolFailure):
    """The peer did not answer our CALL in time."""


class ConnectionLost(ProtocolFailure):
    """The connection closed before our CALL was answered (or sent)."""


class MessageLog(Protocol):
    def record(
        self,
        identity: str,
        direction: str,
        message_type: int,
        message_id: str | None,
        action: str | None,
        raw: bytes | str,
        error_code: str | None = None,
    ) -> None: ...


IN, OUT = "in", "out"

# The CALLERROR codes whose spelling differs between versions, by the meaning a version's
# `error_codes` names them with (voltline/ocpp/versions.py); every other code is spelled alike.
_MEANING = {
    ErrorCode.FORMATION_VIOLATION: "format",
    ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION: "occurrence",
}
# A message type number nobody knows: ProtocolError in 1.6, a code of its own in 2.0.1.
_UNKNOWN_TYPE = "message_type"


class PeerWarnings:
    """What one peer's frames make us log: the first `burst` records per `window` seconds, then
    only a count, so a hostile or broken charge point cannot flood the log."""

    __slots__ = ("identity", "_window_ends", "_logged", "_suppressed")

    burst = 5
    window = 60.0

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self._window_ends = 0.0
        self._logged = 0
        self._suppressed = 0

    def log(self, level: int, message: str, *args: Any, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now >= self._window_ends:
            self.flush()
            self._window_ends, self._logged = now + self.window, 0
        if self._logged < self.burst:
            self._logged += 1
            log.log(level, message, *args, exc_info=exc_info)
        else:
            self._suppressed += 1

    def flush(self) -> None:
        if self._suppressed:
            log.warning("%s: %d more warnings about its frames were not logged", self.identity, self._suppressed)
            self._suppressed = 0


class RpcSession:
    __slots__ = (
        "identity",
        "context",
        "_send",
        "_handlers",
        "_validators",
        "_lenient",
        "_log",
        "_call_timeout",
        "_inbound_busy",
        "_inbound_queue",
        "_inbound_ids",
        "_outbound_lock",
        "_pending_id",
        "_pending_action",
        "_pending_future",
        "_closed",
        "_warnings",
        "_spelling",
        "_unknown_type",
        "on_inbound_done",
    )

    def __init__(
        self,
        identity: str,
        send: Callable[[bytes], None],
        handlers: Mapping[str, Handler],
        validators: Validators,
        *,
        context: Any = None,
        lenient_actions: Collection[str] = (),
        message_log: MessageLog | None = None,
        call_timeout: float = 30.0,
        error_codes: Mapping[str, str] | None = None,
    ) -> None:
        """`error_codes`: the peer's version's spelling of codes by meaning ("format",
        "occurrence"), as OcppVersion.error_codes has them; None: as 1.6 spells them."""
        self.identity = identity
        self.context = context
        self._send = send
        self._handlers = handlers
        self._validators = validators
        self._lenient = lenient_actions if isinstance(lenient_actions, frozenset) else frozenset(lenient_actions)
        self._log = message_log
        self._call_timeout = call_timeout
        self._inbound_busy = False
        self._inbound_queue: deque[Call] | None = None
        self._inbound_ids: set[str] | None = None
        self._outbound_lock: asyncio.Lock | None = None
        self._pending_id: str | None = None
        self._pending_action: str | None = None
        self._pending_future: asyncio.Future[dict[str, Any]] | None = None
        self._closed = False
        self._warnings: PeerWarnings | None = None
        self._spelling = (
            {code: error_codes[meaning] for code, meaning in _MEANING.items() if meaning in error_codes}
            if error_codes else None
        )
        self._unknown_type = error_codes.get(_UNKNOWN_TYPE) if error_codes else None
        # Called each time an inbound CALL is done with, while someone (the gateway, holding a
        # connection's reading back) waits for the backlog to shrink; None otherwise.
        self.on_inbound_done: Callable[[], None] | None = None

    def _spell(self, code: str) -> str:
        """`code` as the peer's version spells it (frames and schemas name codes as 1.6 does)."""
        spelling = self._spelling
        return spelling.get(code, code) if spelling is not None else code

    # -- inbound ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Take one complete text message from the peer."""
        try:
            frame = frames.parse(data)
        except FrameError as exc:
            self._bad_frame(data, exc)
            return
        except Exception as exc:  # a parser bug must not leave the frame unanswered
            self._bad_frame(data, FrameError(ErrorCode.INTERNAL_ERROR, f"the frame could not be read: {exc!r}"))
            return
        if type(frame) is Call:
            self._record(IN, MessageType.CALL, frame.message_id, frame.action, data)
            self._accept_call(frame)
        elif type(frame) is CallResult:
            self._record(IN, MessageType.CALLRESULT, frame.message_id, self._action_of(frame.message_id), data)
            self._on_result(frame)
        else:
            assert type(frame) is CallError
            self._record(
                IN, MessageType.CALLERROR, frame.message_id, self._action_of(frame.message_id), data, frame.error_code
            )
            self._on_error(frame)

    def _bad_frame(self, data: bytes, exc: FrameError) -> None:
        code = self._spell(exc.code)
        if isinstance(exc, UnknownMessageType) and self._unknown_type is not None:
            code = self._unknown_type
        self._record(IN, exc.message_type or 0, exc.message_id, None, data, code)
        self.warn(logging.WARNING, "bad frame from %s: %s", self.identity, exc.description)
        if exc.answerable:
            self._answer_error(exc.message_id or "-1", None, code, exc.description)
        elif exc.message_id is not None and exc.message_id == self._pending_id:
            # A broken answer to our CALL: the call fails now rather than at its timeout.
            self._settle(exc=OcppError(code, f"the answer is not valid OCPP-J: {exc.description}"))

    def warn(self, level: int, message: str, *args: Any, exc_info: bool = False) -> None:
        """Log something about this peer's frames, a few records a minute at most."""
        warnings = self._warnings
        if warnings is None:
            warnings = self._warnings = PeerWarnings(self.identity)
        warnings.log(level, message, *args, exc_info=exc_info)

    def _accept_call(self, call: Call) -> None:
        if self._inbound_busy:
            # OCPP allows one outstanding CALL per direction; a peer that sends more is served in
            # order rather than punished, but an id reused while still in use cannot be answered
            # unambiguously.
            ids = self._inbound_ids
            if ids is not None and call.message_id in ids:
                self._answer_error(call.message_id, call.action, ErrorCode.PROTOCOL_ERROR, "message id already in use")
                return
            if self._inbound_queue is None:
                self._inbound_queue = deque()
            self._inbound_queue.append(call)
            if ids is None:
                ids = self._inbound_ids = set()
            ids.add(call.message_id)
            return
        self._inbound_busy = True
        if self._inbound_ids is None:
            self._inbound_ids = set()
        self._inbound_ids.add(call.message_id)
        asyncio.get_running_loop().create_task(self._serve(call))

    async def _serve(self, call: Call) -> None:
        while True:
            try:
                await self._handle(call)
            except Exception:
                # _handle answers whatever happens; this is a failure to send. Never let one
                # message stop the queue: later CALLs would go unanswered.
                self.warn(logging.ERROR, "answering %s from %s failed", call.action, self.identity, exc_info=True)
            finally:
                if self._inbound_ids is not None:
                    self._inbound_ids.discard(call.message_id)
            queue = self._inbound_queue
            if not queue or self._closed:
                self._inbound_busy = False
                # An idle connection keeps no per-call state: thousands of them add up.
                self._inbound_ids = self._inbound_queue = None
                next_call = None
            else:
                next_call = queue.popleft()
            if self.on_inbound_done is not None:
                try:
                    self.on_inbound_done()
                except Exception:  # the queue goes on whatever the listener does
                    log.exception("the inbound-done hook of %s failed", self.identity)
            if next_call is None:
                return
            call = next_call

    @property
    def backlog(self) -> int:
        """Inbound CALLs taken and not yet answered: the one being served and those queued behind it."""
        if not self._inbound_busy:
            return 0
        queue = self._inbound_queue
        return 1 + len(queue) if queue else 1

    async def _handle(self, call: Call) -> None:
        """Answer `call` exactly once, whatever its payload, its handler or our own response do."""
        action, message_id = call.action, call.message_id
        result: bytes | None = None
        code = description = ""
        details: dict[str, Any] | None = None
        try:
            handler = self._handlers.get(action)
            if handler is None:
                if self._validators.knows(action):
                    code, description = ErrorCode.NOT_SUPPORTED, f"{action} is not accepted from this side"
                else:
                    code, description = ErrorCode.NOT_IMPLEMENTED, f"unknown action {action!r}"
                self.warn(logging.INFO, "%s from %s answered %s: no handler", action, self.identity, code)
            else:
                try:
                    self._validators.validate_request(action, call.payload)
                except SchemaViolation as exc:
                    if action not in self._lenient:
                        code, description = exc.code, exc.description
                    else:
                        self.warn(
                            logging.WARNING, "lenient %s from %s despite %s: %s",
                            action, self.identity, exc.code, exc.description,
                        )
                if not code:
                    try:
                        response = await handler(self.context, call.payload)
                    except OcppError as exc:
                        code, description, details = exc.code, exc.description, exc.details
                    else:
                        try:
                            self._validators.validate_response(action, response)
                        except SchemaViolation as exc:
                            log.error("own %s response to %s breaks the schema: %s", action, self.identity, exc.description)
                            code, description = ErrorCode.INTERNAL_ERROR, "the server built an invalid response"
                        else:
                            result = frames.call_result(message_id, response)
        except Exception:
            # The handler, a validator or the encoder failed: the last resort is still an answer.
            self.warn(logging.ERROR, "%s from %s answered InternalError", action, self.identity, exc_info=True)
            result = None
            code, description, details = ErrorCode.INTERNAL_ERROR, "the server could not process this request", None
        if result is None:
            self._answer_error(message_id, action, code, description, details)
        elif not self._closed:
            self._record(OUT, MessageType.CALLRESULT, message_id, action, result)
            self._send(result)

    def _answer_error(
        self,
        message_id: str,
        action: str | None,
        code: str,
        description: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        if self._closed:
            return
        code = self._spell(code)
        try:
            data = frames.call_error(message_id, code, description, details)
        except Exception:  # details a handler put in that JSON cannot carry
            code = ErrorCode.INTERNAL_ERROR
            data = frames.call_error(message_id, code, "the server could not encode its error")
        self._record(OUT, MessageType.CALLERROR, message_id, action, data, code)
        self._send(data)

    # -- outbound --------------------------------------------------------------------------

    async def call(self, action: str, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send a CALL and return the peer's CALLRESULT payload.

        Raises SchemaViolation (our request is invalid or the action unknown; nothing is sent),
        CallErrorReceived, CallTimeout or ConnectionLost."""
        if not self._validators.knows(action):
            raise SchemaViolation(ErrorCode.NOT_IMPLEMENTED, f"{action!r} is not an OCPP action of this version")
        try:
            self._validators.validate_request(action, payload)
        except SchemaViolation as exc:
            exc.code = self._spell(exc.code)
            raise
        timeout = self._call_timeout if timeout is None else timeout
        if self._outbound_lock is None:
            self._outbound_lock = asyncio.Lock()
        if self._closed:
            raise ConnectionLost(f"{self.identity} is not connected")
        # One deadline for the whole call: the wait behind earlier calls uses up its time too.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._outbound_lock.acquire()
        except TimeoutError:
            raise CallTimeout(f"{action} to {self.identity} waited {timeout:g} s behind earlier calls") from None
        try:
            if self._closed:
                raise ConnectionLost(f"{self.identity} disconnected before {action} was sent")
            if loop.time() >= deadline:
                raise CallTimeout(f"{action} to {self.identity} waited {timeout:g} s behind earlier calls")
            message_id = uuid.uuid4().hex
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending_id, self._pending_action, self._pending_future = message_id, action, future
            data = frames.call(message_id, action, payload)
            self._record(OUT, MessageType.CALL, message_id, action, data)
            self._send(data)
            try:
                async with asyncio.timeout_at(deadline):
                    return await future
            except TimeoutError:
                raise CallTimeout(f"{self.identity} did not answer {action} within {timeout:g} s") from None
        finally:
            self._pending_id = self._pending_action = self._pending_future = None
            self._outbound_lock.release()

    def _action_of(self, message_id: str) -> str | None:
        return self._pending_action if message_id == self._pending_id else None

    def _on_result(self, result: CallResult) -> None:
        if result.message_id != self._pending_id:
            self.warn(logging.WARNING, "%s answered unknown message id %s", self.identity, result.message_id)
            return
        action = self._pending_action
        assert action is not None
        try:
            self._validators.validate_response(action, result.payload)
        except SchemaViolation as exc:
            if action not in self._lenient:
                problem = f"the {action} response breaks the schema: {exc.description}"
                self._settle(exc=OcppError(self._spell(exc.code), problem))
                return
            self.warn(logging.WARNING, "lenient %s response from %s despite %s", action, self.identity, exc.description)
        self._settle(result=result.payload)

    def _on_error(self, error: CallError) -> None:
        if error.message_id != self._pending_id:
            self.warn(logging.WARNING, "%s sent a CALLERROR for unknown message id %s", self.identity, error.message_id)
            return
        self._settle(exc=CallErrorReceived(error.error_code, error.error_description, error.error_details))

    def _settle(self, result: dict[str, Any] | None = None, exc: BaseException | None = None) -> None:
        future = self._pending_future
        if future is None or future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result or {})

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """The connection is gone: fail the outstanding CALL and drop queued inbound ones."""
        self._closed = True
        self._settle(exc=ConnectionLost(f"{self.identity} disconnected"))
        if self._inbound_queue:
            self._inbound_queue.clear()
        self.on_inbound_done = None
        if self._warnings is not None:
            self._warnings.flush()

    def _record(
        self,
        direction: str,
        message_type: int,
        message_id: str | None,
        action: str | None,
        raw: bytes | str,
        error_code: str | None = None,
    ) -> None:
        if self._log is not None:
            try:
                self._log.record(self.identity, direction, message_type, message_id, action, raw, error_code)
            except Exception:  # the frame is still answered; the log is not worth a lost answer
                self.warn(logging.ERROR, "the message log refused a frame of %s", self.identity, exc_info=True)
