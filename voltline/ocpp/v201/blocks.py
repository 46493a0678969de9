"""The shapes a 2.0.1 block module fills in (see voltline/ocpp/v201/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from voltline.ocpp import commands as c
from voltline.ocpp.v201.context import Context

Payload = dict[str, Any]

Handler201 = Callable[[Context, Payload], Coroutine[Any, Any, Payload]]
Encoders = dict[type[c.Request[Any]], tuple[str, Callable[[Any], Payload]]]
Readers = dict[str, Callable[[Payload], c.Request[Any]]]
Answers = dict[str, Callable[[Mapping[str, Any]], c.Answer]]


K = TypeVar("K")
V = TypeVar("V")


def gather(tables: Iterable[Mapping[K, V]]) -> dict[K, V]:
    """The blocks' tables as one; a message two blocks both claim is a mistake, not a choice."""
    gathered: dict[K, V] = {}
    for table in tables:
        for key, value in table.items():
            if key in gathered:
                raise RuntimeError(f"{key!r} is translated by two 2.0.1 blocks")
            gathered[key] = value
    return gathered
