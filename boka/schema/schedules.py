"""GraphQL types of staff schedules: the weekly pattern, date overrides and time off."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from boka.booking.schedules import visible_schedule_overrides, visible_time_off
from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes

if TYPE_CHECKING:
    from boka.schema.catalog import StaffMemberType


@strawberry.type(name="WeeklyHours", description="A recurring interval of work, or a break.")
class WeeklyHoursType:
    weekday: int = strawberry.field(description="0 is Monday, 6 is Sunday.")
    start: time = strawberry.field(description="Local wall-clock time in the staff's zone.")
    end: time
    is_break: bool

    @classmethod
    def from_model(cls, row: WeeklyHours) -> WeeklyHoursType:
        return cls(
            weekday=row.weekday, start=row.start_time, end=row.end_time, is_break=row.is_break
        )


@strawberry.type(
    name="ScheduleOverride",
    description="Replaces the weekly pattern on one date: a day off, or these hours instead.",
)
class ScheduleOverrideType(relay.Node):
    id: relay.NodeID[str]
    day: date
    day_off: bool
    start: time | None
    end: time | None
    note: str

    @classmethod
    def from_model(cls, row: ScheduleOverride) -> ScheduleOverrideType:
        return cls(
            id=str(row.id),
            day=row.day,
            day_off=row.day_off,
            start=row.start_time,
            end=row.end_time,
            note=row.note,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ScheduleOverrideType | None]:
        return await resolve_visible_nodes(
            info, node_ids, visible_schedule_overrides, cls.from_model
        )


@strawberry.type(name="TimeOff", description="A range of time a staff member is away.")
class TimeOffType(relay.Node):
    id: relay.NodeID[str]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime

    @classmethod
    def from_model(cls, row: TimeOff) -> TimeOffType:
        return cls(
            id=str(row.id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            reason=row.reason,
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[TimeOffType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_time_off, cls.from_model)


@strawberry.input
class WeeklyHoursInput:
    weekday: int = strawberry.field(description="0 is Monday, 6 is Sunday.")
    start: time
    end: time
    is_break: bool = False


@strawberry.input
class SetWeeklyHoursInput:
    staff_member_id: relay.GlobalID
    intervals: list[WeeklyHoursInput] = strawberry.field(
        description="The whole week; it replaces the one stored. Breaks lie inside work hours."
    )


@strawberry.input
class AddScheduleOverrideInput:
    staff_member_id: relay.GlobalID
    day: date
    day_off: bool = False
    start: time | None = None
    end: time | None = None
    note: str = ""


@strawberry.input
class RemoveScheduleOverrideInput:
    id: relay.GlobalID


@strawberry.input
class AddTimeOffInput:
    staff_member_id: relay.GlobalID
    starts_at: datetime
    ends_at: datetime
    reason: str = ""


@strawberry.input
class RemoveTimeOffInput:
    id: relay.GlobalID


@strawberry.type
class SetWeeklyHoursPayload:
    staff_member: (
        Annotated[StaffMemberType, strawberry.lazy("boka.schema.catalog")] | None
    ) = None
    weekly_hours: list[WeeklyHoursType] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ScheduleOverridePayload:
    schedule_override: ScheduleOverrideType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveScheduleOverridePayload:
    removed_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TimeOffPayload:
    time_off: TimeOffType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveTimeOffPayload:
    removed_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
