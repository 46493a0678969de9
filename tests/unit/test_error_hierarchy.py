"""One exception hierarchy per layer: every exception the domain defines is a DomainError (so the
API and the dashboard translate it in one place), every one the protocol layer defines a
ProtocolFailure. A new exception outside its layer's hierarchy fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import voltline.ocpp
import voltline.services
from voltline.ocpp.errors import ProtocolFailure
from voltline.services.errors import DomainError


def _modules(package: ModuleType) -> list[ModuleType]:
    names = [package.__name__] + [
        info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    ]
    return [importlib.import_module(name) for name in names]


def defined_exceptions(package: ModuleType) -> list[type[BaseException]]:
    """The exception classes each module of `package` defines itself (not those it imports)."""
    return [
        cls
        for module in _modules(package)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == module.__name__
    ]


@pytest.mark.parametrize(("package", "base"), [(voltline.services, DomainError), (voltline.ocpp, ProtocolFailure)])
def test_every_exception_of_a_layer_derives_from_its_base(package: ModuleType, base: type[BaseException]) -> None:
    found = defined_exceptions(package)
    assert len(found) > 3  # the walk reached the layer's modules
    strays = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in found if not issubclass(cls, base))
    assert strays == [], f"not a {base.__name__}: {strays}"


def test_the_walk_finds_an_exception_outside_the_hierarchy(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A package with one stray exception beside a proper one: the walk must name the stray.
    package = tmp_path / "strays"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text(
        "from voltline.services.errors import NotFound\n"
        "class Fine(NotFound):\n    pass\n"
        "class Stray(LookupError):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import strays  # type: ignore[import-not-found]

    found = {cls.__name__: cls for cls in defined_exceptions(strays)}
    assert set(found) == {"Fine", "Stray"}  # NotFound, imported, is not counted as the module's own
    assert [name for name, cls in found.items() if not issubclass(cls, DomainError)] == ["Stray"]


def test_the_protocol_failures_keep_their_names_and_places() -> None:
    from voltline.ocpp.frames import FrameError
    from voltline.ocpp.rpc import (
        CallErrorReceived,
        CallTimeout,
        ConnectionLost,
        OcppError,
    )
    from voltline.ocpp.schemas import SchemaViolation

    for cls in (FrameError, OcppError, CallErrorReceived, CallTimeout, ConnectionLost, SchemaViolation):
        assert issubclass(cls, ProtocolFailure), cls
