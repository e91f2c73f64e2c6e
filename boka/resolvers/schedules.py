"""Resolvers for staff schedules: the weekly pattern, date overrides and time off. Thin: decode
the input → call ``boka.booking.schedules`` → map rows to types."""

from __future__ import annotations

from strawberry import relay

from boka.booking import schedules
from boka.resolvers.context import Info
from boka.schema.catalog import StaffMemberType
from boka.schema.ids import row_id
from boka.schema.schedules import (
    AddScheduleOverrideInput,
    AddTimeOffInput,
    RemoveScheduleOverrideInput,
    RemoveScheduleOverridePayload,
    RemoveTimeOffInput,
    RemoveTimeOffPayload,
    ScheduleOverridePayload,
    ScheduleOverrideType,
    SetWeeklyHoursInput,
    SetWeeklyHoursPayload,
    TimeOffPayload,
    TimeOffType,
    WeeklyHoursType,
)
from boka.schema.transactions import write


async def set_weekly_hours(info: Info, input: SetWeeklyHoursInput) -> SetWeeklyHoursPayload:
    staff_member_id = input.staff_member_id
    intervals = [
        schedules.HoursInterval(
            weekday=interval.weekday,
            start=interval.start,
            end=interval.end,
            is_break=interval.is_break,
        )
        for interval in input.intervals
    ]
    week, errors = await write(
        info,
        lambda db, p: schedules.set_weekly_hours(
            db, p, row_id(staff_member_id, "StaffMember", "staffMemberId"), intervals
        ),
    )
    if week is None:
        return SetWeeklyHoursPayload(errors=errors)
    return SetWeeklyHoursPayload(
        staff_member=StaffMemberType.from_model(week.staff_member),
        weekly_hours=[WeeklyHoursType.from_model(row) for row in week.hours],
    )


async def add_schedule_override(
    info: Info, input: AddScheduleOverrideInput
) -> ScheduleOverridePayload:
    row, errors = await write(
        info,
        lambda db, p: schedules.add_schedule_override(
            db,
            p,
            staff_member_id=row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
            day=input.day,
            day_off=input.day_off,
            start=input.start,
            end=input.end,
            note=input.note,
        ),
    )
    override = ScheduleOverrideType.from_model(row) if row else None
    return ScheduleOverridePayload(schedule_override=override, errors=errors)


async def remove_schedule_override(
    info: Info, input: RemoveScheduleOverrideInput
) -> RemoveScheduleOverridePayload:
    removed, errors = await write(
        info,
        lambda db, p: schedules.remove_schedule_override(
            db, p, row_id(input.id, "ScheduleOverride", "id")
        ),
    )
    removed_id = relay.GlobalID("ScheduleOverride", str(removed)) if removed else None
    return RemoveScheduleOverridePayload(removed_id=removed_id, errors=errors)


async def add_time_off(info: Info, input: AddTimeOffInput) -> TimeOffPayload:
    row, errors = await write(
        info,
        lambda db, p: schedules.add_time_off(
            db,
            p,
            staff_member_id=row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            reason=input.reason,
        ),
    )
    time_off = TimeOffType.from_model(row) if row else None
    return TimeOffPayload(time_off=time_off, errors=errors)


async def remove_time_off(info: Info, input: RemoveTimeOffInput) -> RemoveTimeOffPayload:
    removed, errors = await write(
        info, lambda db, p: schedules.remove_time_off(db, p, row_id(input.id, "TimeOff", "id"))
    )
    removed_id = relay.GlobalID("TimeOff", str(removed)) if removed else None
    return RemoveTimeOffPayload(removed_id=removed_id, errors=errors)
