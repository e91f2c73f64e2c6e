"""Staff schedules over the API: a week is replaced whole or not at all, and overrides and
time off are checked before anything is written."""

from __future__ import annotations

from boka.models.schedules import ScheduleOverride, TimeOff, WeeklyHours
from tests.booking.catalog_support import (
    ADD_OVERRIDE,
    ADD_TIME_OFF,
    SET_WEEK,
    count,
    make_staff_member,
    open_salon,
    payload,
    user_errors,
)
from tests.support import GraphQLClient, World

WEEK = """query W($id: ID!) { node(id: $id) { ... on StaffMember {
  weeklyHours { weekday start end isBreak } } } }"""
REMOVE_OVERRIDE = """mutation R($input: RemoveScheduleOverrideInput!) {
  removeScheduleOverride(input: $input) { removedId errors { code } } }"""
REMOVE_TIME_OFF = """mutation R($input: RemoveTimeOffInput!) {
  removeTimeOff(input: $input) { removedId errors { code } } }"""


def hours(weekday: int, start: str, end: str, *, is_break: bool = False) -> dict[str, object]:
    return {"weekday": weekday, "start": f"{start}:00", "end": f"{end}:00", "isBreak": is_break}


INVALID_WEEKS = {
    "intervals.1": [hours(3, "09:00", "13:00"), hours(3, "12:00", "18:00")],  # overlap
    "intervals.2": [  # a break across the gap between two work intervals
        hours(4, "09:00", "12:00"),
        hours(4, "13:00", "17:00"),
        hours(4, "11:30", "13:30", is_break=True),
    ],
    "intervals.0": [hours(2, "10:00", "11:00", is_break=True)],  # a break on a day off
    "intervals.1.weekday": [hours(2, "10:00", "11:00"), hours(7, "10:00", "11:00")],
    "intervals.0.end": [hours(2, "18:00", "09:00")],
}


async def test_set_weekly_hours_replaces_the_week_or_changes_nothing(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    staff_id = await make_staff_member(gql, salon)
    first_week = [
        hours(0, "09:00", "17:00"),
        hours(0, "12:00", "13:00", is_break=True),
        hours(1, "09:00", "12:00"),
        hours(1, "12:00", "15:00"),  # touching is not overlapping
    ]
    set_first = await salon.manage(
        gql, SET_WEEK, {"staffMemberId": staff_id, "intervals": first_week}
    )
    assert payload(set_first, "setWeeklyHours")["errors"] == []

    for field, week in INVALID_WEEKS.items():
        result = payload(
            await salon.manage(gql, SET_WEEK, {"staffMemberId": staff_id, "intervals": week}),
            "setWeeklyHours",
        )
        assert result["weeklyHours"] is None
        assert user_errors(result) == [(field, "INVALID_INPUT")], field
        stored = await gql(WEEK, {"id": staff_id}, tenant="salon")
        assert stored.data["node"]["weeklyHours"] == first_week, field

    replaced = await salon.manage(
        gql, SET_WEEK, {"staffMemberId": staff_id, "intervals": [hours(5, "10:00", "14:00")]}
    )
    assert payload(replaced, "setWeeklyHours")["errors"] == []
    stored = await gql(WEEK, {"id": staff_id}, tenant="salon")
    assert stored.data["node"]["weeklyHours"] == [hours(5, "10:00", "14:00")]
    cleared = await salon.manage(gql, SET_WEEK, {"staffMemberId": staff_id, "intervals": []})
    assert payload(cleared, "setWeeklyHours") == {"weeklyHours": [], "errors": []}
    assert await count(world, WeeklyHours) == 0


async def test_overrides_are_checked_and_removable(gql: GraphQLClient, world: World) -> None:
    salon = await open_salon(world)
    staff_id = await make_staff_member(gql, salon)
    day = {"staffMemberId": staff_id, "day": "2030-06-03"}
    invalid = [
        ({**day, "start": "10:00:00"}, "end"),
        ({**day, "start": "14:00:00", "end": "10:00:00"}, "end"),
        ({**day, "dayOff": True, "start": "10:00:00", "end": "12:00:00"}, "start"),
        ({**day, "dayOff": True, "note": "n" * 201}, "note"),
    ]

    for input, field in invalid:
        result = payload(await salon.manage(gql, ADD_OVERRIDE, input), "addScheduleOverride")
        assert user_errors(result) == [(field, "INVALID_INPUT")], input
    assert await count(world, ScheduleOverride) == 0
    day_off = payload(
        await salon.manage(gql, ADD_OVERRIDE, {**day, "dayOff": True}), "addScheduleOverride"
    )
    twice = payload(
        await salon.manage(gql, ADD_OVERRIDE, {**day, "dayOff": True}), "addScheduleOverride"
    )
    override_id = day_off["scheduleOverride"]["id"]
    by_staff = await gql(
        REMOVE_OVERRIDE, {"input": {"id": override_id}}, token=salon.staff.token, tenant="salon"
    )
    removed = await salon.manage(gql, REMOVE_OVERRIDE, {"id": override_id})
    removed_again = await salon.manage(gql, REMOVE_OVERRIDE, {"id": override_id})

    assert day_off["scheduleOverride"]["dayOff"] is True
    assert user_errors(twice) == [("day", "DUPLICATE")]
    assert by_staff.error_codes == ["FORBIDDEN"]
    assert removed.data["removeScheduleOverride"] == {"removedId": override_id, "errors": []}
    assert removed_again.error_codes == ["NOT_FOUND"]
    assert await count(world, ScheduleOverride) == 0


async def test_time_off_is_checked_and_removable(gql: GraphQLClient, world: World) -> None:
    salon = await open_salon(world)
    staff_id = await make_staff_member(gql, salon)
    base = {"staffMemberId": staff_id, "reason": "Course"}
    invalid = [
        ({**base, "startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}, "endsAt"),
        ({**base, "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2031-01-03T00:00:00Z"}, "endsAt"),
        ({**base, "startsAt": "2030-01-01T00:00:00", "endsAt": "2030-01-02T00:00:00Z"}, "startsAt"),
        ({**base, "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z",
          "reason": "r" * 201}, "reason"),
    ]

    for input, field in invalid:
        result = payload(await salon.manage(gql, ADD_TIME_OFF, input), "addTimeOff")
        assert user_errors(result) == [(field, "INVALID_INPUT")], input
    assert await count(world, TimeOff) == 0
    longest = {**base, "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2031-01-02T00:00:00Z"}
    added = payload(await salon.manage(gql, ADD_TIME_OFF, longest), "addTimeOff")
    time_off_id = added["timeOff"]["id"]
    removed = await salon.manage(gql, REMOVE_TIME_OFF, {"id": time_off_id})

    assert removed.data["removeTimeOff"] == {"removedId": time_off_id, "errors": []}
    assert await count(world, TimeOff) == 0
