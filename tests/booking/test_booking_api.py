"""Booking through the GraphQL API: availability, create, reschedule, cancel, lifecycle, RBAC."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa

from boka.models.bookings import Booking, BookingHistory
from boka.models.tenancy import Role
from tests.booking.class_session_support import schedule
from tests.booking.support import BookingWorld, future_day, local
from tests.support import GraphQLClient, World

AVAILABILITY = """
query Slots($service: ID!, $from: DateTime!, $to: DateTime!, $staff: ID, $zone: String) {
  availability(serviceId: $service, from: $from, to: $to, staffId: $staff, timeZone: $zone) {
    start end seatsLeft staff { id }
  }
}"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status startTime endTime seats price { amount currency }
              customer { email } service { name } staff { id } }
    manageToken
    errors { field code message }
  }
}"""
CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { id status cancellationReason } refund { amount currency } refundPercent
    errors { field code message }
  }
}"""
RESCHEDULE = """
mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id startTime staff { id } } errors { field code } }
}"""
BOOKINGS = "{ bookings(first: 50) { edges { node { id status customer { email } } } } }"


async def _slots(gql: GraphQLClient, service_id: str, day, **kwargs) -> list[dict]:
    variables = {"service": service_id, "from": local(day, 0).isoformat(),
                 "to": local(day, 23, 59).isoformat(), **kwargs}
    result = await gql(AVAILABILITY, variables, tenant="salon")
    assert not result.errors, result.errors
    return result.data["availability"]


async def test_customer_books_a_slot_and_it_disappears(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    day = future_day()

    before = await _slots(gql, staffed.service_id, day)
    start = local(day, 10)
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                       token=carl.token, tenant="salon")
    after = await _slots(gql, staffed.service_id, day)

    assert [s["start"] for s in before][:3] == [local(day, 9).isoformat(), local(day, 9, 30).isoformat(), start.isoformat()]
    payload = booked.data["createBooking"]
    assert payload["errors"] == []
    assert payload["booking"]["status"] == "CONFIRMED"
    assert payload["booking"]["price"] == {"amount": 5000, "currency": "EUR"}
    assert payload["booking"]["customer"] == {"email": "carl@example.com"}
    # the 60-minute booking at 10:00 also removes 9:30 and 10:30, which would overlap it
    gone = {s["start"] for s in before} - {s["start"] for s in after}
    assert gone == {local(day, h, m).isoformat() for h, m in ((9, 30), (10, 0), (10, 30))}
    async with world.runtime.database.transaction(all_tenants=True) as db:
        history = (await db.execute(sa.select(BookingHistory.action))).scalars().all()
    assert history == ["created"]


async def test_slots_are_shown_in_the_zone_asked_for(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    day = future_day()

    slots = await _slots(gql, staffed.service_id, day, zone="America/New_York")

    first = slots[0]["start"]
    assert first.endswith("-05:00") or first.endswith("-04:00")
    assert first == local(day, 9).astimezone(local(day, 9, zone="America/New_York").tzinfo).isoformat()


async def test_a_taken_slot_cannot_be_booked_again(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    start = local(future_day(), 11).isoformat()

    def booking_for(email: str) -> dict:
        return {"input": {"serviceId": staffed.service_id, "start": start, "customer": {"email": email}}}

    first = await gql(CREATE, booking_for("a@example.com"), token=owner.token, tenant="salon")
    second = await gql(CREATE, booking_for("b@example.com"), token=owner.token, tenant="salon")

    assert first.data["createBooking"]["errors"] == []
    assert second.data["createBooking"]["errors"] == [
        {"field": "start", "code": "SLOT_UNAVAILABLE", "message": "This time is no longer available."}
    ]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Booking))).scalar_one() == 1


async def test_a_start_off_the_grid_or_outside_hours_is_unavailable(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, breaks=((time(12), time(13)),))
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    for start in (local(day, 10, 10), local(day, 16, 30), local(day, 12), local(day, 8)):
        result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(),
                                              "customer": {"email": "x@example.com"}}},
                           token=owner.token, tenant="salon")
        assert [e["code"] for e in result.data["createBooking"]["errors"]] == ["SLOT_UNAVAILABLE"], start


