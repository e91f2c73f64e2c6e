"""availabilityDays: the slots of `availability`, grouped by local date, staff as plain ids."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from boka.booking.availability import Slot
from boka.booking.slots import slots_by_day
from boka.models.schedules import ScheduleOverride, TimeOff
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.support import GraphQLClient, World

SLOTS = """
query Slots($service: ID!, $from: DateTime!, $to: DateTime!, $staff: ID, $zone: String) {
  availability(serviceId: $service, from: $from, to: $to, staffId: $staff, timeZone: $zone) {
    start end seatsLeft staff { id }
  }
}"""
DAYS = """
query Days($service: ID!, $from: DateTime!, $to: DateTime!, $staff: ID, $zone: String) {
  availabilityDays(serviceId: $service, from: $from, to: $to, staffId: $staff, timeZone: $zone) {
    date staffIds slots { start end seatsLeft staffIds }
  }
}"""
CREATE = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { id } errors { code } } }"""
ANNA, BEN = uuid.UUID(int=1), uuid.UUID(int=2)
NEW_YORK = ZoneInfo("America/New_York")


def test_slots_fall_on_their_local_date_in_the_zone_asked_for() -> None:
    # 23:30 and 00:30 UTC are both the evening of the 1st in New York
    starts = [datetime(2026, 6, 1, 23, 30, tzinfo=UTC), datetime(2026, 6, 2, 0, 30, tzinfo=UTC),
              datetime(2026, 6, 2, 15, 0, tzinfo=UTC)]
    slots = [Slot(start, start + timedelta(minutes=30), staff, 1)
             for start, staff in zip(starts, [(ANNA,), (ANNA, BEN), (BEN,)], strict=True)]

    days = slots_by_day(slots, NEW_YORK)

    assert [day.day for day in days] == [date(2026, 6, 1), date(2026, 6, 2)]
    assert [len(day.slots) for day in days] == [2, 1]
    assert [day.staff_ids for day in days] == [(ANNA, BEN), (BEN,)]
    assert days[0].slots[1].start == datetime(2026, 6, 1, 20, 30, tzinfo=NEW_YORK)
    assert all(slot.start.tzinfo is NEW_YORK and slot.end.tzinfo is NEW_YORK
               for day in days for slot in day.slots)


def test_no_slots_no_days() -> None:
    assert slots_by_day([], NEW_YORK) == []


async def test_days_hold_exactly_the_slots_of_availability(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant, hours=(time(9), time(12)), slot_interval_minutes=60)
    await bw.add_staff(tenant, staffed)  # works 09:00-17:00
    owner = await world.person(tenant, Role.OWNER)
    first = future_day()
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(1),
                                          "start": local(first, 10).isoformat(),
                                          "customer": {"email": "a@example.com"}}},
                       token=owner.token, tenant="salon")
    assert booked.data["createBooking"]["errors"] == []
    window = {"service": staffed.service_id, "from": local(first, 0).isoformat(),
              "to": local(first + timedelta(days=3), 0).isoformat(), "zone": "Asia/Tokyo"}

    flat = await gql(SLOTS, window, tenant="salon")
    days = await gql(DAYS, window, tenant="salon")

    assert not flat.errors and not days.errors, (flat.errors, days.errors)
    expected = [{"start": s["start"], "end": s["end"], "seatsLeft": s["seatsLeft"],
                 "staffIds": sorted(member["id"] for member in s["staff"])}
                for s in flat.data["availability"]]
    got = [{**slot, "staffIds": sorted(slot["staffIds"])}
           for day in days.data["availabilityDays"] for slot in day["slots"]]
    assert got == expected
    assert len(expected) == 3 * 8  # 3 days of hourly starts 09:00-16:00, 10:00 still with staff 0
    for day in days.data["availabilityDays"]:  # Tokyo dates: Berlin's 09:00 is Tokyo's 16:00
        assert {slot["start"][:10] for slot in day["slots"]} == {day["date"]}
        assert sorted(day["staffIds"]) == sorted({i for slot in day["slots"] for i in slot["staffIds"]})
    by_start = {slot["start"]: slot["staffIds"] for slot in got}
    ten_in_tokyo = local(first, 10).astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    assert by_start[ten_in_tokyo] == [staffed.staff_id(0)]


