"""The shapes a 2.0.1 block module fills in (see voltline/ocpp/v201/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp.v201.context import Context

Payload = dict[str, Any]

Handler201 = Callable[[Context, Payload], Coroutine[Any, Any, Payload]]
Encoders = dict[type[c.Request[Any]], tuple[str, Callable[[Any], Payload]]]
Readers = dict[str, Callable[[Payload], c.Request[Any]]]
Answers = dict[str, Callable[[Mapping[str, Any]], c.Answer]]
