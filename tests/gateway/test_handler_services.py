"""The gateway hands each connection's handlers the services container as `versions.Services`:
the container has every member each version's handlers declare they need, down the tree."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from voltline.app import Voltline
from voltline.ocpp import versions
from voltline.ocpp.v16 import inbound


def _protocols(hint: Any) -> list[type]:
    """The Protocols a type hint names (`X`, `X | None`)."""
    options = typing.get_args(hint) or (hint,)
    return [option for option in options if inspect.isclass(option) and getattr(option, "_is_protocol", False)]


def missing(value: Any, protocol: type, where: str) -> list[str]:
    """The members `protocol` (and the Protocols its properties return) asks for that `value` lacks."""
    lacking = []
    for cls in protocol.__mro__:
        if not getattr(cls, "_is_protocol", False) or cls is typing.Protocol:
            continue
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            if not hasattr(value, name):
                lacking.append(f"{where}.{name}")
            elif isinstance(member, property):
                hint = typing.get_type_hints(member.fget, vars(inspect.getmodule(cls))).get("return")
                for nested in _protocols(hint):
                    lacking += missing(getattr(value, name), nested, f"{where}.{name}")
    return lacking


def test_the_container_has_all_every_version_needs(server: Voltline) -> None:
    assert inbound.Services in versions.Services.__mro__  # each version's needs are part of it
    assert missing(server.services, versions.Services, "services") == []


def test_a_member_the_container_lacks_is_named() -> None:
    class Lacking:
        charge_points = object()

    found = missing(Lacking(), versions.Services, "services")
    assert "services.authorization" in found and "services.charge_points.boot" in found
