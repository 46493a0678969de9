"""What one running node offers its operator side (the REST API and the dashboard): the services
and their read models, this node's live connections, and whether it is stopping. app.py builds
it; the API and the dashboard receive it, and build nothing of their own."""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Protocol

from voltline.config import Settings
from voltline.services.container import Services, Views


class LiveConnections(Protocol):
    """The charge points connected to this node right now (the gateway's registry)."""

    @property
    def ping_interval(self) -> float: ...

    @property
    def connections(self) -> Sized: ...

    def is_connected(self, identity: str) -> bool: ...

    def disconnect(self, identity: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    settings: Settings
    services: Services
    connections: LiveConnections
    stopping: Callable[[], bool]  # true once the node began to stop: open event streams end

    @property
    def views(self) -> Views:
        return self.services.views
