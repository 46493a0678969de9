"""Reports: energy, sessions, utilisation, reliability and peak power, as JSON or CSV.

Every route takes the same filters (time range, time zone, charge points, id tags, a parent id
tag, OCPP version); see Reports in voltline.services.reports for what each counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from voltline.api.deps import ServicesDep
from voltline.api.schemas import Identity, IdTagStr
from voltline.services.errors import Invalid
from voltline.services.reports import csv_export
from voltline.services.reports import views as v

router = APIRouter(prefix="/reports", tags=["reports"])

# JSON (the shapes of voltline.services.reports.views) or, with format=csv, a CSV download.
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "the report", "content": {"application/json": {}, "text/csv": {}}},
}

Format = Annotated[Literal["json", "csv"], Query(description="json, or csv for a download")]
Interval = Annotated[Literal["hour", "day", "week", "month"], Query(description="the periods energy is summed by")]


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError as error:
        raise Invalid(f"`{name}` is not an ISO-8601 time: {value!r}", code="invalid_time") from error


async def _filter(
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO-8601; without an offset: in `tz`")] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO-8601, exclusive (default now)")] = None,
    tz: Annotated[str | None, Query(max_length=64, description="IANA zone of day boundaries (default the setting)")] = None,
    charge_point_id: Annotated[list[Identity] | None, Query(description="repeatable: only these charge points")] = None,
    id_tag: Annotated[list[IdTagStr] | None, Query(description="repeatable: only these id tags")] = None,
    parent_id_tag: Annotated[IdTagStr | None, Query(description="only the id tags under this parent")] = None,
    ocpp_version: Annotated[str | None, Query(max_length=16, description="e.g. 1.6: only charge points of this OCPP version")] = None,
) -> v.ReportFilter:
    return services.reports.filter(
        _time(from_, "from"), _time(to, "to"), tz, tuple(charge_point_id or ()), tuple(id_tag or ()),
        parent_id_tag, ocpp_version,
    )


Filter = Annotated[v.ReportFilter, Depends(_filter)]


def _answer(f: v.ReportFilter, report: Any, fmt: str, name: str, csv: Callable[[Any], str]) -> Response:
    if fmt == "csv":
        return Response(
            csv(report), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    body = {"from": f.start.isoformat(), "to": f.end.isoformat(), "tz": f.tz.key, **dataclasses.asdict(report)}
    return _json(body)


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _renamed(buckets: list[dict[str, Any]], unit: str) -> list[dict[str, Any]]:
    return [{f"from_{unit}": b["lower"], f"to_{unit}": b["upper"], "count": b["count"]} for b in buckets]


@router.get("/energy", summary="Energy delivered per hour, day, week or month", responses=ANSWERS, response_class=Response)
async def energy(services: ServicesDep, f: Filter, interval: Interval = "day", format: Format = "json") -> Response:
    return _answer(f, await services.reports.energy(f, interval), format, "energy", csv_export.energy)


@router.get("/energy/by-charge-point", summary="Energy delivered per charge point", responses=ANSWERS, response_class=Response)
async def energy_by_charge_point(services: ServicesDep, f: Filter, format: Format = "json") -> Response:
    report = await services.reports.energy_by_charge_point(f)
    return _answer(f, report, format, "energy-by-charge-point", csv_export.energy_by_charge_point)


@router.get("/energy/by-id-tag", summary="Energy delivered per id tag, or per parent id tag", responses=ANSWERS, response_class=Response)
async def energy_by_id_tag(
    services: ServicesDep, f: Filter,
    group: Annotated[Literal["id_tag", "parent"], Query(description="id_tag, or parent to sum per parent id tag")] = "id_tag",
    format: Format = "json",
) -> Response:
    report = await services.reports.energy_by_id_tag(f, group)
    return _answer(f, report, format, "energy-by-id-tag", csv_export.energy_by_id_tag)


@router.get("/sessions", summary="Sessions: count, duration, energy and idle time, by hour of day and day of week", responses=ANSWERS, response_class=Response)
async def sessions(services: ServicesDep, f: Filter, format: Format = "json") -> Response:
    report = await services.reports.sessions(f)
    if format == "csv":
        return _answer(f, report, format, "sessions", csv_export.sessions)
    body = {"from": f.start.isoformat(), "to": f.end.isoformat(), "tz": f.tz.key, **dataclasses.asdict(report)}
    body["energy_distribution"] = _renamed(body["energy_distribution"], "wh")
    body["duration_distribution"] = _renamed(body["duration_distribution"], "s")
    return _json(body)


@router.get("/utilisation", summary="Share of time Charging, Occupied, Available, Unavailable, Faulted", responses=ANSWERS, response_class=Response)
async def utilisation(
    services: ServicesDep, f: Filter,
    group: Annotated[Literal["connector", "charge_point"], Query()] = "connector",
    format: Format = "json",
) -> Response:
    report = await services.reports.utilisation(f, group)
    if format == "json" and group == "charge_point":
        body = {"from": f.start.isoformat(), "to": f.end.isoformat(), "tz": f.tz.key, **dataclasses.asdict(report)}
        for item in body["items"]:
            del item["connector_id"], item["evse_id"]
        return _json(body)
    return _answer(f, report, format, "utilisation", csv_export.utilisation)


@router.get("/reliability", summary="Connected vs offline time, reconnects, faults, failed starts; rising rates flagged", responses=ANSWERS, response_class=Response)
async def reliability(
    services: ServicesDep, f: Filter,
    baseline_days: Annotated[int, Query(ge=1, le=366, description="days before `from` that are the baseline")] = 28,
    format: Format = "json",
) -> Response:
    report = await services.reports.reliability(f, baseline_days)
    return _answer(f, report, format, "reliability", csv_export.reliability)


@router.get("/peak-power", summary="Peak power of the network per period, and of each charge point", responses=ANSWERS, response_class=Response)
async def peak_power(
    services: ServicesDep, f: Filter, interval: Interval = "day",
    by: Annotated[Literal["period", "charge_point"], Query(description="the CSV's lines")] = "period",
    format: Format = "json",
) -> Response:
    report = await services.reports.peak_power(f, interval)
    return _answer(f, report, format, "peak-power", lambda r: csv_export.peak_power(r, by == "charge_point"))
