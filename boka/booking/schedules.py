"""When staff work: the weekly pattern with its breaks, date overrides, and time off.

Weekly hours and overrides are local wall-clock times in the staff member's zone; time off is
a range of instants. Availability (``boka.booking.calendars``) reads what is written here.
Visitors of the tenant may read hours and overrides (the free slots show them anyway); time
off, whose reason is private, is for those who manage the catalogue, as is every write.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import (
    active_unless_manager,
    delete_in_tenant,
    get_in_tenant,
    manages_catalog,
    require_catalog_manager,
)
from boka.booking.session_time import queue_for_time
from boka.errors import InvalidRequest, UserErrorCode, UserInputError
from boka.events.catalog import announce_schedule_change, local_day
from boka.identity.principal import Principal
from boka.models.catalog import StaffMember
from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.pagination import group_rows
from boka.validation import check_day, check_instant, check_wall_clock, clean_text, invalid

MAX_WEEKLY_INTERVALS = 100
LONGEST_TIME_OFF = timedelta(days=366)
LONGEST_READ_WINDOW = timedelta(days=400)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class HoursInterval:
    """One interval of a week as a manager writes it; checked by ``set_weekly_hours``."""

    weekday: int  # 0 = Monday
    start: time
    end: time
    is_break: bool = False


@dataclass(frozen=True)
class Week:
    """A staff member's weekly pattern, ordered by weekday and start."""

    staff_member: StaffMember
    hours: list[WeeklyHours]


def check_week(intervals: Sequence[HoursInterval]) -> None:
    """Weekdays 0-6, start before end, no two work intervals of a day overlap, and every
    break lies inside one work interval of its day (touching intervals do not overlap)."""
    if len(intervals) > MAX_WEEKLY_INTERVALS:
        raise invalid(f"A week has at most {MAX_WEEKLY_INTERVALS} intervals.", "intervals")
    work: dict[int, list[tuple[int, HoursInterval]]] = defaultdict(list)
    for index, interval in enumerate(intervals):
        field = f"intervals.{index}"
        if not 0 <= interval.weekday <= 6:
            raise invalid("Use 0 (Monday) to 6 (Sunday).", f"{field}.weekday")
        check_wall_clock(interval.start, f"{field}.start")
        check_wall_clock(interval.end, f"{field}.end")
        if not interval.start < interval.end:
            raise invalid("The interval must end after it starts, on the same day.", f"{field}.end")
        if not interval.is_break:
            work[interval.weekday].append((index, interval))
    for day in work.values():
        day.sort(key=lambda item: item[1].start)
        for (_, earlier), (index, later) in zip(day, day[1:]):
            if later.start < earlier.end:
                raise invalid(
                    f"Overlaps the working hours {earlier.start:%H:%M}-{earlier.end:%H:%M} on "
                    f"{WEEKDAYS[later.weekday]}.",
                    f"intervals.{index}",
                )
    for index, interval in enumerate(intervals):
        if interval.is_break and not any(
            hours.start <= interval.start and interval.end <= hours.end
            for _, hours in work[interval.weekday]
        ):
            raise invalid("A break must lie inside working hours of its day.", f"intervals.{index}")


async def set_weekly_hours(
    db: AsyncSession,
    principal: Principal,
    staff_member_id: uuid.UUID,
    intervals: Sequence[HoursInterval],
) -> Week:
    """Replace the staff member's whole week with ``intervals``, or change nothing."""
    tenant = require_catalog_manager(principal)
    # The row lock makes concurrent replacements of one week take turns.
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=True
    )
    check_week(intervals)
    await db.execute(
        sa.delete(WeeklyHours).where(
            WeeklyHours.staff_member_id == member.id, WeeklyHours.tenant_id == tenant.id
        )
    )
    rows = [
        WeeklyHours(
            tenant_id=tenant.id,
            staff_member_id=member.id,
            weekday=interval.weekday,
            start_time=interval.start,
            end_time=interval.end,
            is_break=interval.is_break,
        )
        for interval in intervals
    ]
    db.add_all(rows)
    await db.flush()
    await announce_schedule_change(db, member, "weekly_hours")
    rows.sort(key=lambda row: (row.weekday, row.start_time, row.is_break))
    return Week(staff_member=member, hours=rows)


async def weekly_hours_of_staff(
    db: AsyncSession, principal: Principal, staff_member_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyHours]]:
    tenant = principal.require_tenant()
    statement = (
        sa.select(WeeklyHours.staff_member_id, WeeklyHours)
        .where(WeeklyHours.staff_member_id.in_(staff_member_ids), WeeklyHours.tenant_id == tenant.id)
        .order_by(WeeklyHours.weekday, WeeklyHours.start_time, WeeklyHours.is_break)
    )
    return group_rows((await db.execute(statement)).all())


