"""Commands between nodes (DESIGN §7): a command issued on any node reaches the node holding the
charge point's connection, is sent there, and its outcome comes back to the caller.

Each node reads one Redis stream, `commands:{node}`, in a consumer group, and its answers come
on `replies:{node}`. The caller writes the command (its id, the OCPP action and payload in the
charge point's version, the call's timeout) to the holder's stream and waits for the reply with
that id. The holder sends it through its own link, so the one-outstanding-CALL rule and the
call's timeout hold there as for a local command, and writes back the charge point's answer or
the domain error (offline, CALLERROR, timeout, invalid) that a local call would have raised; the
caller raises the same error, so the API answers the same status as on one node.

- Never twice: the holder runs a command only if it is the first to set the command's id key in
  Redis; a stream entry delivered again (the holder restarted and read what it had not
  acknowledged, or a copy) is acknowledged and dropped.
- The holder dies with the command in flight: the caller, while waiting, looks at the holder's
  liveness key; once it has expired the caller gets CommandLost (504) at once, and in any case the
  wait ends at the call's timeout plus GRACE_S (CommandTimeout).
- Redis away: a cross-node command fails with Unavailable (503); local commands never touch Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import redis.asyncio as aioredis
import redis.exceptions

from voltline.cluster.connection import REDIS_DOWN, Keys
from voltline.cluster.directory import Directory
from voltline.cluster.presence import Holder, Presence
from voltline.gateway.link import GatewayLink, check_in, decode_in, encode_in, read_in
from voltline.ocpp.commands import Answer, Reply, Request
from voltline.services.errors import (
    ChargePointOffline,
    CommandFailed,
    CommandLost,
    CommandTimeout,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    Unavailable,
)
from voltline.services.remote_control.request_checks import Problem

if TYPE_CHECKING:
    from voltline.gateway.server import OcppGateway
    from voltline.ocpp.versions import OcppVersion

log = logging.getLogger("voltline.cluster.commands")

R = TypeVar("R", bound=Answer)
GROUP = "nodes"
# Beyond the call's own timeout, for the way there and back: the holder answers its timeout first.
GRACE_S = 5.0
STREAM_MAX = 10_000  # entries kept in a stream (approximately): far more than are ever in flight
RETRY_S = 1.0
# Commands a holder runs at once at most; past that it reads no more from its stream until one
# ends (they wait in Redis, not in this node's memory).
IN_FLIGHT = 1000

# The errors a call may end with, by the name they travel under; the caller raises the same class.
_ERRORS: dict[str, type[DomainError]] = {
    "offline": ChargePointOffline,
    "timeout": CommandTimeout,
    "failed": CommandFailed,
    "invalid": Invalid,
    "not_found": NotFound,
    "conflict": Conflict,
    "unavailable": Unavailable,
}


def encode_error(exc: DomainError) -> dict[str, Any]:
    kind = next((name for name, cls in _ERRORS.items() if type(exc) is cls), None)
    kind = kind or next((name for name, cls in _ERRORS.items() if isinstance(exc, cls)), "error")
    error: dict[str, Any] = {"kind": kind, "message": exc.message, "code": exc.code, "details": exc.details}
    if isinstance(exc, CommandFailed):
        error.update(ocpp_code=exc.ocpp_code, description=exc.description, action=exc.action)
    return error


def decode_error(error: dict[str, Any]) -> Exception:
    cls = _ERRORS.get(error["kind"])
    if cls is CommandFailed:
        return CommandFailed(
            error["message"], ocpp_code=error["ocpp_code"], description=error["description"],
            details=error["details"], action=error["action"],
        )
    if cls is None:
        return RuntimeError(error["message"])  # a failure of the holding node itself: 500, as locally
    return cls(error["message"], code=error["code"], details=error["details"])


T = TypeVar("T")


async def _again_once(attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()`, and once more if Redis failed it: after a Redis restart each pooled connection
    fails its first command, and the next attempt takes a new one."""
    try:
        return await attempt()
    except REDIS_DOWN:
        return await attempt()