async def test_one_staff_member_asked_for(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant, hours=(time(9), time(11)), slot_interval_minutes=60)
    await bw.add_staff(tenant, staffed)  # works 09:00-17:00
    day = future_day()

    result = await gql(DAYS, {"service": staffed.service_id, "from": local(day, 0).isoformat(),
                              "to": local(day, 23).isoformat(), "staff": staffed.staff_id(0)},
                       tenant="salon")

    assert not result.errors, result.errors
    [only] = result.data["availabilityDays"]
    assert only["date"] == day.isoformat()
    assert only["staffIds"] == [staffed.staff_id(0)]
    assert [slot["start"] for slot in only["slots"]] == [local(day, 9).isoformat(), local(day, 10).isoformat()]
    assert all(slot["staffIds"] == [staffed.staff_id(0)] for slot in only["slots"])


async def test_the_repeated_hour_of_a_fall_back_night_is_one_date(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(
        tenant, hours=(time(0), time(5)), slot_interval_minutes=60, max_advance_days=400
    )
    fall_back = date(2027, 10, 31)

    result = await gql(DAYS, {"service": staffed.service_id, "from": local(fall_back, 0).isoformat(),
                              "to": local(fall_back, 6).isoformat()}, tenant="salon")

    assert not result.errors, result.errors
    [night] = result.data["availabilityDays"]
    assert night["date"] == "2027-10-31"
    assert [slot["start"] for slot in night["slots"]] == [
        "2027-10-31T00:00:00+02:00", "2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00",
        "2027-10-31T02:00:00+01:00", "2027-10-31T03:00:00+01:00", "2027-10-31T04:00:00+01:00",
    ]


async def test_a_bad_window_is_refused_like_availability(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    day = future_day()
    window = {"service": staffed.service_id, "from": local(day, 10).isoformat(),
              "to": local(day, 9).isoformat()}

    flat = await gql(SLOTS, window, tenant="salon")
    days = await gql(DAYS, window, tenant="salon")

    assert flat.errors and days.errors
    assert [e["extensions"]["code"] for e in days.errors] == [e["extensions"]["code"] for e in flat.errors]


async def test_overrides_and_time_off_from_the_database_shape_the_days(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant, hours=(time(9), time(12)), slot_interval_minutes=60)
    await bw.add_staff(tenant, staffed)  # works 09:00-17:00
    first = future_day()
    second = first + timedelta(days=1)
    anna, ben = staffed.staff
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add_all([
            ScheduleOverride(tenant_id=tenant.id, staff_member_id=anna.id, day=first, day_off=True),
            ScheduleOverride(tenant_id=tenant.id, staff_member_id=ben.id, day=first, day_off=False,
                             start_time=time(13), end_time=time(15)),
            TimeOff(tenant_id=tenant.id, staff_member_id=ben.id, starts_at=local(second, 10),
                    ends_at=local(second, 16)),
        ])

    result = await gql(DAYS, {"service": staffed.service_id, "from": local(first, 0).isoformat(),
                              "to": local(second + timedelta(days=1), 0).isoformat()}, tenant="salon")

    assert not result.errors, result.errors
    days = {day["date"]: day for day in result.data["availabilityDays"]}
    starts = {date: [(slot["start"][11:16], sorted(slot["staffIds"])) for slot in day["slots"]]
              for date, day in days.items()}
    a, b = staffed.staff_id(0), staffed.staff_id(1)
    assert starts[first.isoformat()] == [("13:00", [b]), ("14:00", [b])]  # Anna off, Ben's hours
    assert days[first.isoformat()]["staffIds"] == [b]
    # Ben is off 10:00-16:00
    assert starts[second.isoformat()] == [
        ("09:00", sorted([a, b])), ("10:00", [a]), ("11:00", [a]), ("16:00", [b]),
    ]
