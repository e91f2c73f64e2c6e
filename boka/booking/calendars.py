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
from typing import Any

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

    # Plain columns rather than ORM entities: these rows are only read, once, here.
    weekly: dict[uuid.UUID, list[WeeklyInterval]] = defaultdict(list)
    weekly_query = sa.select(
        WeeklyHours.staff_member_id, WeeklyHours.weekday, WeeklyHours.start_time,
        WeeklyHours.end_time, WeeklyHours.is_break,
    ).where(WeeklyHours.staff_member_id.in_(staff_ids))
    for staff_id, weekday, start, end, is_break in (await db.execute(weekly_query)).all():
        weekly[staff_id].append(WeeklyInterval(weekday, start, end, is_break=is_break))

    override_rows: dict[tuple[uuid.UUID, object], list[tuple[bool, Any, Any]]] = defaultdict(list)
    overrides_query = sa.select(
        ScheduleOverride.staff_member_id, ScheduleOverride.day, ScheduleOverride.day_off,
        ScheduleOverride.start_time, ScheduleOverride.end_time,
    ).where(
        ScheduleOverride.staff_member_id.in_(staff_ids),
        ScheduleOverride.day >= (wide_start - timedelta(days=1)).date(),
        ScheduleOverride.day <= (wide_end + timedelta(days=1)).date(),
    )
    for staff_id, day, day_off, start, end in (await db.execute(overrides_query)).all():
        override_rows[(staff_id, day)].append((day_off, start, end))
    overrides: dict[uuid.UUID, list[DayOverride]] = defaultdict(list)
    for (staff_id, day), rows in override_rows.items():
        day_off = any(off for off, _, _ in rows)
        intervals = tuple(
            sorted((start, end) for off, start, end in rows if not off and start and end)
        )
        overrides[staff_id].append(DayOverride(day=day, day_off=day_off, intervals=() if day_off else intervals))  # type: ignore[arg-type]

    time_off: dict[uuid.UUID, list[TimeRange]] = defaultdict(list)
    time_off_query = sa.select(TimeOff.staff_member_id, TimeOff.starts_at, TimeOff.ends_at).where(
        TimeOff.staff_member_id.in_(staff_ids), TimeOff.starts_at < wide_end, TimeOff.ends_at > wide_start
    )
    for staff_id, starts_at, ends_at in (await db.execute(time_off_query)).all():
        time_off[staff_id].append(TimeRange(starts_at, ends_at))

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
    resources_query = sa.select(
        BookingResource.block_start, BookingResource.block_end, BookingResource.slot_key,
        BookingResource.booking_id,
    ).where(
        BookingResource.resource_id.in_(resource_ids),
        BookingResource.block_start >= wide_start,
        BookingResource.block_start < wide_end,
        BookingResource.active.is_(True),
    )
    resource_busy = [
        BusyBlock(TimeRange(block_start, block_end), slot_key)
        for block_start, block_end, slot_key, booking_id in (await db.execute(resources_query))
        if booking_id != ignore_booking_id
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
