"""explainSlot over GraphQL, and the reasons SLOT_UNAVAILABLE errors carry: past times, min
notice, starts off the grid, a slot another booking takes (whose id only those who may see
that booking get), time off (whose times only managers get), a full class; and explainSlot
agreeing with availability over a whole day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from boka.models.schedules import TimeOff
from boka.models.tenancy import Role
from tests.booking.class_session_support import book, schedule
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.support import GraphQLClient, World

EXPLAIN = """query Explain($service: ID!, $start: DateTime!, $staff: ID) {
  explainSlot(serviceId: $service, start: $start, staffId: $staff) {
    start bookable
    staff { staffId bookable reasons staff { displayName }
            refusals { reason bookingId classSessionId startsAt endsAt } }
  }
}"""
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { field code message reasons } } }"""
RESCHEDULE = """mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id } errors { field code reasons } } }"""
AVAILABILITY = """query Slots($service: ID!, $from: DateTime!, $to: DateTime!) {
  availability(serviceId: $service, from: $from, to: $to) { start staff { id } } }"""


async def explain(gql: GraphQLClient, service_id: str, start, token: str | None = None,
                  staff: str | None = None) -> dict:
    result = await gql(EXPLAIN, {"service": service_id, "start": start.isoformat(), "staff": staff},
                       token=token, tenant="salon")
    assert not result.errors, result.errors
    return result.data["explainSlot"]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def reasons(explained: dict) -> list[list[str]]:
    return [member["reasons"] for member in explained["staff"]]


async def create(gql: GraphQLClient, service_id: str, start, token: str | None = None,
                 email: str = "x@example.com") -> dict:
    result = await gql(CREATE, {"input": {"serviceId": service_id, "start": start.isoformat(),
                                          "customer": {"email": email}}},
                       token=token, tenant="salon")
    assert not result.errors, result.errors
    return result.data["createBooking"]


async def test_a_bookable_start_has_no_reason(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    explained = await explain(gql, staffed.service_id, local(future_day(), 10))
    assert explained["bookable"] is True
    assert explained["staff"] == [{
        "staffId": staffed.staff_id(), "bookable": True, "reasons": [],
        "staff": {"displayName": "Staff 0"}, "refusals": [],
    }]


async def test_past_times_and_min_notice(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, min_notice_minutes=5 * 24 * 60)
    past = local(future_day(-2), 10)
    soon = local(future_day(2), 10)

    assert reasons(await explain(gql, staffed.service_id, past)) == [["IN_PAST"]]
    assert reasons(await explain(gql, staffed.service_id, soon)) == [["MIN_NOTICE"]]
    refused = await create(gql, staffed.service_id, soon)
    assert refused["errors"] == [{
        "field": "start", "code": "SLOT_UNAVAILABLE", "message": "This time is no longer available.",
        "reasons": ["MIN_NOTICE"],
    }]
    assert (await create(gql, staffed.service_id, past))["errors"][0]["reasons"] == ["IN_PAST"]


async def test_off_the_grid_outside_hours_and_on_a_break(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, breaks=((time(12), time(13)),))
    day = future_day()
    cases = {(10, 10): "OFF_INTERVAL", (16, 30): "OUTSIDE_HOURS", (8, 0): "OUTSIDE_HOURS",
             (11, 30): "ON_BREAK"}
    for (hour, minute), reason in cases.items():
        start = local(day, hour, minute)
        assert reasons(await explain(gql, staffed.service_id, start)) == [[reason]], start
        assert (await create(gql, staffed.service_id, start))["errors"][0]["reasons"] == [reason]


async def test_a_taken_slot_names_the_booking_to_those_who_may_see_it(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, buffer_after_minutes=30)
    owner = await world.person(tenant, Role.OWNER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    dora = await world.person(tenant, Role.CUSTOMER, email="dora@example.com")
    day = future_day()
    made = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                        "start": local(day, 11).isoformat()}},
                     token=carl.token, tenant="salon")
    booking_id = made.data["createBooking"]["booking"]["id"]

    by_owner = await explain(gql, staffed.service_id, local(day, 11), owner.token)
    assert by_owner["bookable"] is False
    assert by_owner["staff"][0]["refusals"] == [{
        "reason": "BOOKED", "bookingId": booking_id, "classSessionId": None,
        "startsAt": utc(local(day, 11)), "endsAt": utc(local(day, 12)),
    }]
    by_staff = await explain(gql, staffed.service_id, local(day, 11), staffed.people[0].token)
    by_carl = await explain(gql, staffed.service_id, local(day, 10, 30), carl.token)
    by_dora = await explain(gql, staffed.service_id, local(day, 11), dora.token)
    anonymous = await explain(gql, staffed.service_id, local(day, 11))
    assert by_staff["staff"][0]["refusals"][0]["bookingId"] == booking_id  # assigned to them
    assert by_carl["staff"][0]["refusals"][0]["bookingId"] == booking_id  # their own
    for hidden in (by_dora, anonymous):
        assert hidden["staff"][0]["refusals"] == [{
            "reason": "BOOKED", "bookingId": None, "classSessionId": None, "startsAt": None,
            "endsAt": None,
        }]
    # 12:00 misses the appointment but not the 30 minutes after it
    assert reasons(await explain(gql, staffed.service_id, local(day, 12))) == [["BUFFER"]]

    second = await create(gql, staffed.service_id, local(day, 11), owner.token, "b@example.com")
    assert second["errors"] == [{
        "field": "start", "code": "SLOT_UNAVAILABLE", "message": "This time is no longer available.",
        "reasons": ["BOOKED"],
    }]
    other = await create(gql, staffed.service_id, local(day, 15), owner.token, "c@example.com")
    moved = await gql(RESCHEDULE, {"input": {"id": other["booking"]["id"],
                                             "start": local(day, 12).isoformat()}},
                      token=owner.token, tenant="salon")
    assert moved.data["rescheduleBooking"]["errors"] == [
        {"field": "start", "code": "SLOT_UNAVAILABLE", "reasons": ["BUFFER"]}
    ]


