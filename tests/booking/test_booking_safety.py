"""Guards a user would trip over: no account takeover through an unverified email, no refund
for an appointment already had, capacity changes honoured, bad times refused cleanly."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from boka.booking.availability import private_slot_key
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.class_session_support import UPDATE_SESSION, schedule
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.support import GraphQLClient, World

CREATE = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { id notes } errors { field code } } }"""
CANCEL = """mutation C($input: CancelBookingInput!) { cancelBooking(input: $input) {
  booking { status } refundPercent errors { code } } }"""
MY_BOOKINGS = "{ bookings { edges { node { notes } } } }"


async def test_registering_a_guests_email_does_not_reveal_their_bookings(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    day = future_day()
    guest = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat(),
                                         "notes": "private: allergy details",
                                         "customer": {"email": "victim@example.com"}}}, tenant="salon")
    assert guest.data["createBooking"]["errors"] == []
    # someone registers the same (unverified) address and books with it
    impostor = await world.person(tenant, Role.CUSTOMER, email="victim@example.com")
    own = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 14).isoformat(),
                                       "notes": "mine"}}, token=impostor.token, tenant="salon")

    seen = await gql(MY_BOOKINGS, token=impostor.token, tenant="salon")

    assert own.data["createBooking"]["errors"] == []
    assert [e["node"]["notes"] for e in seen.data["bookings"]["edges"]] == ["mine"]


async def test_a_customer_cannot_take_over_another_email(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    mallory = await world.person(tenant, Role.CUSTOMER, email="mallory@example.com")
    made = await gql("""mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
                          booking { customer { id } } } }""",
                     {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat()}},
                     token=mallory.token, tenant="salon")
    customer_id = made.data["createBooking"]["booking"]["customer"]["id"]

    changed = await gql("""mutation U($input: UpdateCustomerInput!) { updateCustomer(input: $input) {
                             customer { email } errors { code } } }""",
                        {"input": {"id": customer_id, "email": "victim@example.com"}},
                        token=mallory.token, tenant="salon")

    assert changed.error_codes == ["FORBIDDEN"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        emails = set((await db.execute(sa.select(Customer.email))).scalars())
    assert emails == {"mallory@example.com"}


async def test_no_online_cancellation_after_the_start_but_staff_may(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, late_cancel_refund_percent=50)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    started = utcnow() - timedelta(hours=2)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        customer = Customer(tenant_id=tenant.id, email="carl@example.com", user_id=carl.user.id,
                            user_linked_at=started - timedelta(days=1))
        db.add(customer)
        await db.flush()
        booking = Booking(tenant_id=tenant.id, customer_id=customer.id, service_id=staffed.service.id,
                          staff_id=staffed.staff[0].id, status=BookingStatus.CONFIRMED, start_time=started,
                          end_time=started + timedelta(hours=1), block_start=started,
                          block_end=started + timedelta(hours=1), slot_key="", price_cents=5000,
                          currency="EUR", created_at=started - timedelta(days=1))
        booking.slot_key = private_slot_key(booking.id)
        db.add(booking)
    booking_id = gid("Booking", booking.id)

    by_customer = await gql(CANCEL, {"input": {"id": booking_id}}, token=carl.token, tenant="salon")
    by_staff = await gql(CANCEL, {"input": {"id": booking_id}}, token=staffed.people[0].token, tenant="salon")

    assert by_customer.data["cancelBooking"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    assert by_staff.data["cancelBooking"]["booking"]["status"] == "CANCELLED"


async def test_raising_a_class_capacity_opens_more_seats(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("studio")
    staffed = await BookingWorld(world).staffed_service(tenant, name="Yoga", capacity=2)
    owner = await world.person(tenant, Role.OWNER)
    session = await schedule(gql, owner.token, "studio", staffed.service_id, staffed.staff_id(),
                             local(future_day(), 10))
    start = local(future_day(), 10).isoformat()

    async def book(email: str) -> list[dict]:
        made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start,
                                            "customer": {"email": email}}}, token=owner.token, tenant="studio")
        return made.data["createBooking"]["errors"]

    assert await book("a@example.com") == [] and await book("b@example.com") == []
    assert await book("c@example.com") == [{"field": "start", "code": "SLOT_UNAVAILABLE"}]
    raised = await gql(UPDATE_SESSION, {"input": {"id": session["id"], "capacity": 3}},
                       token=owner.token, tenant="studio")
    assert raised.data["updateClassSession"]["errors"] == []
    assert await book("c@example.com") == []
    assert await book("d@example.com") == [{"field": "start", "code": "SLOT_UNAVAILABLE"}]


async def test_a_filter_time_without_offset_is_a_validation_error(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    result = await gql('{ bookings(filter: {startsFrom: "2030-01-01T00:00:00"}) { edges { cursor } } }',
                       token=owner.token, tenant="salon")
    assert result.error_codes == ["VALIDATION_ERROR"]
