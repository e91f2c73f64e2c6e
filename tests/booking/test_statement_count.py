"""Listing bookings with their relations costs a constant number of SQL statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from boka.booking.availability import private_slot_key
from boka.models.bookings import Booking, BookingResource, BookingStatus, Customer
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.support import GraphQLClient, World

LIST = """{ bookings(first: 100) { edges { node {
  id status customer { email } service { name } staff { displayName } resources { name }
} } } }"""


@contextmanager
def counting_statements(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = app.state.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _add_bookings(world: World, staffed, room, count: int, offset: int) -> None:  # type: ignore[no-untyped-def]
    day = future_day(2)
    async with world.runtime.database.transaction(staffed.service.tenant_id, write=True) as db:
        for i in range(offset, offset + count):
            customer = Customer(tenant_id=staffed.service.tenant_id, email=f"c{i}@example.com")
            db.add(customer)
            await db.flush()
            start = local(day + timedelta(days=i // 8), 9 + i % 8)
            booking = Booking(
                tenant_id=staffed.service.tenant_id, customer_id=customer.id, service_id=staffed.service.id,
                staff_id=staffed.staff[i % 2].id, status=BookingStatus.CONFIRMED, start_time=start,
                end_time=start + timedelta(minutes=60), block_start=start,
                block_end=start + timedelta(minutes=60), slot_key="", price_cents=100, currency="EUR",
            )
            booking.slot_key = private_slot_key(booking.id)
            db.add(booking)
            await db.flush()
            db.add(BookingResource(booking_id=booking.id, resource_id=room.id, tenant_id=booking.tenant_id,
                                   block_start=booking.block_start, block_end=booking.block_end,
                                   slot_key=booking.slot_key))


async def test_listing_10_or_100_bookings_costs_the_same_few_statements(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant, staff_count=2)
    room = await bw.room(tenant, name="Chair 1")
    owner = await world.person(tenant, Role.OWNER)

    await _add_bookings(world, staffed, room, 10, 0)
    await gql(LIST, token=owner.token, tenant="salon")  # who is asking is remembered after this
    with counting_statements(app) as for_ten:
        ten = await gql(LIST, token=owner.token, tenant="salon")
    await _add_bookings(world, staffed, room, 90, 10)
    await gql(LIST, token=owner.token, tenant="salon")  # (again: another process's identity
    # change, heard over Redis, may have emptied the cache meanwhile)
    with counting_statements(app) as for_hundred:
        hundred = await gql(LIST, token=owner.token, tenant="salon")

    assert len(ten.data["bookings"]["edges"]) == 10
    edges = hundred.data["bookings"]["edges"]
    assert len(edges) == 100
    assert all(e["node"]["resources"] == [{"name": "Chair 1"}] for e in edges)
    assert len({e["node"]["customer"]["email"] for e in edges}) == 100
    assert len(for_hundred) == len(for_ten), for_hundred
    # One transaction for the whole request: it names its tenant once (set_config, for row
    # level security), then 1 query for the page and 1 each for customers, services, staff
    # and resources. Who is asking comes from the identity cache.
    assert sum(s.startswith("SELECT set_config(") for s in for_hundred) == 1, for_hundred
    assert len(for_hundred) <= 6, for_hundred


SERVICES = """{ services(first: 100) { edges { node {
  name resources { name } staff { displayName weeklyHours { weekday } services { service { name } }
    overrides(from: "2027-01-01", to: "2027-03-31") { day }
    timeOff(from: "2027-01-01T00:00:00Z", to: "2027-03-31T00:00:00Z") { reason } }
} } } }"""


async def test_listing_services_with_staff_and_resources_does_not_grow_with_the_list(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    bw = BookingWorld(world)
    owner = await world.person(tenant, Role.OWNER)
    first = await bw.staffed_service(tenant, name="Service 0")
    await bw.room(tenant, first.service)
    with counting_statements(app) as for_one:
        one = await gql(SERVICES, token=owner.token, tenant="salon")
    for index in range(1, 8):
        more = await bw.staffed_service(tenant, name=f"Service {index}")
        await bw.room(tenant, more.service, name=f"Room {index}")
    with counting_statements(app) as for_eight:
        eight = await gql(SERVICES, token=owner.token, tenant="salon")

    assert len(one.data["services"]["edges"]) == 1
    nodes = [edge["node"] for edge in eight.data["services"]["edges"]]
    assert len(nodes) == 8 and all(len(node["staff"][0]["weeklyHours"]) == 7 for node in nodes)
    assert len(for_eight) == len(for_one), for_eight


CREATE = """mutation Book($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { id customer { email } service { name } staff { displayName } } errors { code } } }"""


async def test_a_booking_reads_nothing_twice_and_a_new_guest_skips_the_overlap_lock(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    """createBooking's own reads are the only reads: the staff are read once (not again for
    the fair order), the answer and the events name customer, service and staff from the rows
    the transaction holds (no read-back), and a customer created by this very booking needs
    no customer-overlap lock (nobody else can see them yet). A returning customer takes it."""
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=2)
    day = future_day()

    def book(email: str, hour: int) -> dict:
        return {"input": {"serviceId": staffed.service_id, "start": local(day, hour).isoformat(),
                          "customer": {"email": email, "firstName": "Ada", "lastName": "Guest"}}}

    with counting_statements(app) as new_guest:
        first = await gql(CREATE, book("ada@example.com", 10), tenant="salon")
    with counting_statements(app) as returning:
        again = await gql(CREATE, book("ada@example.com", 14), tenant="salon")

    for result in (first, again):
        payload = result.data["createBooking"]
        assert payload["errors"] == []
        assert payload["booking"]["customer"] == {"email": "ada@example.com"}
        assert payload["booking"]["service"]["name"] and payload["booking"]["staff"]["displayName"]
    for statements in (new_guest, returning):
        assert sum(s.startswith("SELECT staff_members.id") for s in statements) == 1, statements
        assert not any("FROM bookings JOIN customers" in s for s in statements), statements
    locks = [sum("pg_advisory_xact_lock" in s for s in run) for run in (new_guest, returning)]
    assert locks == [1, 2]  # the staff member's time; then also the returning customer's
