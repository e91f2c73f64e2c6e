"""Class sessions keep to their instructor's working time (PostgreSQL): outside their hours,
on a break, on a day off or in time off a session is refused with the reasons availability
gives; a timetable names every date that cannot be held and makes none; time off over a
session the instructor teaches is refused, naming the sessions."""

from __future__ import annotations

from datetime import time, timedelta

from boka.models.schedules import ScheduleOverride, TimeOff
from boka.models.tenancy import Role
from tests.booking.class_session_support import (
    CREATE_SESSION,
    CREATE_TIMETABLE,
    SESSIONS,
    UPDATE_SESSION,
    schedule,
)
from tests.booking.support import ZONE, BookingWorld, future_day, local
from tests.support import GraphQLClient, World

ERRORS = "errors { field code message reasons }"
CREATE = CREATE_SESSION.replace("errors { field code message }", ERRORS)
TIMETABLE = CREATE_TIMETABLE.replace("errors { field code message }", ERRORS)
UPDATE = UPDATE_SESSION.replace("errors { field code message }", ERRORS)
ADD_TIME_OFF = f"""mutation($input: AddTimeOffInput!) {{ addTimeOff(input: $input) {{
  timeOff {{ id }} {ERRORS} }} }}"""


async def _yoga(world: World, **fields: object):  # type: ignore[no-untyped-def]
    """Two instructors working 09:00-17:00 with a lunch break 12:00-13:00 every day."""
    tenant = await world.tenant("studio", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(
        tenant, name="Yoga", capacity=8, price_cents=1500, staff_count=2,
        breaks=((time(12), time(13)),), **fields
    )
    owner = await world.person(tenant, Role.OWNER)
    return tenant, staffed, owner


def _refusals(payload: dict) -> list[tuple]:
    return [(e["field"], e["code"], e["reasons"]) for e in payload["errors"]]


async def test_a_session_outside_the_instructors_working_time_is_refused(
    gql: GraphQLClient, world: World
) -> None:
    tenant, yoga, owner = await _yoga(world)
    day, off_day = future_day(3), future_day(4)
    staff = yoga.staff[0].id
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=staff, starts_at=local(day, 14),
                       ends_at=local(day, 16), reason="dentist"))
        db.add(ScheduleOverride(tenant_id=tenant.id, staff_member_id=staff, day=off_day, day_off=True))

    async def create(start) -> dict:  # type: ignore[no-untyped-def]
        result = await gql(CREATE, {"input": {"serviceId": yoga.service_id, "staffId": yoga.staff_id(),
                                              "start": start.isoformat()}}, token=owner.token, tenant="studio")
        return result.data["createClassSession"]

    early, late, lunch, dentist, holiday = [
        await create(start) for start in (local(day, 7), local(day, 16, 30), local(day, 11, 30),
                                          local(day, 15), local(off_day, 10))
    ]
    fine = await create(local(day, 10))

    assert _refusals(early) == [("start", "SLOT_UNAVAILABLE", ["OUTSIDE_HOURS"])]
    assert early["errors"][0]["message"] == "The instructor is not working at this time."
    assert _refusals(late) == [("start", "SLOT_UNAVAILABLE", ["OUTSIDE_HOURS"])]
    assert _refusals(lunch) == [("start", "SLOT_UNAVAILABLE", ["ON_BREAK"])]
    assert _refusals(dentist) == [("start", "SLOT_UNAVAILABLE", ["TIME_OFF"])]
    assert _refusals(holiday) == [("start", "SLOT_UNAVAILABLE", ["DAY_OFF"])]
    assert fine["errors"] == []
    listed = await gql(SESSIONS, {"service": yoga.service_id, "from": local(day, 0).isoformat(),
                                  "to": local(off_day, 23).isoformat()}, token=owner.token, tenant="studio")
    assert len(listed.data["classSessions"]) == 1


async def test_a_timetable_names_every_date_it_cannot_hold_and_makes_none(
    gql: GraphQLClient, world: World
) -> None:
    tenant, yoga, owner = await _yoga(world)
    first = future_day(3)
    days = [first + timedelta(days=n) for n in range(7)]
    staff = yoga.staff[0].id
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(ScheduleOverride(tenant_id=tenant.id, staff_member_id=staff, day=days[2], day_off=True))
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=staff, starts_at=local(days[5], 8),
                       ends_at=local(days[5], 11)))
    # another class of the instructor already holds 10:00 on the fourth day
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(days[3], 10))

    result = await gql(TIMETABLE, {"input": {
        "serviceId": yoga.service_id, "staffId": yoga.staff_id(), "weekdays": list(range(7)),
        "localTime": "10:00:00", "fromDate": days[0].isoformat(), "untilDate": days[6].isoformat()}},
        token=owner.token, tenant="studio")

    payload = result.data["createClassTimetable"]
    assert payload["classSessions"] == []
    assert [(e["field"], e["code"], e["message"][:13], e["reasons"]) for e in payload["errors"]] == [
        ("fromDate", "SLOT_UNAVAILABLE", f"On {days[2].isoformat()}", ["DAY_OFF"]),
        ("fromDate", "SLOT_UNAVAILABLE", f"On {days[3].isoformat()}", ["BOOKED"]),
        ("fromDate", "SLOT_UNAVAILABLE", f"On {days[5].isoformat()}", ["TIME_OFF"]),
    ]
    listed = await gql(SESSIONS, {"service": yoga.service_id, "from": local(days[0], 0).isoformat(),
                                  "to": local(days[6], 23).isoformat()}, token=owner.token, tenant="studio")
    assert len(listed.data["classSessions"]) == 1  # only the one made before


