"""The reports, read from the hourly rollups (and the few small tables beside them: charge
points, connectors' current status, id tags, remote starts) — never from the sampled values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from voltline.services.clock import now
from voltline.services.errors import Invalid
from voltline.services.reports import views as v
from voltline.services.reports.adding import Grains
from voltline.services.reports.charging import charging_spans
from voltline.services.reports.classes import status_class
from voltline.services.reports.hours import DURATION_BUCKETS_S, ENERGY_BUCKETS_WH
from voltline.services.reports.peaks import hour_watts
from voltline.services.reports.periods import hours_of, period_start, periods
from voltline.services.reports.recorder import REMOTE_START_REJECTED
from voltline.store import tables as t
from voltline.store.database import Store

HOURLY, DAILY, MONTHLY = "hour", "day", "month"
MAX_RANGE = timedelta(days=400)
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200  # periods are computed past both ends of a range
DEFAULT_RANGE = timedelta(days=30)
FLAG_FACTOR = 2.0  # a rate this many times its baseline is a rise
FLAG_MIN_EVENTS = 3  # ... when it counts at least this many events
NO_ERROR = "NoError"


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise Invalid(f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin", code="invalid_time_zone") from error


def _r(value: float) -> float:
    return round(value, 3)


class Reports:
    def __init__(self, store: Store, default_time_zone: str = "UTC",
                 is_connected: Callable[[str], bool] | None = None) -> None:
        self._store = store
        self._grains = Grains(time_zone(default_time_zone))
        self.default_time_zone = default_time_zone
        self._is_connected = is_connected

    def filter(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        tz: str | None = None,
        charge_point_ids: tuple[str, ...] = (),
        id_tags: tuple[str, ...] = (),
        parent_id_tag: str | None = None,
        ocpp_version: str | None = None,
    ) -> v.ReportFilter:
        """A report's filter from what an operator gave; times without an offset are read in `tz`."""
        zone = time_zone(tz or self.default_time_zone)

        def aware(at: datetime) -> datetime:
            if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
                raise Invalid(f"reports cover {EARLIEST_YEAR} to {LATEST_YEAR}", code="invalid_range")
            return (at if at.tzinfo is not None else at.replace(tzinfo=zone)).astimezone(UTC)

        end = aware(end) if end is not None else now()
        start = aware(start) if start is not None else end - DEFAULT_RANGE
        if start >= end:
            raise Invalid("`from` must be before `to`", code="invalid_range")
        if start.year < EARLIEST_YEAR or end.year > LATEST_YEAR:
            raise Invalid(f"reports cover {EARLIEST_YEAR} to {LATEST_YEAR}", code="invalid_range")
        if end - start > MAX_RANGE:
            raise Invalid(f"a report covers at most {MAX_RANGE.days} days", code="invalid_range")
        return v.ReportFilter(start, end, zone, tuple(charge_point_ids), tuple(id_tags), parent_id_tag, ocpp_version)

    # -- filters as SQL ---------------------------------------------------------------------

    def _pieces(self, f: v.ReportFilter, coarsest: str, periods: bool = False) -> list[tuple[sa.Table, datetime, datetime]]:
        """The range as rollup grains: whole months and days of the reports' zone where it holds
        them (up to `coarsest`), hours at its edges. Rows read to be summed by the periods of
        another zone than the rollups' (`periods`) are hours; a sum over the whole range reads
        the rollups' days and months whatever the zone asked in."""
        first, end = hours_of(f.start, f.end)
        zone = self._grains.zone
        if coarsest == "hour" or (periods and f.tz.key != zone.key):
            return [(HOURLY, first, end)]
        day_0 = _boundary_at_or_after(first, "day", zone)
        day_1 = period_start(end, "day", zone).astimezone(UTC)
        if day_0 >= day_1:
            return [(HOURLY, first, end)]
        pieces = [(HOURLY, first, day_0), (HOURLY, day_1, end)]
        month_0 = _boundary_at_or_after(day_0, "month", zone)
        month_1 = period_start(day_1, "month", zone).astimezone(UTC)
        if coarsest == "month" and month_0 < month_1:
            pieces += [(DAILY, day_0, month_0), (DAILY, month_1, day_1), (MONTHLY, month_0, month_1)]
        else:
            pieces.append((DAILY, day_0, day_1))
        return [piece for piece in pieces if piece[1] < piece[2]]

    def _signed_pieces(self, f: v.ReportFilter) -> list[tuple[int, str, datetime, datetime]] | None:
        """The range as rollup grains to be added (+1) or taken away (-1), for a sum over it: at
        each edge whichever reads fewer periods of the plain edge (hours of the partial day, the
        days up to the first whole month) or the month (or day) holding the edge less what lies
        outside the range. A year from now on reads the months and a few days and hours instead
        of some 30 days and 24 hours each side. None when the range holds no whole month."""
        first, end = hours_of(f.start, f.end)
        zone = self._grains.zone
        day_0 = _boundary_at_or_after(first, "day", zone)
        day_1 = period_start(end, "day", zone).astimezone(UTC)
        if day_0 >= day_1:
            return None
        month_0 = _boundary_at_or_after(day_0, "month", zone)
        month_1 = period_start(day_1, "month", zone).astimezone(UTC)
        if month_0 >= month_1:
            return None
        day_first = period_start(first, "day", zone).astimezone(UTC)
        month_first = period_start(first, "month", zone).astimezone(UTC)
        day_after = _boundary_at_or_after(end, "day", zone)
        month_after = _boundary_at_or_after(end, "month", zone)
        H, D, M = HOURLY, DAILY, MONTHLY
        starts = [
            [(1, H, first, day_0), (1, D, day_0, month_0)],
            [(1, D, day_first, month_0), (-1, H, day_first, first)],
            [(1, M, month_first, month_0), (-1, D, month_first, day_first), (-1, H, day_first, first)],
            [(1, M, month_first, month_0), (-1, D, month_first, day_0), (1, H, first, day_0)],
        ]
        ends = [
            [(1, D, month_1, day_1), (1, H, day_1, end)],
            [(1, D, month_1, day_after), (-1, H, end, day_after)],
            [(1, M, month_1, month_after), (-1, D, day_after, month_after), (-1, H, end, day_after)],
            [(1, M, month_1, month_after), (-1, D, day_1, month_after), (1, H, day_1, end)],
        ]
        span = {H: 3600.0, D: 86400.0}

        def cost(pieces: list[tuple[int, str, datetime, datetime]]) -> float:
            return sum(1.0 if grain == M else (b - a).total_seconds() / span[grain]
                       for _, grain, a, b in pieces if a < b)

        chosen = min(starts, key=cost) + [(1, M, month_0, month_1)] + min(ends, key=cost)
        return [piece for piece in chosen if piece[2] < piece[3]]

    def _sum_pieces(self, f: v.ReportFilter) -> list[tuple[int, str, datetime, datetime]]:
        """_signed_pieces, or the plain pieces if the range holds no whole month."""
        return self._signed_pieces(f) or [(1, grain, a, b) for grain, a, b in self._pieces(f, "month")]

    def _signed_sums(self, table: sa.Table, f: v.ReportFilter, keys: tuple[str, ...], value: str | tuple[str, ...],
                     coarser: dict[str, sa.Table] | None = None,
                     pieces: list[tuple[int, str, datetime, datetime]] | None = None) -> sa.Subquery:
        """`value` (or each of several) of `table`, to be summed over the range by `keys`, from
        its hourly, daily and monthly rollups (or `coarser`'s days and months) as _sum_pieces
        cuts the range (or as `pieces`, none empty)."""
        values = (value,) if isinstance(value, str) else value
        grains = {HOURLY: table, **(coarser or t.COARSER[table])}
        pieces = self._sum_pieces(f) if pieces is None else pieces
        selects = []
        for sign, grain, start, end in pieces:
            source = grains[grain]
            selects.append(
                sa.select(*(source.c[name] for name in keys), *((source.c[name] * sign).label(name) for name in values))
                .where(source.c.hour >= start, source.c.hour < end, *self._where(source, f))
            )
        return (sa.union_all(*selects) if len(selects) > 1 else selects[0]).subquery()

    def _source(self, table: sa.Table, f: v.ReportFilter, coarsest: str = "month", *,
                columns: tuple[str, ...] | None = None, by_tag: bool = False, periods: bool = False) -> sa.Subquery:
        """`table`'s rows of the range and filters, from its hourly, daily and monthly rollups.
        Given `columns` that they hold, a report of the whole network reads the network's
        rollups (NETWORK), and one by id tag (`by_tag`) or filtered to id tags the rollups by id
        tag (BY_TAG_DAY / _MONTH) for whole days and months. Otherwise the coarser rollups have
        no id tag: a filter on tags reads hours. `periods`: the rows are summed by the periods of
        the filter's zone (see _pieces)."""
        hourly, coarser = table, t.COARSER.get(table) or t.PEAK_COARSER.get(table)
        by_points = bool(f.charge_point_ids or f.ocpp_version)
        tagged = bool(f.id_tags or f.parent_id_tag is not None)
        wanted = set(columns or ())
        if columns is not None and not by_points and not tagged and table in t.NETWORK \
                and wanted <= set(t.NETWORK[table].c.keys()):
            hourly = t.NETWORK[table]
            coarser = t.NETWORK_COARSER[hourly]
        elif columns is not None and not by_points and (by_tag or tagged) and table in t.BY_TAG_MONTH \
                and wanted <= set(t.BY_TAG_MONTH[table].c.keys()):
            coarser = {DAILY: t.BY_TAG_DAY[table], MONTHLY: t.BY_TAG_MONTH[table]}
        else:
            if by_tag and by_points:
                coarsest = HOURLY
            if "id_tag" in table.c and tagged:
                coarsest = HOURLY
            if by_tag:
                # Months by tag, the days and hours at the edges from the hours.
                coarser = {DAILY: table, MONTHLY: t.BY_TAG_MONTH[table]}
        pieces = [(hourly if grain == HOURLY else coarser[grain], start, end)
                  for grain, start, end in self._pieces(f, coarsest, periods)]
        if columns is None:
            common = set.intersection(*({c.name for c in source.c} for source, _, _ in pieces))
            columns = tuple(c.name for c in table.c if c.name in common)
        selects = [
            sa.select(*(source.c[name] for name in columns))
            .where(source.c.hour >= start, source.c.hour < end, *self._where(source, f))
            for source, start, end in pieces
        ]
        return (sa.union_all(*selects) if len(selects) > 1 else selects[0]).subquery()

    @staticmethod
    def _where(table: sa.Table, f: v.ReportFilter) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if "charge_point_id" in table.c:
            conditions += _charge_points(table.c.charge_point_id, f)
        if "id_tag" in table.c:
            if f.id_tags:
                conditions.append(table.c.id_tag.in_(f.id_tags))
            if f.parent_id_tag is not None:
                conditions.append(table.c.id_tag.in_(
                    sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.parent_id_tag == f.parent_id_tag)
                ))
        return conditions

    async def _rows(self, statement: sa.Select[Any]) -> list[sa.Row[Any]]:
        return await self._store.query_all(statement)

    # -- energy -----------------------------------------------------------------------------

    async def energy(self, f: v.ReportFilter, interval: str = "day") -> v.EnergyReport:
        if interval not in v.INTERVALS:
            raise Invalid(f"interval is one of {', '.join(v.INTERVALS)}", code="invalid_interval")
        grain = {"hour": HOURLY, "day": DAILY, "week": DAILY, "month": MONTHLY}[interval]
        e = self._source(t.report_energy, f, grain, columns=("hour", "energy_wh"), periods=True).c
        rows = await self._rows(sa.select(e.hour, sa.func.sum(e.energy_wh).label("wh")).group_by(e.hour))
        s = self._source(t.report_sessions, f, columns=("flagged",)).c
        flagged = await self._store.query_one(sa.select(sa.func.coalesce(sa.func.sum(s.flagged), 0)))
        starts = periods(f.start, f.end, interval, f.tz)
        sums = {start.astimezone(UTC): 0.0 for start in starts}
        for row in rows:
            key = period_start(row.hour, interval, f.tz).astimezone(UTC)
            if key in sums:
                sums[key] += row.wh or 0.0
        items = [v.EnergyPeriod(start, _r(sums[start.astimezone(UTC)])) for start in starts]
        return v.EnergyReport(interval, _r(sum(sums.values())), int(flagged[0] if flagged else 0), items)

    async def _sessions_by(self, f: v.ReportFilter, column: str) -> dict[Any, int]:
        s = self._source(t.report_sessions, f, columns=(column, "sessions"), by_tag=column == "id_tag").c
        rows = await self._rows(sa.select(s[column], sa.func.sum(s.sessions).label("n")).group_by(s[column]))
        return {row[0]: int(row.n or 0) for row in rows}

    async def energy_by_charge_point(self, f: v.ReportFilter) -> v.EnergyByChargePoint:
        if f.id_tags or f.parent_id_tag is not None:
            # Only the hours keep the id tag.
            e = self._source(t.report_energy, f).c
            rows = await self._rows(
                sa.select(e.charge_point_id, sa.func.sum(e.energy_wh).label("wh")).group_by(e.charge_point_id)
            )
            sessions = await self._sessions_by(f, "charge_point_id")
            energy = {row.charge_point_id: row.wh or 0.0 for row in rows}
        else:
            energy, sessions = await self._by_charge_point(f)
        items = [
            v.ChargePointEnergy(cp, _r(energy.get(cp, 0.0)), sessions.get(cp, 0))
            for cp in energy.keys() | sessions.keys()
        ]
        items.sort(key=lambda item: (-item.energy_wh, item.charge_point_id))
        return v.EnergyByChargePoint(_r(sum(energy.values())), items)

    async def _by_charge_point(self, f: v.ReportFilter) -> tuple[dict[str, float], dict[str, int]]:
        """Energy and sessions by charge point, summed over the range: whole months, and at each
        edge the cheaper of its days and hours or the month holding it less what lies outside
        (_signed_pieces); the sessions from the per-charge-point days and months
        (SESSIONS_BY_CP), not the per-connector rows by bucket."""
        e = self._signed_sums(t.report_energy, f, ("charge_point_id",), "energy_wh").c
        s = self._signed_sums(t.report_sessions, f, ("charge_point_id",), "sessions", t.SESSIONS_BY_CP).c
        sessions = {
            row.charge_point_id: int(row.n) for row in await self._rows(
                sa.select(s.charge_point_id, sa.func.sum(s.sessions).label("n")).group_by(s.charge_point_id))
            if row.n
        }
        rows = await self._rows(
            sa.select(e.charge_point_id, sa.func.sum(e.energy_wh).label("wh")).group_by(e.charge_point_id)
        )
        # A charge point only in what a month's row less its days outside the range took away
        # sums to zero (give or take the floats' last digits), with no session: as if never read.
        energy = {row.charge_point_id: row.wh or 0.0 for row in rows
                  if row.charge_point_id in sessions or abs(row.wh or 0.0) >= 1e-6}
        return energy, sessions

    async def energy_by_id_tag(self, f: v.ReportFilter, group: str = "id_tag") -> v.EnergyByIdTag:
        if group not in ("id_tag", "parent"):
            raise Invalid("group is id_tag or parent", code="invalid_group")
        e = self._source(t.report_energy, f, columns=("id_tag", "energy_wh"), by_tag=True).c
        rows = await self._rows(sa.select(e.id_tag, sa.func.sum(e.energy_wh).label("wh")).group_by(e.id_tag))
        sessions = await self._sessions_by(f, "id_tag")
        energy = {row.id_tag: row.wh or 0.0 for row in rows}
        tags = energy.keys() | sessions.keys()
        parents = {
            row.id_tag: row.parent_id_tag
            for row in await self._rows(sa.select(t.id_tags.c.id_tag, t.id_tags.c.parent_id_tag)
                                        .where(t.id_tags.c.id_tag.in_(tags)))
        } if tags else {}
        total = _r(sum(energy.values()))
        if group == "id_tag":
            items = [v.IdTagEnergy(tag, parents.get(tag), _r(energy.get(tag, 0.0)), sessions.get(tag, 0)) for tag in tags]
            items.sort(key=lambda item: (-item.energy_wh, item.id_tag))
            return v.EnergyByIdTag(group, total, items)
        by_parent: dict[str | None, list[Any]] = {}
        for tag in tags:
            entry = by_parent.setdefault(parents.get(tag), [0.0, 0, 0])
            entry[0] += energy.get(tag, 0.0)
            entry[1] += sessions.get(tag, 0)
            entry[2] += 1
        grouped = [v.ParentIdTagEnergy(parent, _r(wh), n, count) for parent, (wh, n, count) in by_parent.items()]
        grouped.sort(key=lambda item: (-item.energy_wh, item.parent_id_tag or ""))
        return v.EnergyByIdTag(group, total, grouped)

    # -- sessions ---------------------------------------------------------------------------

    async def sessions(self, f: v.ReportFilter) -> v.SessionsReport:
        hours, days = await self._session_starts(f)
        s = self._source(t.report_sessions, f, columns=(
            "energy_bucket", "duration_bucket", "sessions", "duration_s", "energy_wh", "flagged")).c
        by_bucket = await self._rows(
            sa.select(s.energy_bucket, s.duration_bucket, sa.func.sum(s.sessions).label("n"),
                      sa.func.sum(s.duration_s).label("duration"), sa.func.sum(s.energy_wh).label("wh"),
                      sa.func.sum(s.flagged).label("flagged"))
            .group_by(s.energy_bucket, s.duration_bucket)
        )
        i = self._source(t.report_idle, f, columns=("idle_s", "sessions")).c
        idle = await self._store.query_one(
            sa.select(sa.func.coalesce(sa.func.sum(i.idle_s), 0.0), sa.func.coalesce(sa.func.sum(i.sessions), 0))
        )
        count = sum(int(row.n) for row in by_bucket)
        duration = sum(row.duration or 0.0 for row in by_bucket)
        energy = sum(row.wh or 0.0 for row in by_bucket)
        energy_counts = [0] * len(ENERGY_BUCKETS_WH)
        duration_counts = [0] * len(DURATION_BUCKETS_S)
        for row in by_bucket:
            energy_counts[row.energy_bucket] += int(row.n)
            duration_counts[row.duration_bucket] += int(row.n)
        idle_total, idle_sessions = (float(idle[0]), int(idle[1])) if idle else (0.0, 0)
        return v.SessionsReport(
            count=count,
            flagged=sum(int(row.flagged or 0) for row in by_bucket),
            duration_s=v.Summary(_r(duration), _r(duration / count) if count else 0.0),
            energy_wh=v.Summary(_r(energy), _r(energy / count) if count else 0.0),
            idle_s=v.IdleSummary(_r(idle_total), _r(idle_total / idle_sessions) if idle_sessions else 0.0, idle_sessions),
            energy_distribution=_buckets(ENERGY_BUCKETS_WH, energy_counts),
            duration_distribution=_buckets(DURATION_BUCKETS_S, duration_counts),
            by_hour_of_day=[v.HourCount(hour, n) for hour, n in enumerate(hours)],
            by_day_of_week=[v.DayCount(day, v.DAY_NAMES[day], n) for day, n in enumerate(days)],
        )

    async def _session_starts(self, f: v.ReportFilter) -> tuple[list[int], list[int]]:
        """Sessions by local hour of day and day of week: whole months of the whole network from
        their monthly rollup, the rest from the network's hours (or any filter from the hours)."""
        hours, days = [0] * 24, [0] * 7
        unfiltered = not (f.charge_point_ids or f.ocpp_version or f.id_tags or f.parent_id_tag is not None)
        pieces = self._pieces(f, MONTHLY, periods=True) if unfiltered else self._pieces(f, HOURLY)
        # The rest by the hour: the network's hours unless filtered.
        hourly = t.NETWORK[t.report_sessions] if unfiltered else t.report_sessions
        st, s = t.report_session_starts_month.c, hourly.c
        months = [(a, b) for grain, a, b in pieces if grain == MONTHLY]
        rest = [(a, b) for grain, a, b in pieces if grain != MONTHLY]
        if months:
            for row in await self._rows(
                sa.select(st.hour_of_day, st.day_of_week, sa.func.sum(st.sessions).label("n"))
                .where(sa.or_(*(sa.and_(st.hour >= a, st.hour < b) for a, b in months)))
                .group_by(st.hour_of_day, st.day_of_week)
            ):
                hours[row.hour_of_day] += int(row.n)
                days[row.day_of_week] += int(row.n)
        if rest:
            for row in await self._rows(
                sa.select(s.hour, sa.func.sum(s.sessions).label("n"))
                .where(sa.or_(*(sa.and_(s.hour >= a, s.hour < b) for a, b in rest)), *self._where(hourly, f))
                .group_by(s.hour)
            ):
                local = row.hour.astimezone(f.tz)
                hours[local.hour] += int(row.n)
                days[local.weekday()] += int(row.n)
        return hours, days

    # -- utilisation ------------------------------------------------------------------------

    async def utilisation(self, f: v.ReportFilter, group: str = "connector") -> v.UtilisationReport:
        if group not in ("connector", "charge_point"):
            raise Invalid("group is connector or charge_point", code="invalid_group")
        # Whole days and months from the rollups by class of status (a row a connector), the
        # hours from those by status; summed before a near-zero sum is dropped (below).
        keys = ("charge_point_id", "evse_id", "connector_id")
        pieces = self._sum_pieces(f)
        sums: dict[tuple[str, int, int], dict[str, float]] = defaultdict(lambda: dict.fromkeys(v.STATUS_CLASSES, 0.0))
        coarse = [piece for piece in pieces if piece[1] != HOURLY]
        if coarse:
            sc = self._signed_sums(t.report_status, f, keys, t.STATUS_CLASS_SECONDS, t.STATUS_CLASSES_BY, coarse).c
            for row in await self._rows(
                sa.select(*(sc[k] for k in keys), *(sa.func.sum(sc[c]).label(c) for c in t.STATUS_CLASS_SECONDS))
                .where(sc.connector_id > 0).group_by(*(sc[k] for k in keys))
            ):
                entry = sums[(row[0], row[1], row[2])]
                for i, name in enumerate(v.STATUS_CLASSES, 3):  # STATUS_CLASS_SECONDS' order
                    entry[name] += row[i] or 0.0
        hourly = [piece for piece in pieces if piece[1] == HOURLY]
        if hourly:
            st = self._signed_sums(t.report_status, f, (*keys, "status"), "seconds", pieces=hourly).c
            for row in await self._rows(
                sa.select(st.charge_point_id, st.evse_id, st.connector_id, st.status, sa.func.sum(st.seconds).label("seconds"))
                .where(st.connector_id > 0).group_by(st.charge_point_id, st.evse_id, st.connector_id, st.status)
            ):
                sums[(row.charge_point_id, row.evse_id, row.connector_id)][status_class(row.status)] += row.seconds or 0.0
        c = t.connectors.c
        current = await self._rows(
            sa.select(c.charge_point_id, t.CONNECTOR_EVSE_KEY.label("evse_id"), c.connector_id, c.status, c.status_at)
            .where(c.connector_id > 0, *_charge_points(c.charge_point_id, f))
        )
        end = min(f.end, now())
        span = max(0.0, (end - f.start).total_seconds())
        # By (charge point, EVSE, connector): a 2.0.1 station numbers connectors per EVSE (the
        # rollups' and CONNECTOR_EVSE_KEY's EVSE 0: numbered as 1.6 numbers them).
        seconds: dict[tuple[str, int, int], dict[str, float]] = defaultdict(lambda: dict.fromkeys(v.STATUS_CLASSES, 0.0))
        for key, found in sums.items():
            for name, value in found.items():
                # A class only in what a month's row less its days outside the range took away
                # sums to zero (give or take the floats' last digits): as if never read.
                if abs(value) >= 1e-6:
                    seconds[key][name] += value
        for row in current:
            # The status it is in now has run since it was reported: not in the rollups yet.
            entry = seconds[(row.charge_point_id, row.evse_id, row.connector_id)]
            if row.status_at is not None:
                since = max(row.status_at, f.start)
                if since < end:
                    entry[status_class(row.status)] += (end - since).total_seconds()
        # A 2.0.1 session still running: its charging so far, not in the rollups until it ends.
        for key, charging in (await self._charging_now(f, end)).items():
            entry = seconds[key]
            entry["charging"] += charging
            entry["occupied"] -= charging
        items: list[v.Utilisation] = []
        if group == "charge_point":
            merged: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(v.STATUS_CLASSES, 0.0))
            counts: dict[str, int] = defaultdict(int)
            for (cp, _, _), entry in seconds.items():
                counts[cp] += 1
                for name, value in entry.items():
                    merged[cp][name] += value
            for cp, entry in sorted(merged.items()):
                items.append(_utilisation(cp, None, None, entry, span * counts[cp]))
        else:
            for (cp, evse, connector), entry in sorted(seconds.items()):
                items.append(_utilisation(cp, None if evse == t.ROLLUP_NO_EVSE else evse, connector, entry, span))
        totals = dict.fromkeys(v.STATUS_CLASSES, 0.0)
        for item in items:
            for name, value in item.seconds.items():
                totals[name] += value
        return v.UtilisationReport(group, {f"{name}_s": _r(value) for name, value in totals.items()}, items)

    # -- reliability ------------------------------------------------------------------------

    async def reliability(self, f: v.ReportFilter, baseline_days: int = 28) -> v.ReliabilityReport:
        if not 1 <= baseline_days <= 366:
            raise Invalid("baseline_days is 1 to 366", code="invalid_baseline")
        cp = t.charge_points.c
        points = await self._rows(
            sa.select(cp.id, cp.created_at, cp.connected, cp.connected_at).where(*_charge_points(cp.id, f))
        )
        baseline = v.ReportFilter(f.start - timedelta(days=baseline_days), f.start, f.tz, f.charge_point_ids,
                                  ocpp_version=f.ocpp_version)
        now_connected = await self._connected(f)
        now_events, past_events = await self._events(f, now_connected), await self._events(baseline)
        end = min(f.end, now())
        items = []
        for point in points:
            start = max(f.start, point.created_at)
            span = max(0.0, (end - start).total_seconds())
            connected = now_connected.get(point.id, [0.0, 0])[0]
            if point.connected and point.connected_at is not None:
                since = max(point.connected_at, start)
                if since < end:
                    connected += (end - since).total_seconds()
            # A month's row less its days outside the range: the floats' last digits aside.
            connected = min(max(connected, 0.0), span)
            ev = now_events.get(point.id, _Events())
            past = past_events.get(point.id, _Events())
            days = span / 86400
            past_span = max(0.0, (baseline.end - max(baseline.start, point.created_at)).total_seconds()) / 86400
            fault_rate = ev.faults / days if days else 0.0
            reconnect_rate = ev.reconnects / days if days else 0.0
            past_fault = past.faults / past_span if past_span else None
            past_reconnect = past.reconnects / past_span if past_span else None
            reasons = []
            if past_fault is not None and ev.faults >= FLAG_MIN_EVENTS and fault_rate >= FLAG_FACTOR * past_fault:
                reasons.append("fault_rate_rose")
            if (past_reconnect is not None and ev.reconnects >= FLAG_MIN_EVENTS
                    and reconnect_rate >= FLAG_FACTOR * past_reconnect):
                reasons.append("reconnect_rate_rose")
            failed = {kind: ev.failed.get(kind, 0) for kind in (REMOTE_START_REJECTED, "invalid", "blocked")}
            failed["total"] = sum(failed.values())
            items.append(v.Reliability(
                charge_point_id=point.id, connected_s=_r(connected), offline_s=_r(span - connected),
                connected_share=_r(connected / span) if span else 0.0, reconnects=ev.reconnects, faults=ev.faults,
                faults_by_error_code=dict(sorted(ev.by_code.items())), failed_starts=failed,
                fault_rate_per_day=_r(fault_rate), reconnect_rate_per_day=_r(reconnect_rate),
                baseline_fault_rate_per_day=None if past_fault is None else _r(past_fault),
                baseline_reconnect_rate_per_day=None if past_reconnect is None else _r(past_reconnect),
                flagged=bool(reasons), flag_reasons=reasons,
            ))
        items.sort(key=lambda item: (not item.flagged, -item.faults, item.charge_point_id))
        return v.ReliabilityReport(baseline_days, items)

    async def _connected(self, f: v.ReportFilter) -> dict[str, list[float]]:
        k = self._signed_sums(t.report_connectivity, f, ("charge_point_id",), ("connected_s", "connects")).c
        rows = await self._rows(
            sa.select(k.charge_point_id, sa.func.sum(k.connected_s).label("s"), sa.func.sum(k.connects).label("n"))
            .group_by(k.charge_point_id)
        )
        return {row.charge_point_id: [row.s or 0.0, int(row.n or 0)] for row in rows}

    async def _events(self, f: v.ReportFilter, connected: dict[str, list[float]] | None = None) -> dict[str, _Events]:
        """`connected`: _connected(f), if already read."""
        events: dict[str, _Events] = defaultdict(_Events)
        for charge_point_id, (_, connects) in (connected if connected is not None else await self._connected(f)).items():
            events[charge_point_id].reconnects = int(connects)
        st = self._signed_sums(t.report_status, f, ("charge_point_id", "status", "error_code"), "entries").c
        faulty = sa.or_(st.status == "Faulted", st.error_code != NO_ERROR)
        for row in await self._rows(
            sa.select(st.charge_point_id, st.error_code, sa.func.sum(st.entries).label("n"))
            .where(faulty).group_by(st.charge_point_id, st.error_code)
        ):
            if row.n:
                events[row.charge_point_id].faults += int(row.n)
                events[row.charge_point_id].by_code[row.error_code] = int(row.n)
        fs = self._source(t.report_failed_starts, f).c
        for row in await self._rows(
            sa.select(fs.charge_point_id, fs.kind, sa.func.sum(fs.count).label("n"))
            .group_by(fs.charge_point_id, fs.kind)
        ):
            events[row.charge_point_id].failed[row.kind] = int(row.n or 0)
        rs = t.remote_starts.c
        for row in await self._rows(
            sa.select(rs.charge_point_id, sa.func.count().label("n"))
            .where(rs.status == "Rejected", rs.requested_at >= f.start, rs.requested_at < f.end,
                   *_charge_points(rs.charge_point_id, f))
            .group_by(rs.charge_point_id)
        ):
            events[row.charge_point_id].failed[REMOTE_START_REJECTED] = int(row.n)
        return events

    async def _charging_now(self, f: v.ReportFilter, end: datetime) -> dict[tuple[str, int, int], float]:
        """Seconds in Charging within [f.start, end) of the running sessions told as events
        (2.0.1), by (charge point, EVSE, connector): see reports/charging.py."""
        tx, ev = t.transactions.c, t.transaction_events.c
        # The open transactions by their ids from a partial index (ix_transactions_open_*): on
        # its own, SQLite's planner walked every transaction by `started_at` (a year's millions).
        open_tx = t.transactions.alias("open_tx").c
        open_ids = sa.select(open_tx.id).where(open_tx.stopped_at.is_(None))
        rows = await self._rows(
            sa.select(tx.id, tx.charge_point_id, tx.evse_id, tx.connector_id, ev.timestamp, ev.charging_state)
            .select_from(t.transactions.join(t.transaction_events, ev.transaction_id == tx.id))
            .where(tx.id.in_(open_ids), tx.stopped_at.is_(None), tx.evse_id.is_not(None), tx.started_at < end,
                   ev.charging_state.is_not(None), *_charge_points(tx.charge_point_id, f))
            .order_by(tx.id, ev.timestamp, ev.seq_no)
        )
        states: dict[int, tuple[tuple[str, int, int], list[tuple[datetime, str]]]] = {}
        for row in rows:
            states.setdefault(row.id, ((row.charge_point_id, row.evse_id, row.connector_id), []))[1].append(
                (row.timestamp, row.charging_state))
        charging: dict[tuple[str, int, int], float] = defaultdict(float)
        for key, changes in states.values():
            for start, stop in charging_spans(changes, end):
                start = max(start, f.start)
                if start < stop:
                    charging[key] += (stop - start).total_seconds()
        return charging

    # -- peak power -------------------------------------------------------------------------

    async def peak_power(self, f: v.ReportFilter, interval: str = "day") -> v.PeakPowerReport:
        if interval not in v.INTERVALS:
            raise Invalid(f"interval is one of {', '.join(v.INTERVALS)}", code="invalid_interval")
        if f.id_tags or f.parent_id_tag is not None:
            network, tops = await self._peaks_by_tag(f)
        else:
            network, tops = await self._peaks(f, {"hour": HOURLY, "day": DAILY, "week": DAILY, "month": MONTHLY}[interval])
        starts = periods(f.start, f.end, interval, f.tz)
        best = {start.astimezone(UTC): 0.0 for start in starts}
        top_w, top_at = 0.0, None
        for row in sorted(network, key=lambda row: row.at):  # of equal peaks, the earliest
            key = period_start(row.at, interval, f.tz).astimezone(UTC)
            if key in best and row.w > best[key]:
                best[key] = row.w
            if row.w > top_w:
                top_w, top_at = row.w, row.at
        by_cp = [v.ChargePointPeak(row.charge_point_id, _r(row.w), row.at.astimezone(f.tz)) for row in tops]
        by_cp.sort(key=lambda item: (-item.peak_power_w, item.charge_point_id))
        return v.PeakPowerReport(
            interval, _r(top_w), top_at.astimezone(f.tz) if top_at else None,
            [v.PeakPeriod(start, _r(best[start.astimezone(UTC)])) for start in starts], by_cp,
        )

    async def _peaks(self, f: v.ReportFilter, coarsest: str) -> tuple[list[sa.Row[Any]], list[sa.Row[Any]]]:
        """(hour or highest hour `at`, power `w`) of the network, and each charge point's highest
        (charge_point_id, at, w), from the peak rollups."""
        if f.charge_point_ids or f.ocpp_version:
            # A part of the network: the sum of its charge points' hours.
            c = self._source(t.report_peak_cp, f, HOURLY, periods=True).c
            network = await self._rows(sa.select(c.hour.label("at"), sa.func.sum(c.power_w).label("w")).group_by(c.hour))
        else:
            # A day's or month's highest hour stands for its period only in the rollups' zone.
            n = self._source(t.report_peak, f, coarsest, periods=True).c
            network = await self._rows(sa.select(n.at, n.power_w.label("w")))
        c = self._source(t.report_peak_cp, f).c
        rank = sa.func.row_number().over(partition_by=c.charge_point_id, order_by=(c.power_w.desc(), c.at)).label("rank")
        ranked = sa.select(c.charge_point_id, c.at, c.power_w.label("w"), rank).subquery()
        tops = await self._rows(sa.select(ranked.c.charge_point_id, ranked.c.at, ranked.c.w).where(ranked.c.rank == 1))
        return network, tops

    async def _peaks_by_tag(self, f: v.ReportFilter) -> tuple[list[sa.Row[Any]], list[sa.Row[Any]]]:
        """As _peaks, for sessions of some id tags only: from the hourly energy rollup, which
        alone keeps the id tag."""
        e = self._source(t.report_energy, f, HOURLY, periods=True).c
        watts = hour_watts(e)
        network = await self._rows(sa.select(e.hour.label("at"), sa.func.sum(watts).label("w")).group_by(e.hour))
        per_hour = (
            sa.select(e.charge_point_id, e.hour, sa.func.sum(watts).label("w"))
            .group_by(e.charge_point_id, e.hour).subquery()
        )
        rank = sa.func.row_number().over(
            partition_by=per_hour.c.charge_point_id, order_by=(per_hour.c.w.desc(), per_hour.c.hour)
        ).label("rank")
        ranked = sa.select(per_hour.c.charge_point_id, per_hour.c.hour.label("at"), per_hour.c.w, rank).subquery()
        tops = await self._rows(sa.select(ranked.c.charge_point_id, ranked.c.at, ranked.c.w).where(ranked.c.rank == 1))
        return network, tops