async def add_schedule_override(
    db: AsyncSession,
    principal: Principal,
    *,
    staff_member_id: uuid.UUID,
    day: date,
    day_off: bool,
    start: time | None = None,
    end: time | None = None,
    note: str = "",
) -> ScheduleOverride:
    """On ``day``, a day off, or these hours instead of the weekly pattern. Several hour
    overrides of one day add up; they may not overlap, nor share the day with a day off."""
    tenant = require_catalog_manager(principal)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=True
    )
    note = clean_text(note, "note", max_length=200, min_length=0)
    check_day(day, "day")
    if day_off and (start is not None or end is not None):
        raise invalid("A day off has no hours; leave start and end out.", "start")
    if not day_off:
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise invalid("Give the hours of the day, or mark it a day off.", missing)
        check_wall_clock(start, "start")
        check_wall_clock(end, "end")
        if not start < end:
            raise invalid("The hours must end after they start, on the same day.", "end")
    same_day = (
        await db.execute(
            sa.select(ScheduleOverride).where(
                ScheduleOverride.staff_member_id == member.id,
                ScheduleOverride.tenant_id == tenant.id,
                ScheduleOverride.day == day,
            )
        )
    ).scalars()
    for existing in same_day:
        if existing.day_off:
            raise UserInputError(UserErrorCode.DUPLICATE, "This day already is a day off.", "day")
        if day_off:
            raise invalid("This day has override hours; remove them first.", "dayOff")
        if start < existing.end_time and existing.start_time < end:  # type: ignore[operator]
            raise invalid("Overlaps other override hours of this day.", "start")
    override = ScheduleOverride(
        tenant_id=tenant.id,
        staff_member_id=member.id,
        day=day,
        day_off=day_off,
        start_time=start,
        end_time=end,
        note=note,
    )
    db.add(override)
    await db.flush()
    start, end = local_day(member, day)
    await announce_schedule_change(db, member, "override_added", start=start, end=end)
    return override


async def remove_schedule_override(
    db: AsyncSession, principal: Principal, override_id: uuid.UUID
) -> uuid.UUID:
    tenant = require_catalog_manager(principal)
    override = await get_in_tenant(
        db, ScheduleOverride, override_id, tenant_id=tenant.id, label="schedule override"
    )
    member = await get_in_tenant(
        db, StaffMember, override.staff_member_id, tenant_id=tenant.id, label="staff member"
    )
    start, end = local_day(member, override.day)
    removed = await delete_in_tenant(
        db, principal, ScheduleOverride, override_id, label="schedule override"
    )
    await announce_schedule_change(db, member, "override_removed", start=start, end=end)
    return removed


def _check_window(start: object, end: object, span: timedelta) -> None:
    if not start < end:  # type: ignore[operator]
        raise InvalidRequest("'from' must come before 'to'.")
    if end - start > span:  # type: ignore[operator]
        raise InvalidRequest(f"Ask for at most {span.days} days at a time.")


async def schedule_overrides_of(
    db: AsyncSession,
    principal: Principal,
    staff_member_ids: list[uuid.UUID],
    first_day: date,
    last_day: date,
) -> dict[uuid.UUID, list[ScheduleOverride]]:
    """Overrides of the staff members from ``first_day`` to ``last_day``, both included."""
    tenant = principal.require_tenant()
    check_day(first_day, "from")
    check_day(last_day, "to")
    _check_window(first_day, last_day + timedelta(days=1), LONGEST_READ_WINDOW)
    statement = (
        sa.select(ScheduleOverride.staff_member_id, ScheduleOverride)
        .where(
            ScheduleOverride.staff_member_id.in_(staff_member_ids),
            ScheduleOverride.tenant_id == tenant.id,
            ScheduleOverride.day >= first_day,
            ScheduleOverride.day <= last_day,
        )
        .order_by(ScheduleOverride.day, ScheduleOverride.start_time, ScheduleOverride.id)
    )
    return group_rows((await db.execute(statement)).all())


