"""A holder runs a bounded number of other nodes' commands at once: past the bound it reads no more
of its stream until one ends, so a flood of commands waits in Redis, not in the node's memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from tests.cluster.harness import until
from voltline.cluster import commands
from voltline.cluster.commands import CommandLink
from voltline.cluster.connection import Keys, connect

REDIS_URL = os.environ.get("VOLTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def test_a_holder_reads_no_more_commands_than_it_may_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "IN_FLIGHT", 3)
    keys = Keys(prefix=f"voltline-test-{uuid.uuid4().hex[:8]}:")
    redis = connect(REDIS_URL)
    link = CommandLink(redis, "HOLDER", SimpleNamespace(link=None), None, 30.0, 1.0, keys)  # type: ignore[arg-type]
    running: list[str] = []
    done = asyncio.Event()

    async def execute(command: dict[str, Any]) -> None:  # the charge point takes its time
        running.append(command["id"])
        await done.wait()

    link._execute = execute  # type: ignore[method-assign]
    reader = asyncio.create_task(link.run_commands())
    try:
        for n in range(10):
            await redis.xadd(keys.commands("HOLDER"), {"c": orjson.dumps({"id": f"c{n}"})})

        async def three_running() -> bool:
            return len(running) == 3

        await until(three_running, what="the holder did not start the first commands")
        for _ in range(20):  # it had every chance to take more
            await asyncio.sleep(0.02)
        assert len(running) == 3
        done.set()

        async def all_ran() -> bool:
            return len(running) == 10

        await until(all_ran, what="the holder did not go on once commands ended")
        assert running == [f"c{n}" for n in range(10)]
    finally:
        done.set()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        async for key in redis.scan_iter(match=f"{keys.prefix}*"):
            await redis.delete(key)
        await redis.aclose()