class _Events:
    __slots__ = ("reconnects", "faults", "by_code", "failed")

    def __init__(self) -> None:
        self.reconnects = 0
        self.faults = 0
        self.by_code: dict[str, int] = {}
        self.failed: dict[str, int] = {}


def _charge_points(column: sa.ColumnElement[str], f: v.ReportFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if f.charge_point_ids:
        conditions.append(column.in_(f.charge_point_ids))
    if f.ocpp_version is not None:
        conditions.append(column.in_(sa.select(t.charge_points.c.id).where(t.charge_points.c.ocpp_version == f.ocpp_version)))
    return conditions


def _buckets(bounds: tuple[int, ...], counts: list[int]) -> list[v.Bucket]:
    return [
        v.Bucket(lower, bounds[i + 1] if i + 1 < len(bounds) else None, counts[i]) for i, lower in enumerate(bounds)
    ]


def _utilisation(
    charge_point_id: str, evse_id: int | None, connector_id: int | None, seconds: dict[str, float], span: float
) -> v.Utilisation:
    known = sum(value for name, value in seconds.items() if name != "unknown")
    # Before its first status the connector's state is unknown (and statuses never exceed the span).
    seconds["unknown"] = max(0.0, span - known) + seconds["unknown"]
    return v.Utilisation(
        charge_point_id, connector_id, {name: _r(value) for name, value in seconds.items()},
        {name: (round(value / span, 6) if span else 0.0) for name, value in seconds.items()}, evse_id,
    )


def _boundary_at_or_after(at: datetime, grain: str, tz: ZoneInfo) -> datetime:
    start = period_start(at, grain, tz).astimezone(UTC)
    if start >= at:
        return start
    local = start.astimezone(tz)
    if grain == "day":
        following = (local.date() + timedelta(days=1))
    else:
        following = (local.date().replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