async def test_guest_books_and_manages_with_the_link_token(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, free_cancel_hours=24)
    start = local(future_day(5), 14).isoformat()

    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start,
                                          "customer": {"email": "guest@example.com", "firstName": "Gus"}}},
                       tenant="salon")
    token = booked.data["createBooking"]["manageToken"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    view = "query V($t: String!) { bookingByLink(manageToken: $t) { status customer { email } service { name } } }"
    viewed = await gql(view, {"t": token}, tenant="salon")
    assert viewed.data["bookingByLink"] == {
        "status": "CONFIRMED", "customer": {"email": "guest@example.com"}, "service": {"name": "Haircut"},
    }
    assert (await gql(view, {"t": tampered}, tenant="salon")).error_codes == ["NOT_FOUND"]
    forged = await gql(CANCEL, {"input": {"manageToken": tampered}}, tenant="salon")
    cancelled = await gql(CANCEL, {"input": {"manageToken": token, "reason": "Sick"}}, tenant="salon")

    assert booked.data["createBooking"]["errors"] == []
    assert forged.error_codes == ["NOT_FOUND"]
    payload = cancelled.data["cancelBooking"]
    assert payload["booking"]["status"] == "CANCELLED"
    assert payload["booking"]["cancellationReason"] == "Sick"
    # paid on site, so nothing was paid and nothing goes back (not "100 %" of nothing)
    assert payload["refundPercent"] is None and payload["refund"] == {"amount": 0, "currency": "EUR"}
    # the time is free again
    again = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start,
                                         "customer": {"email": "next@example.com"}}}, tenant="salon")
    assert again.data["createBooking"]["errors"] == []


async def test_guest_must_say_who_they_are(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(), 10).isoformat()}}, tenant="salon")
    assert [(e["field"], e["code"]) for e in result.data["createBooking"]["errors"]] == [("customer", "INVALID_INPUT")]


async def test_late_cancellation_of_an_unpaid_booking_refunds_nothing(gql: GraphQLClient, world: World) -> None:
    """The policy's share applies to money paid (tests/payments covers the paid case: 50 % of
    4999 paid is 2499, rounded down); a booking paid on site has paid nothing yet."""
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(
        tenant, free_cancel_hours=24 * 30, late_cancel_refund_percent=50, price_cents=4999
    )
    carl = await world.person(tenant, Role.CUSTOMER)
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(), 10).isoformat()}},
                       token=carl.token, tenant="salon")
    booking_id = booked.data["createBooking"]["booking"]["id"]

    result = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")

    assert result.data["cancelBooking"]["refundPercent"] is None
    assert result.data["cancelBooking"]["refund"]["amount"] == 0


async def test_reschedule_moves_the_booking_or_refuses_a_taken_time(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    ids = []
    for hour in (10, 14):
        made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, hour).isoformat(),
                                            "customer": {"email": f"c{hour}@example.com"}}},
                         token=owner.token, tenant="salon")
        ids.append(made.data["createBooking"]["booking"]["id"])

    moved = await gql(RESCHEDULE, {"input": {"id": ids[0], "start": local(day, 11).isoformat()}}, token=owner.token, tenant="salon")
    onto_other = await gql(RESCHEDULE, {"input": {"id": ids[0], "start": local(day, 14, 30).isoformat()}}, token=owner.token, tenant="salon")
    # moving by half an hour overlaps its own old time; that is fine
    nudged = await gql(RESCHEDULE, {"input": {"id": ids[0], "start": local(day, 11, 30).isoformat()}}, token=owner.token, tenant="salon")

    assert datetime.fromisoformat(moved.data["rescheduleBooking"]["booking"]["startTime"]) == local(day, 11)
    assert [e["code"] for e in onto_other.data["rescheduleBooking"]["errors"]] == ["SLOT_UNAVAILABLE"]
    assert nudged.data["rescheduleBooking"]["errors"] == []
    async with world.runtime.database.transaction(all_tenants=True) as db:
        starts = sorted((await db.execute(sa.select(Booking.start_time))).scalars())
    assert starts == [local(day, 11, 30), local(day, 14)]