class CommandLink:
    """Both ends of the cross-node command streams of one node."""

    def __init__(
        self, redis: aioredis.Redis, node_id: str, gateway: OcppGateway, presence: Presence, call_timeout: float,
        liveness_check: float, keys: Keys | None = None,
    ) -> None:
        self._redis = redis
        self.node_id = node_id
        self._gateway = gateway
        self._local: GatewayLink = gateway.link
        self._presence = presence
        self._keys = keys or Keys()
        self._call_timeout = call_timeout
        self._liveness_check = liveness_check  # how often a waiting caller looks whether the holder lives
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._running = 0
        self.forwarded = 0  # commands sent to other nodes for the charge points they hold
        self.executed = 0  # commands of other nodes sent to charge points here
        self.duplicates = 0  # entries dropped because their command had run already

    # -- the caller's end -------------------------------------------------------------------

    async def holder(self, identity: str, action: str) -> Holder:
        """The node holding the charge point now, read from Redis (409 when none, 503 without Redis)."""
        try:
            holder = await _again_once(lambda: self._presence.holder(identity))
        except REDIS_DOWN as exc:
            raise Unavailable(
                f"{identity} is not connected to this node and the cluster cannot be asked where it is"
                f" (Redis: {exc}): {action} was not sent",
                code="cluster_unavailable",
            ) from None
        if holder is None or holder.node == self.node_id:
            raise ChargePointOffline(f"charge point {identity} is offline: {action} was not sent")
        return holder

    async def forward(
        self, holder: Holder, identity: str, action: str, payload: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        """Send `action` to the charge point through the node holding it; its answer payload, or
        the domain error the holder's call ended with."""
        timeout = self._call_timeout if timeout is None else timeout
        command_id = uuid.uuid4().hex
        body = orjson.dumps({
            "id": command_id, "from": self.node_id, "identity": identity, "epoch": holder.epoch,
            "version": holder.version, "action": action, "payload": payload, "timeout": timeout,
            "sent_at": time.time(),
        })
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        self.forwarded += 1
        try:
            try:
                # Twice at most: a copy the first attempt left is dropped by its idempotency key.
                await _again_once(lambda: self._redis.xadd(
                    self._keys.commands(holder.node), {b"c": body}, maxlen=STREAM_MAX, approximate=True
                ))
            except REDIS_DOWN as exc:
                raise Unavailable(
                    f"{identity} is held by node {holder.node}, which cannot be reached without Redis ({exc}):"
                    f" {action} was not sent",
                    code="cluster_unavailable",
                ) from None
            reply = await self._wait(future, holder, identity, action, timeout)
        finally:
            self._waiting.pop(command_id, None)
        if "error" in reply:
            raise decode_error(reply["error"])
        return reply["answer"]  # type: ignore[no-any-return]

    async def _wait(
        self, future: asyncio.Future[dict[str, Any]], holder: Holder, identity: str, action: str, timeout: float
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        limit = timeout + GRACE_S
        deadline = loop.time() + limit
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise CommandTimeout(
                    f"node {holder.node}, which holds {identity}, did not answer {action} within {limit:g} s"
                )
            try:
                return await asyncio.wait_for(asyncio.shield(future), min(remaining, self._liveness_check))
            except TimeoutError:
                pass
            try:
                alive = await self._redis.exists(self._keys.node(holder.node))
            except REDIS_DOWN:
                continue  # its answer cannot come either until Redis is back; the deadline bounds the wait
            if not alive and not future.done():
                raise CommandLost(
                    f"node {holder.node}, which held {identity}, stopped while {action} was in flight:"
                    " whether the charge point received it is not known",
                )

    async def run_replies(self) -> None:
        """Deliver the answers to this node's waiting callers."""
        key = self._keys.replies(self.node_id)
        last: bytes | str = "0-0"  # what is left from a previous run has no caller waiting: skipped
        while True:
            try:
                streams = await self._redis.xread({key: last}, count=500, block=1000)
            except REDIS_DOWN as exc:
                log.warning("command link: cannot read replies (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
                continue
            for _, entries in streams or ():
                for entry_id, fields in entries:
                    last = entry_id
                    try:
                        reply = orjson.loads(fields[b"r"])
                    except (KeyError, orjson.JSONDecodeError):
                        continue
                    future = self._waiting.get(reply.get("id"))
                    if future is not None and not future.done():
                        future.set_result(reply)

    # -- the holder's end -------------------------------------------------------------------

    async def run_commands(self) -> None:
        """Take the commands other nodes wrote for this node, each sent to its charge point."""
        key = self._keys.commands(self.node_id)
        pending = True  # after each (re)connection, first what was delivered and not acknowledged
        while True:
            try:
                if pending:
                    await self._create_group(key)
                streams = await self._redis.xreadgroup(
                    GROUP, self.node_id, {key: "0" if pending else ">"}, count=100, block=None if pending else 1000
                )
                pending = False
            except redis.exceptions.ResponseError as exc:
                # NOGROUP, or UNBLOCKED: the stream went (Redis restarted empty, or a sweep took
                # this node for dead while it was cut off): the group is created again.
                if "NOGROUP" not in str(exc):
                    log.warning("command link: reading commands failed (%s); reading again", exc)
                    await asyncio.sleep(RETRY_S)
                pending = True
                continue
            except REDIS_DOWN as exc:
                log.warning("command link: cannot read commands (%s); retrying", exc)
                pending = True
                await asyncio.sleep(RETRY_S)
                continue
            for _, entries in streams or ():
                for entry_id, fields in entries:
                    await self._slots.acquire()
                    self._spawn(self._take(key, entry_id, fields))

    async def _create_group(self, key: str) -> None:
        try:
            await self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @property
    def waiting(self) -> int:
        """Commands sent to other nodes whose outcome has not come back yet."""
        return len(self._waiting)

    @property
    def running(self) -> int:
        """Other nodes' commands being run here."""
        return self._running

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take(self, key: str, entry_id: bytes, fields: dict[bytes, bytes] | None) -> None:
        self._running += 1
        try:
            await self._take_one(key, entry_id, fields)
        finally:
            self._running -= 1
            self._slots.release()

    async def _take_one(self, key: str, entry_id: bytes, fields: dict[bytes, bytes] | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GRACE_S
        while True:
            try:
                if fields and b"c" in fields:
                    await self._execute(orjson.loads(fields[b"c"]))
                break
            except REDIS_DOWN as exc:
                # A pooled connection to a Redis that restarted fails once; the next is new. Tried
                # again, the idempotency key still lets the command run at most once.
                if loop.time() >= deadline:
                    log.warning("command link: a command could not be taken (%s)", exc)
                    return  # unacknowledged: read again after the reconnection, dropped if it ran
                await asyncio.sleep(0.1)
            except Exception:
                log.exception("command link: a command could not be taken")
                break
        with contextlib.suppress(*REDIS_DOWN):
            await self._redis.xack(key, GROUP, entry_id)

    async def _execute(self, command: dict[str, Any]) -> None:
        limit = command["timeout"] + GRACE_S
        if time.time() > command["sent_at"] + limit:
            log.info("command link: %s for %s came after its caller gave up; dropped", command["action"], command["identity"])
            return
        # The idempotency key: only the first delivery of a command runs it.
        if not await self._redis.set(self._keys.command(command["id"]), self.node_id, nx=True, px=int(limit * 2000)):
            self.duplicates += 1
            log.info("command link: %s for %s was run already; dropped", command["action"], command["identity"])
            return
        reply = {"id": command["id"], **await self._run(command)}
        self.executed += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:  # the answer is worth trying to deliver while its caller waits
            try:
                await self._redis.xadd(
                    self._keys.replies(command["from"]), {b"r": orjson.dumps(reply)}, maxlen=STREAM_MAX, approximate=True
                )
                return
            except REDIS_DOWN:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(RETRY_S)

    async def _run(self, command: dict[str, Any]) -> dict[str, Any]:
        identity, action = command["identity"], command["action"]
        connection = self._gateway.connections.get(identity)
        if connection is None or connection.version.label != command["version"]:
            return {"error": encode_error(ChargePointOffline(f"charge point {identity} is offline: {action} was not sent"))}
        try:
            reply = await self._local.send_as_written(identity, action, command["payload"], command["timeout"])
        except DomainError as exc:
            return {"error": encode_error(exc)}
        except Exception as exc:
            log.exception("command link: %s for %s failed", action, identity)
            return {"error": {"kind": "error", "message": f"{action} to {identity} failed on node {self.node_id}: {exc}"}}
        return {"answer": dict(reply.answer)}


class ClusterLink:
    """The services' ChargePointLink in cluster mode: the charge points connected here go through
    the gateway; those another node holds, through the command link to it. The synchronous checks
    read this node's Directory, so they stay a dictionary lookup."""

    def __init__(self, local: GatewayLink, directory: Directory, link: CommandLink, versions: Any) -> None:
        self._local = local
        self._directory = directory
        self._link = link
        self._versions: dict[str, OcppVersion] = {version.label: version for version in versions}

    def _remote(self, identity: str) -> OcppVersion | None:
        holder = self._directory.lookup(identity)
        return self._versions.get(holder.version) if holder is not None else None

    def is_connected(self, charge_point_id: str) -> bool:
        return self._local.is_connected(charge_point_id) or self._remote(charge_point_id) is not None

    def holds(self, charge_point_id: str) -> bool:
        return self._local.is_connected(charge_point_id)

    def actions(self, charge_point_id: str) -> tuple[str, ...]:
        if self._local.is_connected(charge_point_id):
            return self._local.actions(charge_point_id)
        version = self._remote(charge_point_id)
        return version.actions if version is not None else ()

    def version(self, charge_point_id: str) -> str | None:
        if self._local.is_connected(charge_point_id):
            return self._local.version(charge_point_id)
        version = self._remote(charge_point_id)
        return version.label if version is not None else None

    def check(self, charge_point_id: str, request: Request[Any], found: Sequence[Problem]) -> list[Problem]:
        if self._local.is_connected(charge_point_id):
            return self._local.check(charge_point_id, request, found)
        version = self._remote(charge_point_id)
        return check_in(version, charge_point_id, request, found) if version is not None else list(found)

    def read(self, charge_point_id: str, action: str, payload: dict[str, Any]) -> Request[Any] | None:
        if self._local.is_connected(charge_point_id):
            return self._local.read(charge_point_id, action, payload)
        version = self._remote(charge_point_id)
        if version is None:
            raise ChargePointOffline(f"charge point {charge_point_id} is offline: {action} was not sent")
        return read_in(version, action, payload)

    async def send(self, charge_point_id: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        if self._local.is_connected(charge_point_id):
            return await self._local.send(charge_point_id, request, timeout)
        holder = await self._link.holder(charge_point_id, type(request).__name__)
        version = self._holder_version(holder, charge_point_id, type(request).__name__)
        action, payload = encode_in(version, charge_point_id, request)
        answer = await self._link.forward(holder, charge_point_id, action, payload, timeout)
        return decode_in(version, action, payload, answer)  # type: ignore[return-value]

    async def send_as_written(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Reply[Answer]:
        if self._local.is_connected(charge_point_id):
            return await self._local.send_as_written(charge_point_id, action, payload, timeout)
        holder = await self._link.holder(charge_point_id, action)
        version = self._holder_version(holder, charge_point_id, action)
        answer = await self._link.forward(holder, charge_point_id, action, payload, timeout)
        return decode_in(version, action, payload, answer)

    def _holder_version(self, holder: Holder, identity: str, action: str) -> OcppVersion:
        version = self._versions.get(holder.version)
        if version is None:  # a node of a newer release, speaking a version this one does not
            raise Invalid(f"{identity} speaks OCPP {holder.version}, which this node does not: {action} was not sent",
                          code="action_not_in_version", details={"ocpp_version": holder.version})
        return version
