"""Loading what availability needs from the database, with indexed range queries only.

Every query is bounded by the staff members asked about and by the window (widened by a day,
the longest a block may be), so the cost follows the window and the staff count, not the size
of the booking history. Two statements bring it all (each a UNION ALL of such queries): the
staff's schedules, and the blocks their bookings and the service's resources hold; every round
trip counts when availability is asked for on every page view.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import (
    BusyBlock,
    DayOverride,
    ServiceRules,
    Span,
    StaffCalendar,
    TimeRange,
    WeeklyInterval,
    busy_span,
)
from boka.booking.limits import limited_starts
from boka.booking.refusals import HeldBlock
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingResource, BookingStatus
from boka.models.catalog import Service, ServiceResource, StaffMember, StaffService
from boka.models.external_calendars import ExternalBusyBlock
from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.models.types import UTCDateTime

# No booking block is longer than a day (services last at most 12 h, buffers at most 6 h
# each), and a candidate's own block reaches up to 6 h before the window: a block that can
# touch a candidate starts less than this long before the window.
LONGEST_BLOCK = timedelta(days=2)


@dataclass(frozen=True)
class AvailabilityInputs:
    calendars: list[StaffCalendar]
    resource_busy: list[BusyBlock]
    seats_taken: dict[str, int]


def service_rules(service: Service, duration_minutes: int | None = None) -> ServiceRules:
    return ServiceRules(
        service_id=service.id,
        duration=timedelta(minutes=duration_minutes or service.duration_minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        slot_interval=timedelta(minutes=service.slot_interval_minutes),
        min_notice=timedelta(minutes=service.min_notice_minutes),
        max_advance=timedelta(days=service.max_advance_days),
        capacity=service.capacity,
    )


async def staff_for_service(
    db: AsyncSession, service: Service, staff_id: uuid.UUID | None = None
) -> list[tuple[StaffMember, StaffService]]:
    """Active staff who perform ``service`` (just ``staff_id`` if given), oldest first."""
    statement = (
        sa.select(StaffMember, StaffService)
        .join(StaffService, StaffService.staff_member_id == StaffMember.id)
        .where(
            StaffService.service_id == service.id,
            StaffMember.tenant_id == service.tenant_id,
            StaffMember.active.is_(True),
        )
        .order_by(StaffMember.created_at, StaffMember.id)
    )
    if staff_id is not None:
        statement = statement.where(StaffMember.id == staff_id)
    return [(member, link) for member, link in (await db.execute(statement)).all()]


async def load_availability_inputs(
    db: AsyncSession,
    service: Service,
    staff: Sequence[StaffMember],
    window: TimeRange,
    *,
    ignore_booking_id: uuid.UUID | None = None,
    detailed: bool = False,
    duration_minutes: int | None = None,
) -> AvailabilityInputs:
    """Calendars of ``staff`` and the service's resource occupancy around ``window``, with the
    starts in ``window`` their booking limits rule out for a booking of ``duration_minutes``
    (the service's length if not given; ``limited_starts``: no statement without limits).

    ``detailed``: busy blocks as ``HeldBlock``s that say what holds them (the booking or class
    session, its appointment without buffers, whether it is pending), for explanations; the
    slot sweep needs none of it and reads the lean rows."""
    staff_ids = [member.id for member in staff]
    wide_start = window.start - LONGEST_BLOCK
    wide_end = window.end + LONGEST_BLOCK
    schedules = await load_schedules(
        db, staff_ids, TimeRange(wide_start, wide_end), external_busy=True
    )

    busy: dict[uuid.UUID, list[BusyBlock]] = defaultdict(list)
    resource_busy: list[BusyBlock] = []
    seats_taken: dict[str, int] = defaultdict(int)
    blocks = _busy_rows(service, staff_ids, wide_start, wide_end, detailed=detailed)
    for row in await db.execute(blocks):
        staff_id, block_start, block_end, slot_key, seats, booking_id = row[:6]
        if booking_id is not None and booking_id == ignore_booking_id:
            continue
        if detailed:
            block = _held_block(row)
        else:
            block = BusyBlock(TimeRange(block_start, block_end), slot_key)
        if staff_id is None:  # a resource the service needs
            resource_busy.append(block)
        else:
            busy[staff_id].append(block)
            seats_taken[slot_key] += seats

    limited = await limited_starts(
        db, service, staff, window, duration_minutes=duration_minutes or service.duration_minutes,
        ignore_booking_id=ignore_booking_id,
    )
    calendars = [
        schedules.calendar(member, busy=tuple(busy[member.id]), limited=limited.get(member.id, ()))
        for member in staff
    ]
    return AvailabilityInputs(
        calendars=calendars,
        resource_busy=resource_busy,
        seats_taken=dict(seats_taken),
    )


@dataclass(frozen=True)
class Schedules:
    """Staff members' weekly hours, date overrides, time off and busy time from their own
    calendars, by staff member id."""

    weekly: dict[uuid.UUID, list[WeeklyInterval]]
    overrides: dict[uuid.UUID, list[DayOverride]]
    time_off: dict[uuid.UUID, list[TimeRange]]
    external_busy: dict[uuid.UUID, list[Span]] = field(default_factory=dict)

    def calendar(
        self, member: StaffMember, busy: tuple[BusyBlock, ...] = (), limited: tuple[Span, ...] = ()
    ) -> StaffCalendar:
        return StaffCalendar(
            staff_id=member.id,
            time_zone=member.time_zone,
            weekly=tuple(self.weekly.get(member.id, ())),
            overrides=tuple(self.overrides.get(member.id, ())),
            time_off=tuple(self.time_off.get(member.id, ())),
            busy=busy,
            external_busy=tuple(self.external_busy.get(member.id, ())),
            limited=limited,
        )


async def load_schedules(
    db: AsyncSession, staff_ids: list[uuid.UUID], window: TimeRange, *, external_busy: bool = False
) -> Schedules:
    """The schedules of ``staff_ids`` that can matter in ``window``, in one statement; with
    ``external_busy``, also the busy blocks their attached calendars hold (availability and
    booking want them; working-time figures do not)."""
    weekly: dict[uuid.UUID, list[WeeklyInterval]] = defaultdict(list)
    override_rows: dict[tuple[uuid.UUID, Any], list[tuple[bool, Any, Any]]] = defaultdict(list)
    time_off: dict[uuid.UUID, list[TimeRange]] = defaultdict(list)
    external: dict[uuid.UUID, list[Span]] = defaultdict(list)
    first_day = (window.start - timedelta(days=1)).date()
    last_day = (window.end + timedelta(days=1)).date()
    # PostgreSQL hands each staff member's busy spans over as one array (a row each, decoded by
    # asyncpg): thousands of rows through the ORM would cost more than all the rest.
    arrays = external_busy and db.bind.dialect.name == "postgresql"
    rows = _schedule_rows(
        staff_ids, first_day, last_day, window.start, window.end,
        external_busy="arrays" if arrays else "rows" if external_busy else None,
    )
    for row in await db.execute(rows):
        kind, staff_id, weekday, day, start, end, flag, starts_at, ends_at = row[:9]
        if kind == "external_arrays":
            external[staff_id].extend(sorted(map(tuple, row[9])))
            continue
        if kind == "weekly":
            weekly[staff_id].append(WeeklyInterval(weekday, start, end, is_break=flag))
        elif kind == "override":
            override_rows[(staff_id, day)].append((flag, start, end))
        elif kind == "time_off":
            time_off[staff_id].append(TimeRange(starts_at, ends_at))
        else:
            external[staff_id].append(busy_span(starts_at, ends_at))
    overrides: dict[uuid.UUID, list[DayOverride]] = defaultdict(list)
    for (staff_id, day), entries in override_rows.items():
        day_off = any(off for off, _, _ in entries)
        intervals = tuple(
            sorted((start, end) for off, start, end in entries if not off and start and end)
        )
        overrides[staff_id].append(DayOverride(day, day_off, () if day_off else intervals))
    return Schedules(dict(weekly), dict(overrides), dict(time_off), dict(external))


def select_resource_ids(service: Service) -> sa.Select[tuple[uuid.UUID]]:
    return sa.select(ServiceResource.resource_id).where(ServiceResource.service_id == service.id)


def _nothing(type_: Any, name: str) -> sa.Label[Any]:
    """A NULL column of ``type_``: what a row of a UNION has where its kind has no value."""
    return sa.cast(sa.null(), type_).label(name)


_PAIRS = postgresql.ARRAY(sa.BigInteger, dimensions=2)


def _epoch_micros(column: Any) -> sa.ColumnElement[int]:
    return sa.cast(sa.extract("epoch", column) * 1_000_000, sa.BigInteger)


def _raw(expression: Any, name: str) -> sa.Label[Any]:
    """``expression`` handed over as asyncpg decodes it: SQLAlchemy's ARRAY would walk every
    element of the pairs again in Python, which costs more than the rest of the read."""
    return sa.type_coerce(expression, sa.types.NullType()).label(name)


def _schedule_rows(
    staff_ids: list[uuid.UUID], first_day: date, last_day: date, start: datetime, end: datetime,
    *, external_busy: str | None = None,
) -> sa.CompoundSelect:
    """The staff's weekly hours, their date overrides from ``first_day`` to ``last_day`` and
    their time off that overlaps [start, end), in one statement (one round trip): rows of
    (kind, staff id, weekday, day, start time, end time, is_break or day_off, starts_at,
    ends_at), NULL where the kind has no such column. With ``external_busy``, the busy blocks of
    their attached calendars that overlap [start, end) too: a row each ("rows", kind
    'external'), or on PostgreSQL ("arrays") one row per staff member (kind 'external_arrays')
    with one more column, their blocks as an array of [start, end] pairs in microseconds since
    the epoch (the Spans ``StaffCalendar.external_busy`` holds)."""
    parts: list[sa.Select[Any]] = [
        sa.select(
            sa.literal_column("'weekly'").label("kind"), WeeklyHours.staff_member_id,
            WeeklyHours.weekday, _nothing(sa.Date, "day"), WeeklyHours.start_time,
            WeeklyHours.end_time, WeeklyHours.is_break.label("flag"),
            _nothing(UTCDateTime, "starts_at"), _nothing(UTCDateTime, "ends_at"),
        ).where(WeeklyHours.staff_member_id.in_(staff_ids)),
        sa.select(
            sa.literal_column("'override'"), ScheduleOverride.staff_member_id,
            _nothing(sa.Integer, "weekday"), ScheduleOverride.day, ScheduleOverride.start_time,
            ScheduleOverride.end_time, ScheduleOverride.day_off,
            _nothing(UTCDateTime, "starts_at"), _nothing(UTCDateTime, "ends_at"),
        ).where(
            ScheduleOverride.staff_member_id.in_(staff_ids),
            ScheduleOverride.day >= first_day,
            ScheduleOverride.day <= last_day,
        ),
        sa.select(
            sa.literal_column("'time_off'"), TimeOff.staff_member_id,
            _nothing(sa.Integer, "weekday"), _nothing(sa.Date, "day"), _nothing(sa.Time, "start"),
            _nothing(sa.Time, "end"), _nothing(sa.Boolean, "flag"), TimeOff.starts_at,
            TimeOff.ends_at,
        ).where(
            TimeOff.staff_member_id.in_(staff_ids), TimeOff.starts_at < end, TimeOff.ends_at > start
        ),
    ]
    overlapping = sa.and_(
        ExternalBusyBlock.staff_member_id.in_(staff_ids),
        ExternalBusyBlock.starts_at < end,
        ExternalBusyBlock.ends_at > start,
    )
    if external_busy == "arrays":
        parts = [part.add_columns(_raw(sa.cast(sa.null(), _PAIRS), "busy")) for part in parts]
        # One aggregate of [start, end] pairs, unordered: no sort in the database (the spans
        # are merged, so their order is their starts'; it is restored in Python).
        parts.append(sa.select(
            sa.literal_column("'external_arrays'"), ExternalBusyBlock.staff_member_id,
            _nothing(sa.Integer, "weekday"), _nothing(sa.Date, "day"), _nothing(sa.Time, "start"),
            _nothing(sa.Time, "end"), _nothing(sa.Boolean, "flag"), _nothing(UTCDateTime, "starts_at"),
            _nothing(UTCDateTime, "ends_at"),
            _raw(sa.func.array_agg(postgresql.array(
                [_epoch_micros(ExternalBusyBlock.starts_at), _epoch_micros(ExternalBusyBlock.ends_at)]
            )), "busy"),
        ).where(overlapping).group_by(ExternalBusyBlock.staff_member_id))
    elif external_busy == "rows":
        parts.append(sa.select(
            sa.literal_column("'external'"), ExternalBusyBlock.staff_member_id,
            _nothing(sa.Integer, "weekday"), _nothing(sa.Date, "day"), _nothing(sa.Time, "start"),
            _nothing(sa.Time, "end"), _nothing(sa.Boolean, "flag"), ExternalBusyBlock.starts_at,
            ExternalBusyBlock.ends_at,
        ).where(overlapping))
    return sa.union_all(*parts)


def _held_block(row: Any) -> HeldBlock:
    """A detailed busy row (see ``_busy_rows``) as the block it is, with what holds it."""
    _, block_start, block_end, slot_key, _, booking_id, start, end, status, session_id = row
    return HeldBlock(
        TimeRange(block_start, block_end), slot_key, booking_id=booking_id, session_id=session_id,
        core=TimeRange(start, end) if start is not None and start < end else None,
        held=status == BookingStatus.PENDING.value,
    )


def _busy_rows(
    service: Service, staff_ids: list[uuid.UUID], start: datetime, end: datetime, *,
    detailed: bool = False,
) -> sa.CompoundSelect:
    """Active bookings of the staff and active holds of the service's resources whose blocks
    start in [start, end), and the scheduled class sessions the staff teach or the resources
    host, in one statement: (staff id, or NULL for a resource's, block_start, block_end,
    slot_key, seats, booking id or NULL); ``detailed`` adds (start, end, booking status,
    class session id), NULL where the row has none."""
    session_key = sa.literal("session")  # rules out every start of an appointment it overlaps
    scheduled = sa.and_(
        ClassSession.status == ClassSessionStatus.SCHEDULED.value,
        ClassSession.block_start >= start,
        ClassSession.block_start < end,
    )
    status = sa.cast(Booking.status, sa.String)
    resource_booking = sa.select(Booking.start_time, Booking.end_time, status).where(
        Booking.id == BookingResource.booking_id
    )
    booking_detail = (Booking.start_time, Booking.end_time, status, _nothing(sa.Uuid, "session_id"))
    resource_detail = (
        resource_booking.with_only_columns(Booking.start_time).scalar_subquery(),
        resource_booking.with_only_columns(Booking.end_time).scalar_subquery(),
        resource_booking.with_only_columns(status).scalar_subquery(),
        _nothing(sa.Uuid, "session_id"),
    )
    session_detail = (
        ClassSession.start_time, ClassSession.end_time, _nothing(sa.String, "status"),
        ClassSession.id,
    )
    if not detailed:
        booking_detail = resource_detail = session_detail = ()
    return sa.union_all(
        sa.select(
            Booking.staff_id, Booking.block_start, Booking.block_end, Booking.slot_key,
            Booking.seats, Booking.id, *booking_detail,
        ).where(
            Booking.staff_id.in_(staff_ids),
            Booking.block_start >= start,
            Booking.block_start < end,
            Booking.status.in_(ACTIVE_STATUSES),
        ),
        sa.select(
            _nothing(sa.Uuid, "staff_id"), BookingResource.block_start, BookingResource.block_end,
            BookingResource.slot_key, _nothing(sa.Integer, "seats"), BookingResource.booking_id,
            *resource_detail,
        ).where(
            BookingResource.resource_id.in_(select_resource_ids(service)),
            BookingResource.block_start >= start,
            BookingResource.block_start < end,
            BookingResource.active.is_(True),
        ),
        sa.select(
            ClassSession.staff_id, ClassSession.block_start, ClassSession.block_end, session_key,
            sa.literal(0), _nothing(sa.Uuid, "booking_id"), *session_detail,
        ).where(ClassSession.staff_id.in_(staff_ids), scheduled),
        sa.select(
            _nothing(sa.Uuid, "staff_id"), ClassSession.block_start, ClassSession.block_end,
            session_key, sa.literal(0), _nothing(sa.Uuid, "booking_id"), *session_detail,
        ).where(ClassSession.resource_id.in_(select_resource_ids(service)), scheduled),
    )