async def test_confirmation_lifecycle_and_who_may_move_it(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, requires_confirmation=True)
    carl = await world.person(tenant, Role.CUSTOMER)
    staff_token = staffed.people[0].token
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(), 10).isoformat()}},
                       token=carl.token, tenant="salon")
    booking = booked.data["createBooking"]["booking"]
    confirm = "mutation C($id: ID!) { confirmBooking(input: {id: $id}) { booking { status } errors { code } } }"
    complete = "mutation C($id: ID!) { completeBooking(input: {id: $id}) { booking { status } errors { code } } }"

    by_customer = await gql(confirm, {"id": booking["id"]}, token=carl.token, tenant="salon")
    by_staff = await gql(confirm, {"id": booking["id"]}, token=staff_token, tenant="salon")
    twice = await gql(confirm, {"id": booking["id"]}, token=staff_token, tenant="salon")
    too_early = await gql(complete, {"id": booking["id"]}, token=staff_token, tenant="salon")

    assert booking["status"] == "PENDING"
    assert by_customer.error_codes == ["FORBIDDEN"]
    assert by_staff.data["confirmBooking"] == {"booking": {"status": "CONFIRMED"}, "errors": []}
    assert twice.data["confirmBooking"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    assert too_early.data["completeBooking"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_each_role_sees_only_the_bookings_it_should(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    other = await world.tenant("other")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant)
    await bw.add_staff(tenant, staffed)
    manager = await world.person(tenant, Role.MANAGER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    outsider = await world.person(other, Role.OWNER)
    day = future_day()
    await gql(CREATE, {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(0),
                                 "start": local(day, 10).isoformat()}}, token=carl.token, tenant="salon")
    await gql(CREATE, {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(1),
                                 "start": local(day, 10).isoformat(), "customer": {"email": "dana@example.com"}}},
              token=manager.token, tenant="salon")

    def emails(result) -> list[str]:
        return sorted(e["node"]["customer"]["email"] for e in result.data["bookings"]["edges"])

    assert emails(await gql(BOOKINGS, token=manager.token, tenant="salon")) == ["carl@example.com", "dana@example.com"]
    assert emails(await gql(BOOKINGS, token=carl.token, tenant="salon")) == ["carl@example.com"]
    assert emails(await gql(BOOKINGS, token=staffed.people[1].token, tenant="salon")) == ["dana@example.com"]
    # someone who does not belong to the tenant has no bookings there to see
    assert emails(await gql(BOOKINGS, token=outsider.token, tenant="salon")) == []
    assert emails(await gql(BOOKINGS, token=outsider.token, tenant="other")) == []


async def test_any_staff_assigns_the_least_booked_that_day(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant)
    await bw.add_staff(tenant, staffed)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()

    assigned = []
    for hour, email in ((10, "a@example.com"), (13, "b@example.com"), (15, "c@example.com")):
        made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, hour).isoformat(),
                                            "customer": {"email": email}}}, token=owner.token, tenant="salon")
        assigned.append(made.data["createBooking"]["booking"]["staff"]["id"])
    slots = await _slots(gql, staffed.service_id, day)
    by_start = {s["start"]: sorted(member["id"] for member in s["staff"]) for s in slots}

    # both free: the longest-serving first; then the one with fewer bookings that day
    assert assigned == [staffed.staff_id(0), staffed.staff_id(1), staffed.staff_id(0)]
    # any-staff availability lists each start once, with whoever is free then
    assert by_start[local(day, 11).isoformat()] == sorted([staffed.staff_id(0), staffed.staff_id(1)])
    assert by_start[local(day, 13, 30).isoformat()] == [staffed.staff_id(0)]
    assert local(day, 15).isoformat() in by_start  # staff 1 is free at 15:00
    assert by_start[local(day, 15).isoformat()] == [staffed.staff_id(1)]


async def test_a_shared_room_blocks_other_services_at_the_same_time(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    bw = BookingWorld(world)
    cut = await bw.staffed_service(tenant, name="Cut")
    color = await bw.staffed_service(tenant, name="Color")
    await bw.room(tenant, cut.service, color.service)
    owner = await world.person(tenant, Role.OWNER)
    start = local(future_day(), 10).isoformat()

    first = await gql(CREATE, {"input": {"serviceId": cut.service_id, "start": start, "customer": {"email": "a@example.com"}}},
                      token=owner.token, tenant="salon")
    second = await gql(CREATE, {"input": {"serviceId": color.service_id, "start": start, "customer": {"email": "b@example.com"}}},
                       token=owner.token, tenant="salon")

    assert first.data["createBooking"]["errors"] == []
    assert [e["code"] for e in second.data["createBooking"]["errors"]] == ["SLOT_UNAVAILABLE"]


async def test_group_class_sells_seats_up_to_capacity(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("studio")
    staffed = await BookingWorld(world).staffed_service(tenant, name="Yoga", capacity=3)
    owner = await world.person(tenant, Role.OWNER)
    await schedule(gql, owner.token, "studio", staffed.service_id, staffed.staff_id(), local(future_day(), 10))
    start = local(future_day(), 10).isoformat()

    results = []
    for seats, email in ((2, "a@example.com"), (1, "b@example.com"), (1, "c@example.com")):
        made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start, "seats": seats,
                                            "customer": {"email": email}}}, token=owner.token, tenant="studio")
        results.append([e["code"] for e in made.data["createBooking"]["errors"]])
    day = future_day()
    slots = await gql(AVAILABILITY, {"service": staffed.service_id, "from": local(day, 0).isoformat(),
                                     "to": local(day, 23).isoformat()}, tenant="studio")

    assert results == [[], [], ["SLOT_UNAVAILABLE"]]
    assert start not in [s["start"] for s in slots.data["availability"]]
