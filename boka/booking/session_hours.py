"""Class sessions keep to their instructor's working time: a session (one, a timetable's, or
one being moved or given another instructor) must lie inside the instructor's net working
time, by the same rules availability applies to appointments (their weekly hours and the
date overrides that replace them, minus breaks and time off; boka/booking/refusals.py).
A session outside it is refused with SLOT_UNAVAILABLE and the reasons (OUTSIDE_HOURS,
DAY_OFF, ON_BREAK, TIME_OFF); a timetable names every date that is."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import StaffCalendar, TimeRange
from boka.booking.calendars import load_schedules
from boka.booking.refusals import RefusalReason, working_time_refusals
from boka.errors import UserErrorCode, UserInputError
from boka.models.catalog import StaffMember
from boka.models.sessions import ClassSession

WHY = {
    RefusalReason.DAY_OFF: "has the day off",
    RefusalReason.OUTSIDE_HOURS: "is not working at this time",
    RefusalReason.ON_BREAK: "is on a break",
    RefusalReason.TIME_OFF: "has time off",
    RefusalReason.EXTERNAL_BUSY: "is busy in their own calendar",
}


async def off_duty(
    db: AsyncSession, staff_id: uuid.UUID, sessions: list[ClassSession]
) -> dict[uuid.UUID, tuple[RefusalReason, ...]]:
    """For each of ``sessions`` (all of one instructor) outside the instructor's working time,
    why: one statement for their schedules, whatever the number of sessions."""
    if not sessions:
        return {}
    zone = (await db.execute(
        sa.select(StaffMember.time_zone).where(StaffMember.id == staff_id)
    )).scalar_one()
    window = TimeRange(min(s.start_time for s in sessions), max(s.end_time for s in sessions))
    schedules = await load_schedules(db, [staff_id], window)
    calendar = StaffCalendar(
        staff_id=staff_id, time_zone=zone, weekly=tuple(schedules.weekly.get(staff_id, ())),
        overrides=tuple(schedules.overrides.get(staff_id, ())),
        time_off=tuple(schedules.time_off.get(staff_id, ())),
    )
    found = {}
    for session in sessions:
        refusals = working_time_refusals(calendar, session.start_time, session.end_time)
        if refusals:
            found[session.id] = tuple(dict.fromkeys(refusal.reason for refusal in refusals))
    return found


def off_duty_error(
    reasons: tuple[RefusalReason, ...], field: str, *, on: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> UserInputError:
    """SLOT_UNAVAILABLE with the reasons; ``on`` (a timetable's session) names its date."""
    when = f"On {on.astimezone(zone).date().isoformat()}: " if on is not None else ""
    why = " and ".join(WHY.get(reason, reason.value) for reason in reasons)
    return UserInputError(
        UserErrorCode.SLOT_UNAVAILABLE, f"{when}The instructor {why}.", field,
        reasons=tuple(reason.value for reason in reasons),
    )
