"""Across daylight-saving changes: no slot at a local time that does not exist, none lost or
doubled when an hour repeats, and bookings land on the real instants."""

from __future__ import annotations

from datetime import date, datetime, time

from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, local
from tests.support import GraphQLClient, World

SLOTS = """query S($service: ID!, $from: DateTime!, $to: DateTime!) {
  availability(serviceId: $service, from: $from, to: $to) { start } }"""
CREATE = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { startTime endTime } errors { code } } }"""
SPRING_FORWARD = date(2027, 3, 28)  # Europe/Berlin: 02:00 jumps to 03:00
FALL_BACK = date(2027, 10, 31)  # Europe/Berlin: 03:00 goes back to 02:00


async def _night_shift(world: World):  # type: ignore[no-untyped-def]
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(
        tenant, hours=(time(0), time(5)), slot_interval_minutes=60, max_advance_days=400
    )
    return tenant, staffed


async def _starts(gql: GraphQLClient, service_id: str, day: date) -> list[str]:
    result = await gql(SLOTS, {"service": service_id, "from": local(day, 0).isoformat(),
                               "to": local(day, 6).isoformat()}, tenant="salon")
    return [slot["start"] for slot in result.data["availability"]]


async def test_spring_forward_has_no_slot_in_the_missing_hour(gql: GraphQLClient, world: World) -> None:
    tenant, staffed = await _night_shift(world)
    owner = await world.person(tenant, Role.OWNER)

    starts = await _starts(gql, staffed.service_id, SPRING_FORWARD)
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": "2027-03-28T03:00:00+02:00",
                                          "customer": {"email": "a@example.com"}}}, token=owner.token, tenant="salon")

    # 00:00-05:00 on this night is four real hours
    assert starts == ["2027-03-28T00:00:00+01:00", "2027-03-28T01:00:00+01:00",
                      "2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00"]
    assert booked.data["createBooking"]["errors"] == []
    booking = booked.data["createBooking"]["booking"]
    assert booking["startTime"] == "2027-03-28T01:00:00+00:00"  # bookings answer in UTC


async def test_fall_back_offers_the_repeated_hour_twice_as_two_real_instants(gql: GraphQLClient, world: World) -> None:
    tenant, staffed = await _night_shift(world)
    owner = await world.person(tenant, Role.OWNER)

    starts = await _starts(gql, staffed.service_id, FALL_BACK)
    first = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": "2027-10-31T02:00:00+02:00",
                                         "customer": {"email": "a@example.com"}}}, token=owner.token, tenant="salon")
    second = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": "2027-10-31T02:00:00+01:00",
                                          "customer": {"email": "b@example.com"}}}, token=owner.token, tenant="salon")
    after = await _starts(gql, staffed.service_id, FALL_BACK)

    # 00:00-05:00 on this night is six real hours; 02:00 happens twice, an hour apart
    assert starts == ["2027-10-31T00:00:00+02:00", "2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00",
                      "2027-10-31T02:00:00+01:00", "2027-10-31T03:00:00+01:00", "2027-10-31T04:00:00+01:00"]
    assert len({datetime.fromisoformat(s) for s in starts}) == 6
    assert first.data["createBooking"]["errors"] == [] and second.data["createBooking"]["errors"] == []
    assert after == ["2027-10-31T00:00:00+02:00", "2027-10-31T01:00:00+02:00",
                     "2027-10-31T03:00:00+01:00", "2027-10-31T04:00:00+01:00"]
