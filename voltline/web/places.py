"""Where a command form may point on a charge point, in its version's numbering.

1.6 numbers connectors 1..n (0 the whole charge point); 2.0.1 numbers EVSEs 1..n, each with its
connectors 1..m, so "connector 1" is on every EVSE and a form must name the EVSE. A form's choice
travels as one field: `connector_id` on 1.6, `evse` ("E" for the EVSE, "E/C" for its connector
C) on 2.0.1; `read_place` turns either back into `(evse_id, connector_id)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData

from voltline.services.provisioning.views import ConnectorView


@dataclass(frozen=True, slots=True)
class Place:
    """One choice of a form: an EVSE (connector_id None) or a connector of one."""

    evse_id: int
    connector_id: int | None
    state: str | None  # its connector's status, "offline", or None (an EVSE of several connectors)
    follows: int | None = None  # the connector whose status it shows (live updates find it by this)

    @property
    def value(self) -> str:
        return str(self.evse_id) if self.connector_id is None else f"{self.evse_id}/{self.connector_id}"

    @property
    def name(self) -> str:
        return f"EVSE {self.evse_id}" if self.connector_id is None else f"EVSE {self.evse_id} connector {self.connector_id}"

    @property
    def label(self) -> str:
        return self.name if self.state is None else f"{self.name} ({self.state})"


@dataclass(frozen=True, slots=True)
class EvsePlaces:
    """A 2.0.1 station's EVSEs and their connectors, as reported (and as its sessions name them)."""

    evses: list[Place]
    connectors: list[Place]
    free_evse: int | None  # what a remote start offers first

    @property
    def evse_ids(self) -> list[int]:
        return [p.evse_id for p in self.evses]


def evse_places(
    connectors: Iterable[ConnectorView], sessions: Iterable[tuple[int | None, int]], online: bool,
    free: tuple[int | None, int] | None = None,
) -> EvsePlaces:
    """The places of a 2.0.1 station: `sessions` by `(evse_id, connector_id)`, `free` the
    connector a remote start should take first."""
    states: dict[tuple[int, int], str | None] = {}
    for c in connectors:
        if c.evse_id is not None and c.connector_id > 0:
            states[(c.evse_id, c.connector_id)] = c.status if online else "offline"
    for evse_id, connector_id in sessions:
        if evse_id is not None:
            states.setdefault((evse_id, connector_id), None)
    by_evse: dict[int, list[int]] = {}
    for evse_id, connector_id in sorted(states):
        by_evse.setdefault(evse_id, []).append(connector_id)
    evses = [
        # An EVSE's state is its connector's when it has one; of several, none says it alone.
        Place(evse_id, None, states[(evse_id, ids[0])], ids[0]) if len(ids) == 1 else Place(evse_id, None, None)
        for evse_id, ids in sorted(by_evse.items())
    ]
    places = [Place(e, c, states[(e, c)], c) for e, c in sorted(states)]
    return EvsePlaces(evses, places, free[0] if free is not None else None)


def read_place(form: FormData | Mapping[str, object], *, required: bool) -> tuple[int | None, int | None]:
    """`(evse_id, connector_id)` of a form's `evse` field ("E" or "E/C"); `(None, connector_id)`
    of a 1.6 form's `connector_id`; `(None, None)` when neither is given and none is `required`."""
    evse = form.get("evse")
    if isinstance(evse, str) and evse.strip():
        parts = evse.strip().split("/")
        try:
            numbers = [int(part) for part in parts]
        except ValueError:
            raise ValueError("the EVSE must be a number, or EVSE/connector") from None
        if len(numbers) > 2 or any(n <= 0 for n in numbers):
            raise ValueError("the EVSE must be a number, or EVSE/connector")
        return numbers[0], numbers[1] if len(numbers) == 2 else None
    connector = form.get("connector_id")
    if isinstance(connector, str) and connector.strip():
        try:
            return None, int(connector.strip())
        except ValueError:
            raise ValueError("connector id must be a whole number") from None
    if required:
        raise ValueError("connector id is missing")
    return None, None