async def visible_schedule_overrides(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ScheduleOverride]:
    """Overrides of the tenant's staff members that the principal may see."""
    tenant = principal.require_tenant()
    statement = (
        sa.select(ScheduleOverride)
        .join(StaffMember, StaffMember.id == ScheduleOverride.staff_member_id)
        .where(
            ScheduleOverride.id.in_(ids),
            ScheduleOverride.tenant_id == tenant.id,
            active_unless_manager(principal, StaffMember.active),
        )
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def add_time_off(
    db: AsyncSession,
    principal: Principal,
    *,
    staff_member_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> TimeOff:
    tenant = require_catalog_manager(principal)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member"
    )
    starts_at = check_instant(starts_at, "startsAt")
    ends_at = check_instant(ends_at, "endsAt")
    if not starts_at < ends_at:
        raise invalid("Time off must end after it starts.", "endsAt")
    if ends_at - starts_at > LONGEST_TIME_OFF:
        raise invalid(f"Time off lasts at most {LONGEST_TIME_OFF.days} days.", "endsAt")
    await _refuse_over_class_sessions(db, member, starts_at, ends_at, tenant.time_zone)
    time_off = TimeOff(
        tenant_id=tenant.id,
        staff_member_id=member.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=clean_text(reason, "reason", max_length=200, min_length=0),
    )
    db.add(time_off)
    await db.flush()
    await announce_schedule_change(db, member, "time_off_added", start=starts_at, end=ends_at)
    return time_off


async def _refuse_over_class_sessions(
    db: AsyncSession, member: StaffMember, starts_at: datetime, ends_at: datetime, zone: str
) -> None:
    """Time off over a class session the staff member teaches is refused, naming the sessions:
    a class has customers and no one else to teach it, so the business decides first (give it
    another instructor, move it, or cancel it, with its refunds and messages) rather than
    leave a class that nobody teaches on sale. Appointments are left as they are (as before).
    First queued on the staff member's day locks, which a session's claim holds until it
    commits: a session scheduled concurrently is seen here, or sees this time off."""
    await queue_for_time(db, f"staff:{member.id}", (starts_at, ends_at))
    sessions = (await db.execute(
        sa.select(ClassSession.start_time)
        .where(
            ClassSession.staff_id == member.id,
            ClassSession.status == ClassSessionStatus.SCHEDULED.value,
            ClassSession.start_time < ends_at, ClassSession.end_time > starts_at,
        )
        .order_by(ClassSession.start_time)
    )).scalars().all()
    if sessions:
        local = ZoneInfo(zone)
        listed = ", ".join(f"{start.astimezone(local):%Y-%m-%d %H:%M}" for start in sessions)
        raise UserInputError(
            UserErrorCode.CLASS_SESSIONS_SCHEDULED,
            f"{member.display_name} teaches class sessions then ({listed}): give them another "
            "instructor, move or cancel them first.",
            "startsAt",
        )


async def remove_time_off(
    db: AsyncSession, principal: Principal, time_off_id: uuid.UUID
) -> uuid.UUID:
    tenant = require_catalog_manager(principal)
    time_off = await get_in_tenant(db, TimeOff, time_off_id, tenant_id=tenant.id, label="time off")
    member = await get_in_tenant(
        db, StaffMember, time_off.staff_member_id, tenant_id=tenant.id, label="staff member"
    )
    start, end = time_off.starts_at, time_off.ends_at
    removed = await delete_in_tenant(db, principal, TimeOff, time_off_id, label="time off")
    await announce_schedule_change(db, member, "time_off_removed", start=start, end=end)
    return removed


async def time_off_of(
    db: AsyncSession,
    principal: Principal,
    staff_member_ids: list[uuid.UUID],
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, list[TimeOff]]:
    """The staff members' time off that overlaps [start, end), for those who manage them."""
    tenant = require_catalog_manager(principal)
    start, end = check_instant(start, "from"), check_instant(end, "to")
    _check_window(start, end, LONGEST_READ_WINDOW)
    statement = (
        sa.select(TimeOff.staff_member_id, TimeOff)
        .where(
            TimeOff.staff_member_id.in_(staff_member_ids),
            TimeOff.tenant_id == tenant.id,
            TimeOff.starts_at < end,
            TimeOff.ends_at > start,
        )
        .order_by(TimeOff.starts_at, TimeOff.id)
    )
    return group_rows((await db.execute(statement)).all())


async def visible_time_off(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, TimeOff]:
    """Of ``ids``, the tenant's time off, if the principal manages the catalogue; else none."""
    tenant = principal.require_tenant()
    if not manages_catalog(principal):
        return {}
    statement = sa.select(TimeOff).where(TimeOff.id.in_(ids), TimeOff.tenant_id == tenant.id)
    return {row.id: row for row in (await db.execute(statement)).scalars()}
