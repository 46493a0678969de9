"""The read model of charge points: each with its connectors and live state, for the REST API
and the dashboard alike (one search rule, one idea of "connected", one count of statuses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.errors import NotFound
from voltline.services.location import ConnectorRef
from voltline.services.paging import Page, fetch_page
from voltline.services.read_model import ReadModel
from voltline.services.transactions.service import LiveReading, live_key
from voltline.store import tables as t
from voltline.store.database import Store

# Connectors of an offline charge point count as this, whatever they last reported: nobody can
# start charging there now.
OFFLINE = "Offline"

_cp = t.charge_points.c
_conn = t.connectors.c


class ConnectorView(ReadModel):
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    status_at: datetime | None
    transaction_id: int | None = Field(None, description="the active transaction on this connector")
    energy_wh: float | None = Field(None, description="the meter register of the active transaction, Wh")
    power_w: float | None = Field(None, description="the latest reported power, W")
    soc: float | None = Field(None, description="the vehicle's state of charge, %")
    evse_id: int | None = Field(None, description="the EVSE the connector belongs to (OCPP 2.0.1); null on 1.6")

    @property
    def location(self) -> ConnectorRef:
        """Where it is in the domain's terms (a 1.6 connector N is EVSE N's one connector)."""
        return ConnectorRef.from_stored(self.evse_id, self.connector_id)


class ChargePointView(ReadModel):
    id: str
    description: str | None
    connected: bool
    registration_status: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    charge_box_serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    ocpp_version: str | None
    has_password: bool
    security_profile: int = Field(0, description="0–3: what a connection must present (OCPP security whitepaper)")
    ping_interval: float | None
    lenient_actions: list[str]
    last_heartbeat_at: datetime | None
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    remote_address: str | None
    firmware_status: str | None
    firmware_status_at: datetime | None
    diagnostics_status: str | None
    diagnostics_status_at: datetime | None
    local_list_version: int | None
    created_at: datetime
    updated_at: datetime
    connectors: list[ConnectorView]
    log_status: str | None = Field(None, description="the latest LogStatusNotification")
    log_status_at: datetime | None = None
    heartbeat_interval: int | None = Field(None, description="seconds: the interval its last boot was answered with")
    boot_reason: str | None = Field(None, description="why it last booted (OCPP 2.0.1's reason; null on 1.6)")


@dataclass(slots=True, frozen=True)
class ChargePointFilter:
    connected: bool | None = None
    registration_status: str | None = None
    search: str | None = None  # part of the id, description, vendor, model or a serial number, any case

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        if self.connected is not None:
            query = query.where(_cp.connected.is_(self.connected))
        if self.registration_status is not None:
            query = query.where(_cp.registration_status == self.registration_status)
        if self.search:
            pattern = f"%{escape_like(self.search.lower())}%"
            searched = (_cp.id, _cp.description, _cp.vendor, _cp.model, _cp.serial_number, _cp.charge_box_serial_number)
            query = query.where(sa.or_(*(sa.func.lower(col).like(pattern, escape="\\") for col in searched)))
        return query


def natural_order(column: Any) -> tuple[Any, ...]:
    """CP-2 before CP-10: by the id without its trailing digits, then the shorter number first,
    then the id itself (a total order, so pages never overlap). `rtrim(x, chars)` is the same
    function in SQLite and PostgreSQL."""
    return (sa.func.rtrim(column, "0123456789"), sa.func.length(column), column)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ChargePointViews:
    def __init__(
        self,
        store: Store,
        live: dict[tuple[str, int], LiveReading],
        is_connected: Callable[[str], bool],
        last_heartbeat: Callable[[str], datetime | None],
        is_registered: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._live = live  # the newest readings of each charging connector
        # The gateway knows a connection at once; the database a moment later (and for every node).
        self.is_connected = is_connected
        # Heartbeats reach the database in periodic flushes; this node's memory has the newest.
        self._last_heartbeat = last_heartbeat
        # The registry the handshake consults knows every charge point at once (and forgets a
        # deleted one at once): a lookup there saves a command a round trip to the database.
        self._is_registered = is_registered

    async def charge_points(self, where: ChargePointFilter, *, limit: int = 50, offset: int = 0) -> Page[ChargePointView]:
        query = where.apply(sa.select(t.charge_points))
        page = await fetch_page(self._store, query, natural_order(_cp.id), limit, offset, lambda row: row)
        return Page(await self._views(page.items), page.total, limit, offset)

    async def every(self, where: ChargePointFilter) -> list[ChargePointView]:
        """All that match, in natural order (the dashboard's list shows them on one page)."""
        rows = await self._store.query_all(where.apply(sa.select(t.charge_points)).order_by(*natural_order(_cp.id)))
        return await self._views(rows)

    async def charge_point(self, identity: str) -> ChargePointView:
        row = await self._store.query_one(sa.select(t.charge_points).where(_cp.id == identity))
        if row is None:
            raise NotFound(f"no charge point {identity}")
        return (await self._views([row]))[0]

    async def find(self, identity: str) -> ChargePointView | None:
        try:
            return await self.charge_point(identity)
        except NotFound:
            return None

    async def require_charge_point(self, identity: str) -> None:
        if self._is_registered(identity):
            return
        if await self._store.fetch_one(sa.select(_cp.id).where(_cp.id == identity)) is None:
            raise NotFound(f"no charge point {identity}")

    async def counts(self) -> tuple[int, int]:
        """How many charge points there are, and how many of them are connected."""
        row = await self._store.query_one(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((_cp.connected, 1), else_=0)), 0))
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def connector_status_counts(self) -> dict[str, int]:
        """Connectors (not 0) by status; those of an offline charge point as OFFLINE."""
        status = sa.case((_cp.connected, _conn.status), else_=sa.literal(OFFLINE)).label("status")
        rows = await self._store.query_all(
            sa.select(status, sa.func.count())
            .select_from(t.connectors.join(t.charge_points, _cp.id == _conn.charge_point_id))
            .where(_conn.connector_id > 0)
            .group_by(status)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def connected_among(self, identities: set[str]) -> set[str]:
        if not identities:
            return set()
        rows = await self._store.query_all(sa.select(_cp.id).where(_cp.id.in_(identities), _cp.connected.is_(True)))
        return {row.id for row in rows} | {identity for identity in identities if self.is_connected(identity)}

    async def _views(self, rows: Any) -> list[ChargePointView]:
        connectors = await self._connectors([row.id for row in rows])
        return [self._view(row, _numbered_as(row.ocpp_version, connectors.get(row.id, []))) for row in rows]

    async def _connectors(self, identities: list[str]) -> dict[str, list[ConnectorView]]:
        if not identities:
            return {}
        rows = await self._store.query_all(
            sa.select(t.connectors).where(_conn.charge_point_id.in_(identities)).order_by(_conn.charge_point_id, t.CONNECTOR_EVSE_KEY, _conn.connector_id)
        )
        found: dict[str, list[ConnectorView]] = {}
        for row in rows:
            view = ConnectorView(
                connector_id=row.connector_id, status=row.status, error_code=row.error_code, info=row.info,
                vendor_id=row.vendor_id, vendor_error_code=row.vendor_error_code, status_at=row.status_at,
                evse_id=row.evse_id,
            )
            live = self._live.get(live_key(row.charge_point_id, row.evse_id, row.connector_id))
            # An EVSE charges on one of its connectors: the others show no transaction.
            if live is not None and live.on(row.evse_id, row.connector_id):
                view.transaction_id, view.energy_wh, view.power_w, view.soc = (
                    live.transaction_id, live.energy_wh, live.power_w, live.soc
                )
            found.setdefault(row.charge_point_id, []).append(view)
        return found

    def _view(self, row: Any, connectors: list[ConnectorView]) -> ChargePointView:
        return ChargePointView(
            id=row.id,
            description=row.description,
            connected=bool(self.is_connected(row.id) or row.connected),
            registration_status=row.registration_status,
            vendor=row.vendor,
            model=row.model,
            serial_number=row.serial_number,
            charge_box_serial_number=row.charge_box_serial_number,
            firmware_version=row.firmware_version,
            iccid=row.iccid,
            imsi=row.imsi,
            meter_type=row.meter_type,
            meter_serial_number=row.meter_serial_number,
            ocpp_version=row.ocpp_version,
            has_password=row.password_hash is not None,
            security_profile=row.security_profile or 0,
            ping_interval=row.ping_interval,
            lenient_actions=list(row.lenient_actions or ()),
            last_heartbeat_at=_newest(row.last_heartbeat_at, self._last_heartbeat(row.id)),
            last_seen_at=row.last_seen_at,
            last_boot_at=row.last_boot_at,
            connected_at=row.connected_at,
            disconnected_at=row.disconnected_at,
            remote_address=row.remote_address,
            firmware_status=row.firmware_status,
            firmware_status_at=row.firmware_status_at,
            diagnostics_status=row.diagnostics_status,
            diagnostics_status_at=row.diagnostics_status_at,
            local_list_version=row.local_list_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            connectors=connectors,
            log_status=row.log_status,
            log_status_at=row.log_status_at,
            heartbeat_interval=row.heartbeat_interval,
            boot_reason=row.boot_reason,
        )


def _numbered_as(ocpp_version: str | None, connectors: list[ConnectorView]) -> list[ConnectorView]:
    """The connectors as the charge point numbers them now. One that changed version (a firmware
    update from 1.6 to 2.0.1) left rows of the other numbering, which are its past, not its
    connectors; while nothing of the new numbering has come, the old rows are all there is."""
    per_evse = ocpp_version not in (None, "1.6")
    current = [c for c in connectors if (c.evse_id is not None) == per_evse]
    return current or connectors


def _newest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None