async def test_moving_a_session_or_changing_its_instructor_keeps_to_working_time(
    gql: GraphQLClient, world: World
) -> None:
    tenant, yoga, owner = await _yoga(world)
    day = future_day(3)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=yoga.staff[1].id,
                       starts_at=local(day, 0), ends_at=local(day + timedelta(days=1), 0)))
    session = await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(0), local(day, 10))

    too_late = await gql(UPDATE, {"input": {"id": session["id"], "start": local(day, 18).isoformat()}},
                         token=owner.token, tenant="studio")
    away = await gql(UPDATE, {"input": {"id": session["id"], "staffId": yoga.staff_id(1)}},
                     token=owner.token, tenant="studio")
    fine = await gql(UPDATE, {"input": {"id": session["id"], "start": local(day, 14).isoformat()}},
                     token=owner.token, tenant="studio")

    assert _refusals(too_late.data["updateClassSession"]) == [("start", "SLOT_UNAVAILABLE", ["OUTSIDE_HOURS"])]
    assert _refusals(away.data["updateClassSession"]) == [("staffId", "SLOT_UNAVAILABLE", ["TIME_OFF"])]
    assert fine.data["updateClassSession"]["errors"] == []


async def test_time_off_over_a_session_the_instructor_teaches_is_refused(
    gql: GraphQLClient, world: World
) -> None:
    _tenant, yoga, owner = await _yoga(world)
    day = future_day(3)
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(0), local(day, 10))
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(0), local(day, 15))

    def time_off(staff_index: int, start, end) -> dict:  # type: ignore[no-untyped-def]
        return {"input": {"staffMemberId": yoga.staff_id(staff_index), "startsAt": start.isoformat(),
                          "endsAt": end.isoformat(), "reason": "ill"}}

    refused = await gql(ADD_TIME_OFF, time_off(0, local(day, 8), local(day, 17)), token=owner.token, tenant="studio")
    other_instructor = await gql(ADD_TIME_OFF, time_off(1, local(day, 8), local(day, 17)),
                                 token=owner.token, tenant="studio")
    between = await gql(ADD_TIME_OFF, time_off(0, local(day, 13), local(day, 15)), token=owner.token, tenant="studio")

    [error] = refused.data["addTimeOff"]["errors"]
    assert (error["field"], error["code"]) == ("startsAt", "CLASS_SESSIONS_SCHEDULED")
    assert f"{day.isoformat()} 10:00, {day.isoformat()} 15:00" in error["message"]
    assert refused.data["addTimeOff"]["timeOff"] is None
    assert other_instructor.data["addTimeOff"]["errors"] == []
    assert between.data["addTimeOff"]["errors"] == []  # ends as the 15:00 class starts


async def test_a_session_and_time_off_racing_for_one_hour_never_both_stand(
    gql: GraphQLClient, world: World
) -> None:
    """PostgreSQL, concurrent requests: scheduling a class and adding the instructor's time off
    over it queue on the same per-day locks, so one of them sees the other and is refused."""
    import asyncio

    _tenant, yoga, owner = await _yoga(world)
    outcomes = []
    for round_ in range(8):
        day = future_day(3 + round_)
        session, time_off = await asyncio.gather(
            gql(CREATE, {"input": {"serviceId": yoga.service_id, "staffId": yoga.staff_id(),
                                   "start": local(day, 10).isoformat()}}, token=owner.token, tenant="studio"),
            gql(ADD_TIME_OFF, {"input": {"staffMemberId": yoga.staff_id(), "startsAt": local(day, 9).isoformat(),
                                         "endsAt": local(day, 12).isoformat()}}, token=owner.token, tenant="studio"),
        )
        outcomes.append((session.data["createClassSession"]["errors"] == [],
                         time_off.data["addTimeOff"]["errors"] == []))

    assert all(made != off for made, off in outcomes), outcomes  # exactly one of the two, each time
