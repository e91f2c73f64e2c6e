"""Loading what availability needs from the database, with indexed range queries only.

Every query is bounded by the staff members asked about and by the window (widened by a day,
the longest a block may be), so the cost follows the window and the staff count, not the size
of the booking history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import (
    BusyBlock,
    DayOverride,
    ServiceRules,
    StaffCalendar,
    TimeRange,
    WeeklyInterval,
)
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingResource
from boka.models.catalog import Service, ServiceResource, StaffMember, StaffService
from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours

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
) -> AvailabilityInputs:
    """Calendars of ``staff`` and the service's resource occupancy around ``window``."""
    staff_ids = [member.id for member in staff]
    wide_start = window.start - LONGEST_BLOCK
    wide_end = window.end + LONGEST_BLOCK

    weekly: dict[uuid.UUID, list[WeeklyInterval]] = defaultdict(list)
    for row in (await db.execute(sa.select(WeeklyHours).where(WeeklyHours.staff_member_id.in_(staff_ids)))).scalars():
        weekly[row.staff_member_id].append(
            WeeklyInterval(weekday=row.weekday, start=row.start_time, end=row.end_time, is_break=row.is_break)
        )

    override_rows: dict[tuple[uuid.UUID, object], list[ScheduleOverride]] = defaultdict(list)
    overrides_query = sa.select(ScheduleOverride).where(
        ScheduleOverride.staff_member_id.in_(staff_ids),
        ScheduleOverride.day >= (wide_start - timedelta(days=1)).date(),
        ScheduleOverride.day <= (wide_end + timedelta(days=1)).date(),
    )
    for row in (await db.execute(overrides_query)).scalars():
        override_rows[(row.staff_member_id, row.day)].append(row)
    overrides: dict[uuid.UUID, list[DayOverride]] = defaultdict(list)
    for (staff_id, day), rows in override_rows.items():
        day_off = any(row.day_off for row in rows)
        intervals = tuple(
            sorted((row.start_time, row.end_time) for row in rows if not row.day_off and row.start_time and row.end_time)
        )
        overrides[staff_id].append(DayOverride(day=day, day_off=day_off, intervals=() if day_off else intervals))  # type: ignore[arg-type]

    time_off: dict[uuid.UUID, list[TimeRange]] = defaultdict(list)
    time_off_query = sa.select(TimeOff).where(
        TimeOff.staff_member_id.in_(staff_ids), TimeOff.starts_at < wide_end, TimeOff.ends_at > wide_start
    )
    for row in (await db.execute(time_off_query)).scalars():
        time_off[row.staff_member_id].append(TimeRange(row.starts_at, row.ends_at))

    busy: dict[uuid.UUID, list[BusyBlock]] = defaultdict(list)
    seats_taken: dict[str, int] = defaultdict(int)
    bookings_query = sa.select(
        Booking.staff_id, Booking.block_start, Booking.block_end, Booking.slot_key, Booking.seats, Booking.id
    ).where(
        Booking.staff_id.in_(staff_ids),
        Booking.block_start >= wide_start,
        Booking.block_start < wide_end,
        Booking.status.in_(ACTIVE_STATUSES),
    )
    for staff_id, block_start, block_end, slot_key, seats, booking_id in (await db.execute(bookings_query)).all():
        if booking_id == ignore_booking_id:
            continue
        busy[staff_id].append(BusyBlock(TimeRange(block_start, block_end), slot_key))
        seats_taken[slot_key] += seats

    resource_ids = select_resource_ids(service)
    resources_query = sa.select(BookingResource).where(
        BookingResource.resource_id.in_(resource_ids),
        BookingResource.block_start >= wide_start,
        BookingResource.block_start < wide_end,
        BookingResource.active.is_(True),
    )
    resource_busy = [
        BusyBlock(TimeRange(row.block_start, row.block_end), row.slot_key)
        for row in (await db.execute(resources_query)).scalars()
        if row.booking_id != ignore_booking_id
    ]

    calendars = [
        StaffCalendar(
            staff_id=member.id,
            time_zone=member.time_zone,
            weekly=tuple(weekly[member.id]),
            overrides=tuple(overrides[member.id]),
            time_off=tuple(time_off[member.id]),
            busy=tuple(busy[member.id]),
        )
        for member in staff
    ]
    return AvailabilityInputs(
        calendars=calendars,
        resource_busy=resource_busy,
        seats_taken=dict(seats_taken),
    )


def select_resource_ids(service: Service) -> sa.Select[tuple[uuid.UUID]]:
    return sa.select(ServiceResource.resource_id).where(ServiceResource.service_id == service.id)