async def test_time_off_shows_its_times_to_managers_only(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=staffed.staff[0].id,
                       starts_at=local(day, 13), ends_at=local(day, 15), reason="Dentist"))

    by_owner = await explain(gql, staffed.service_id, local(day, 14), owner.token)
    anonymous = await explain(gql, staffed.service_id, local(day, 14))
    assert reasons(by_owner) == [["TIME_OFF"]] == reasons(anonymous)
    off = by_owner["staff"][0]["refusals"][0]
    assert (off["startsAt"], off["endsAt"]) == (utc(local(day, 13)), utc(local(day, 15)))
    assert anonymous["staff"][0]["refusals"][0]["startsAt"] is None
    assert (await create(gql, staffed.service_id, local(day, 12, 30)))["errors"][0]["reasons"] == [
        "TIME_OFF"
    ]


async def test_a_full_class(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    yoga = await BookingWorld(world).staffed_service(tenant, name="Yoga", capacity=2)
    owner = await world.person(tenant, Role.OWNER)
    start = local(future_day(), 10)
    session = await schedule(gql, owner.token, "salon", yoga.service_id, yoga.staff_id(), start)
    assert reasons(await explain(gql, yoga.service_id, start)) == [[]]
    assert reasons(await explain(gql, yoga.service_id, start + timedelta(hours=1))) == [
        ["OUTSIDE_HOURS"]
    ]
    assert (await book(gql, owner.token, "salon", yoga.service_id, start, "a@example.com"))[
        "errors"] == []
    # one seat left: two are too many, and say so
    pair = await gql(CREATE, {"input": {"serviceId": yoga.service_id, "start": start.isoformat(),
                                        "seats": 2, "customer": {"email": "p@example.com"}}},
                     token=owner.token, tenant="salon")
    assert pair.data["createBooking"]["errors"][0]["reasons"] == ["CLASS_FULL"]
    assert (await book(gql, owner.token, "salon", yoga.service_id, start, "b@example.com"))[
        "errors"] == []

    explained = await explain(gql, yoga.service_id, start, owner.token)
    assert explained["bookable"] is False
    assert reasons(explained) == [["CLASS_FULL"]]
    full = await book(gql, owner.token, "salon", yoga.service_id, start, "c@example.com")
    assert full["errors"] == [{"field": "start", "code": "SLOT_UNAVAILABLE"}]
    refused = await create(gql, yoga.service_id, start, owner.token, "c@example.com")
    assert refused["errors"][0]["reasons"] == ["CLASS_FULL"]
    assert session["seatsLeft"] == 2


async def test_explanations_agree_with_availability_over_a_day(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant, buffer_before_minutes=15)
    await booking_world.add_staff(tenant, staffed)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    for hour, email in ((10, "a@example.com"), (13, "b@example.com")):
        assert (await create(gql, staffed.service_id, local(day, hour), owner.token, email))[
            "errors"] == []
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(TimeOff(tenant_id=tenant.id, staff_member_id=staffed.staff[1].id,
                       starts_at=local(day, 9), ends_at=local(day, 11, 30)))
    slots = await gql(AVAILABILITY, {"service": staffed.service_id, "from": local(day, 0).isoformat(),
                                     "to": local(day, 23, 59).isoformat()}, tenant="salon")
    offered = {(datetime.fromisoformat(slot["start"]), member["id"]) for slot in slots.data["availability"]
               for member in slot["staff"]}
    assert offered
    start = local(day, 7)
    while start < local(day, 18):
        explained = await explain(gql, staffed.service_id, start)
        for member in explained["staff"]:
            key = (start, member["staffId"])
            assert (key in offered) == member["bookable"] == (member["reasons"] == []), key
        start += timedelta(minutes=15)


async def test_a_staff_member_who_does_not_perform_it_and_other_tenants(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant)
    colour = await booking_world.staffed_service(tenant, name="Colour")
    other = await world.tenant("other")
    foreign = await booking_world.staffed_service(other)
    start = local(future_day(), 10)

    explained = await explain(gql, staffed.service_id, start, staff=colour.staff_id())
    assert reasons(explained) == [["NOT_ASSIGNED"]]
    for service, staff in ((foreign.service_id, None), (staffed.service_id, foreign.staff_id())):
        result = await gql(EXPLAIN, {"service": service, "start": start.isoformat(), "staff": staff},
                           tenant="salon")
        assert result.error_codes == ["NOT_FOUND"]
    wrong = await gql(EXPLAIN, {"service": gid("Booking", staffed.service.id),
                                "start": start.isoformat()}, tenant="salon")
    assert wrong.error_codes == ["VALIDATION_ERROR"]


CREATE_SESSION = """mutation($input: CreateClassSessionInput!) {
  createClassSession(input: $input) { classSession { id } errors { field code reasons } } }"""


async def test_class_sessions_hold_their_instructor_and_room(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    booking_world = BookingWorld(world)
    yoga = await booking_world.staffed_service(tenant, name="Yoga", capacity=8)
    await booking_world.add_staff(tenant, yoga)
    room = await booking_world.room(tenant, yoga.service)
    haircut = await booking_world.staffed_service(tenant)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        from boka.models.catalog import StaffService

        db.add(StaffService(tenant_id=tenant.id, staff_member_id=yoga.staff[0].id,
                            service_id=haircut.service.id))
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    session = await schedule(gql, owner.token, "salon", yoga.service_id, yoga.staff_id(),
                             local(day, 10), roomId=gid("Resource", room.id))

    # an appointment with the instructor while they teach: the session, which anyone may see
    explained = await explain(gql, haircut.service_id, local(day, 10, 30), staff=yoga.staff_id())
    assert explained["staff"][0]["refusals"] == [{
        "reason": "BOOKED", "bookingId": None, "classSessionId": session["id"],
        "startsAt": utc(local(day, 10)), "endsAt": utc(local(day, 11)),
    }]

    async def create_session(staff: str, **extra: object) -> list[dict]:
        result = await gql(CREATE_SESSION, {"input": {
            "serviceId": yoga.service_id, "staffId": staff, "start": local(day, 10, 30).isoformat(),
            **extra}}, token=owner.token, tenant="salon")
        return result.data["createClassSession"]["errors"]

    assert await create_session(yoga.staff_id()) == [
        {"field": "start", "code": "SLOT_UNAVAILABLE", "reasons": ["BOOKED"]}
    ]
    assert await create_session(yoga.staff_id(1), roomId=gid("Resource", room.id)) == [
        {"field": "start", "code": "SLOT_UNAVAILABLE", "reasons": ["RESOURCE_BUSY"]}
    ]


async def test_a_pending_booking_holds_and_an_inactive_service_is_for_managers(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, requires_confirmation=True)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    assert (await create(gql, staffed.service_id, local(day, 10), owner.token))["errors"] == []
    assert reasons(await explain(gql, staffed.service_id, local(day, 10, 30))) == [["HELD"]]
    refused = await create(gql, staffed.service_id, local(day, 10), owner.token, "b@example.com")
    assert refused["errors"][0]["reasons"] == ["HELD"]

    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        service = await db.get(type(staffed.service), staffed.service.id)
        service.active = False
    by_owner = await explain(gql, staffed.service_id, local(day, 14), owner.token)
    assert reasons(by_owner) == [["SERVICE_INACTIVE"]]
    anonymous = await gql(EXPLAIN, {"service": staffed.service_id,
                                    "start": local(day, 14).isoformat()}, tenant="salon")
    assert anonymous.error_codes == ["NOT_FOUND"]


@pytest.mark.sqlite
async def test_explanations_on_sqlite(gql: GraphQLClient, world: World) -> None:
    """The embedded mode reads the same detailed busy rows (a booking, a room it holds)."""
    tenant = await world.tenant("salon")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant, requires_confirmation=True)
    await booking_world.room(tenant, staffed.service)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    made = await create(gql, staffed.service_id, local(day, 10), owner.token)
    assert made["errors"] == []
    explained = await explain(gql, staffed.service_id, local(day, 10), owner.token)
    assert [(r["reason"], r["bookingId"]) for r in explained["staff"][0]["refusals"]] == [
        ("HELD", made["booking"]["id"]), ("RESOURCE_BUSY", made["booking"]["id"])
    ]
    again = await create(gql, staffed.service_id, local(day, 10), owner.token, "b@example.com")
    assert again["errors"][0]["reasons"] == ["RESOURCE_BUSY", "HELD"]
