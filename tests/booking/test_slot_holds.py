"""Slot holds through the API, on PostgreSQL: a held slot leaves availability (explained as
HELD) and comes back when the hold expires, with its events; a guest's hold is booked with the
customer's details and keeps its time; an expired hold cannot be booked (HOLD_EXPIRED); released
holds give their time back; a holder's open holds are capped; the time of a hold cannot change;
a class's seats are held like a booking's. Expiry runs here as the job and the sweep run it (at a
later "now"); the race is in test_slot_hold_race.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from boka.booking.holds import open_holds, overdue_holds
from boka.models.bookings import Booking, BookingStatus
from boka.models.events import Event
from boka.models.holds import HoldStatus, SlotHold
from boka.models.tenancy import Role
from boka.models.types import utcnow
from boka.payments.holds import expire_slot_hold
from tests.booking.class_session_support import schedule
from tests.booking.support import BookingWorld, Staffed, future_day, gid, local
from tests.support import GraphQLClient, World

HOLD = """mutation Hold($input: HoldSlotInput!) {
  holdSlot(input: $input) {
    hold { holdId reference status purpose start end seats expiresAt service { name } staff { id } }
    errors { field code message reasons } } }"""
RELEASE = """mutation Release($input: ReleaseHoldInput!) {
  releaseHold(input: $input) { hold { status } errors { field code message } } }"""
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status startTime seats price { amount } customer { email } staff { id } }
    manageToken errors { field code message reasons } } }"""
AVAILABILITY = """query Slots($service: ID!, $from: DateTime!, $to: DateTime!) {
  availability(serviceId: $service, from: $from, to: $to) { start seatsLeft } }"""
EXPLAIN = """query Explain($service: ID!, $start: DateTime!) {
  explainSlot(serviceId: $service, start: $start) {
    bookable staff { reasons refusals { reason bookingId } } } }"""
BOOKINGS = "{ bookings(first: 50) { edges { node { id status } } } }"


async def _salon(world: World, **service_fields: object) -> Staffed:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    return await BookingWorld(world).staffed_service(tenant, **service_fields)


async def _hold(gql: GraphQLClient, staffed: Staffed, start: datetime, *, token: str | None = None,
                **fields: object) -> dict:
    result = await gql(HOLD, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(), **fields}},
                       token=token, tenant="salon")
    assert result.data, result.body
    return result.data["holdSlot"]


async def _starts(gql: GraphQLClient, staffed: Staffed, day) -> list[datetime]:  # type: ignore[no-untyped-def]
    result = await gql(AVAILABILITY, {"service": staffed.service_id, "from": local(day, 0).isoformat(),
                                      "to": local(day, 23, 59).isoformat()}, tenant="salon")
    assert not result.errors, result.errors
    return [datetime.fromisoformat(slot["start"]) for slot in result.data["availability"]]


async def _book(gql: GraphQLClient, input: dict, token: str | None = None) -> dict:
    result = await gql(CREATE, {"input": input}, token=token, tenant="salon")
    assert result.data, result.body
    return result.data["createBooking"]


async def _events(world: World, *prefixes: str) -> list[tuple[str, dict]]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = await db.execute(sa.select(Event.type, Event.payload).order_by(Event.position))
        return [(kind, payload) for kind, payload in rows.all() if kind.startswith(prefixes)]


async def _holds(world: World) -> list[SlotHold]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return list((await db.execute(sa.select(SlotHold).order_by(SlotHold.created_at))).scalars())


async def _expire_all(world: World, *, minutes: int = 11) -> list[bool]:
    """The sweep at a later now: every overdue hold expired by the one expiry."""
    later = utcnow() + timedelta(minutes=minutes)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        due = await overdue_holds(db, now=later)
    expired = []
    for hold_id in due:
        async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
            expired.append((await expire_slot_hold(db, hold_id, now=later)).expired)
    return expired


async def test_a_held_slot_leaves_availability_and_comes_back_when_the_hold_expires(
    gql: GraphQLClient, world: World
) -> None:
    staffed = await _salon(world)
    day = future_day()
    start = local(day, 10)
    before = await _starts(gql, staffed, day)

    held = await _hold(gql, staffed, start)
    during = await _starts(gql, staffed, day)
    explained = (await gql(EXPLAIN, {"service": staffed.service_id, "start": start.isoformat()},
                           tenant="salon")).data["explainSlot"]
    not_yet = await _expire_all(world, minutes=0)
    swept = await _expire_all(world)
    after = await _starts(gql, staffed, day)
    again = await _expire_all(world, minutes=60)

    hold = held["hold"]
    assert held["errors"] == [] and hold["holdId"].startswith("hold_") and hold["status"] == "OPEN"
    assert hold["purpose"] == "CHECKOUT" and hold["service"]["name"] == "Haircut"
    expires = datetime.fromisoformat(hold["expiresAt"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert start in before and start not in during
    assert local(day, 9, 30) not in during and local(day, 10, 30) not in during  # the hour overlaps
    assert explained["bookable"] is False
    assert explained["staff"][0]["reasons"] == ["HELD"]
    assert explained["staff"][0]["refusals"][0]["bookingId"] is None  # nobody's booking to show
    assert not_yet == [] and swept == [True] and again == []
    assert after == before
    [row] = await _holds(world)
    assert row.status == HoldStatus.EXPIRED.value
    events = await _events(world, "hold.", "availability.")
    assert [kind for kind, _ in events] == [
        "availability.changed", "hold.created", "availability.changed", "hold.expired"]
    assert events[0][1]["freed"] is False and events[2][1]["freed"] is True
    assert events[3][1]["hold"]["id"] == hold["reference"]
    assert "holdId" not in str(events) and hold["holdId"] not in str(events)  # the secret stays secret


async def test_a_guest_books_the_held_time_with_their_details(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    owner = await world.person(await _tenant(world), Role.OWNER)
    day = future_day()
    start = local(day, 10)
    hold = (await _hold(gql, staffed, start))["hold"]
    listed_while_held = await gql(BOOKINGS, token=owner.token, tenant="salon")

    other_time = await _book(gql, {"holdId": hold["holdId"], "start": local(day, 11).isoformat(),
                                   "customer": {"email": "gina@example.com"}})
    nobody = await _book(gql, {"holdId": hold["holdId"]})
    booked = await _book(gql, {"holdId": hold["holdId"], "start": start.isoformat(),
                               "customer": {"email": "gina@example.com", "firstName": "Gina"},
                               "notes": "Short, please"})
    twice = await _book(gql, {"holdId": hold["holdId"], "customer": {"email": "gina@example.com"}})
    release_booked = (await gql(RELEASE, {"input": {"holdId": hold["holdId"]}}, tenant="salon")).data
    swept = await _expire_all(world, minutes=60)
    listed = await gql(BOOKINGS, token=owner.token, tenant="salon")

    assert other_time["errors"] == [{"field": "start", "code": "INVALID_INPUT", "reasons": [],
                                     "message": other_time["errors"][0]["message"]}]
    assert nobody["errors"][0]["field"] == "customer"
    assert listed_while_held.data["bookings"]["edges"] == []  # a hold is nobody's booking yet
    assert booked["errors"] == [] and booked["manageToken"]
    booking = booked["booking"]
    assert booking["status"] == "CONFIRMED" and booking["customer"]["email"] == "gina@example.com"
    assert datetime.fromisoformat(booking["startTime"]) == start and booking["price"]["amount"] == 5000
    assert start not in await _starts(gql, staffed, day)  # the booking keeps the held time
    assert twice["errors"][0]["code"] == "INVALID_TRANSITION"
    assert release_booked["releaseHold"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert swept == []
    assert [edge["node"]["id"] for edge in listed.data["bookings"]["edges"]] == [booking["id"]]
    [row] = await _holds(world)
    assert row.status == HoldStatus.CONVERTED.value and row.booked_at is not None
    async with world.runtime.database.transaction(all_tenants=True) as db:
        [held] = (await db.execute(sa.select(Booking))).scalars().all()
    assert gid("Booking", held.id) == booking["id"] and held.notes == "Short, please"
    kinds = [kind for kind, _ in await _events(world, "hold.", "booking.")]
    assert kinds == ["hold.created", "booking.created", "hold.converted"]


async def _tenant(world: World):  # type: ignore[no-untyped-def]
    from boka.models.tenancy import Tenant

    async with world.runtime.database.transaction(all_tenants=True) as db:
        return (await db.execute(sa.select(Tenant).where(Tenant.slug == "salon"))).scalar_one()


async def test_an_expired_hold_cannot_be_booked_and_nothing_is_written(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    customer = await world.person(await _tenant(world), Role.CUSTOMER, email="carl@example.com")
    start = local(future_day(), 10)
    hold = (await _hold(gql, staffed, start, token=customer.token))["hold"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        [(hold_id, _expires)] = await open_holds(db)
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        row = await db.get(SlotHold, hold_id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)  # ran out; the job has not run yet

    late = await _book(gql, {"holdId": hold["holdId"]}, token=customer.token)
    swept = await _expire_all(world, minutes=0)
    after_expiry = await _book(gql, {"holdId": hold["holdId"]}, token=customer.token)
    unknown = await gql(CREATE, {"input": {"holdId": "hold_" + "x" * 32}}, token=customer.token, tenant="salon")
    fresh = await _book(gql, {"serviceId": staffed.service_id, "start": start.isoformat()}, token=customer.token)

    assert late["errors"][0]["code"] == "HOLD_EXPIRED" and late["booking"] is None
    assert swept == [True]
    assert after_expiry["errors"][0]["code"] == "HOLD_EXPIRED"
    assert unknown.error_codes == ["NOT_FOUND"]
    assert fresh["errors"] == []  # the time is free again
    kinds = [kind for kind, _ in await _events(world, "hold.", "booking.")]
    assert kinds == ["hold.created", "hold.expired", "booking.created"]


async def test_a_released_hold_gives_its_time_back_once(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    day = future_day()
    start = local(day, 10)
    hold = (await _hold(gql, staffed, start))["hold"]
    other = await _hold(gql, staffed, start)

    released = await gql(RELEASE, {"input": {"holdId": hold["holdId"]}}, tenant="salon")
    twice = await gql(RELEASE, {"input": {"holdId": hold["holdId"]}}, tenant="salon")
    book_released = await _book(gql, {"holdId": hold["holdId"], "customer": {"email": "a@example.com"}})
    retaken = await _hold(gql, staffed, start)

    assert other["hold"] is None and other["errors"][0]["code"] == "SLOT_UNAVAILABLE"
    assert other["errors"][0]["reasons"] == ["HELD"]
    assert released.data["releaseHold"] == {"hold": {"status": "RELEASED"}, "errors": []}
    assert twice.data["releaseHold"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert book_released["errors"][0]["code"] == "INVALID_TRANSITION"
    assert retaken["errors"] == []
    kinds = [kind for kind, _ in await _events(world, "hold.")]
    assert kinds == ["hold.created", "hold.released", "hold.created"]


async def test_a_holder_has_at_most_the_allowed_open_holds(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    carl = await world.person(await _tenant(world), Role.CUSTOMER, email="carl@example.com")
    day = future_day()
    cap = world.runtime.settings.hold_max_open
    guest = [await _hold(gql, staffed, local(day, 9 + 2 * n)) for n in range(cap + 1)]
    by_carl = await _hold(gql, staffed, local(day, 16), token=carl.token)  # his own count
    first = guest[0]["hold"]["holdId"]
    await gql(RELEASE, {"input": {"holdId": first}}, tenant="salon")
    after_release = await _hold(gql, staffed, local(day, 9 + 2 * cap))

    assert [bool(result["hold"]) for result in guest] == [True] * cap + [False]
    assert guest[-1]["errors"][0]["code"] == "HOLD_LIMIT"
    assert by_carl["errors"] == []
    assert after_release["errors"] == []
    assert len([row for row in await _holds(world) if row.status == "open"]) == cap + 1


async def test_bad_hold_input_is_a_typed_user_error(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    day = future_day()
    past = await _hold(gql, staffed, local(day - timedelta(days=10), 10))
    off_grid = await _hold(gql, staffed, local(day, 10, 10))
    seats = await _hold(gql, staffed, local(day, 10), seats=2)
    wrong_id = await _hold(gql, staffed, local(day, 10), staffId=gid("Service", staffed.service.id))
    no_offset = await gql(HOLD, {"input": {"serviceId": staffed.service_id, "start": "2031-01-01T10:00:00"}},
                          tenant="salon")

    assert past["errors"][0]["code"] == "SLOT_UNAVAILABLE" and past["errors"][0]["reasons"] == ["IN_PAST"]
    assert off_grid["errors"][0]["reasons"] == ["OFF_INTERVAL"]
    assert seats["errors"][0]["field"] == "seats"
    assert wrong_id["errors"][0]["field"] == "staffId"
    assert no_offset.data["holdSlot"]["errors"][0]["field"] == "start"
    assert await _holds(world) == []


async def test_seats_of_a_class_are_held_like_a_booking(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world, capacity=3, name="Yoga")
    owner = await world.person(await _tenant(world), Role.OWNER)
    start = local(future_day(), 10)
    await schedule(gql, owner.token, "salon", staffed.service_id, staffed.staff_id(), start)
    held = await _hold(gql, staffed, start, seats=2)
    too_many = await _hold(gql, staffed, start, seats=2)
    seats_left = {datetime.fromisoformat(s["start"]): s["seatsLeft"] for s in (await gql(AVAILABILITY, {
        "service": staffed.service_id, "from": local(start.date(), 0).isoformat(),
        "to": local(start.date(), 23).isoformat()}, tenant="salon")).data["availability"]}
    booked = await _book(gql, {"holdId": held["hold"]["holdId"], "customer": {"email": "y@example.com"}})

    assert held["errors"] == [] and held["hold"]["seats"] == 2
    assert too_many["errors"][0]["code"] == "SLOT_UNAVAILABLE"
    assert seats_left[start] == 1
    assert booked["errors"] == [] and booked["booking"]["seats"] == 2


async def test_open_holds_are_what_the_job_store_is_rearmed_with(gql: GraphQLClient, world: World) -> None:
    staffed = await _salon(world)
    day = future_day()
    await _hold(gql, staffed, local(day, 10))
    released = (await _hold(gql, staffed, local(day, 12)))["hold"]["holdId"]
    await gql(RELEASE, {"input": {"holdId": released}}, tenant="salon")
    async with world.runtime.database.transaction(all_tenants=True) as db:
        armed = await open_holds(db)
    rows = {row.id: row for row in await _holds(world)}
    assert [rows[hold_id].status for hold_id, _ in armed] == ["open"]
    assert all(isinstance(hold_id, uuid.UUID) for hold_id, _ in armed)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        statuses = sorted(b.status for b in (await db.execute(sa.select(Booking))).scalars())
    assert statuses == [BookingStatus.CANCELLED, BookingStatus.PENDING]


async def test_analytics_count_bookings_not_holds(gql: GraphQLClient, world: World) -> None:
    """An open hold and an expired one are nobody's bookings: the rollup (refreshed with them on
    its dirty days) and the raw computation agree, and count the one booking."""
    from boka.analytics.periods import Granularity, Period
    from boka.analytics.queries import Reach
    from boka.analytics.report import analytics_report
    from boka.jobs.analytics import refresh_tenant_rollup

    staffed = await _salon(world)
    tenant = await _tenant(world)
    day = future_day()
    booked = (await _hold(gql, staffed, local(day, 10)))["hold"]["holdId"]
    await _book(gql, {"holdId": booked, "customer": {"email": "a@example.com"}})
    await _hold(gql, staffed, local(day, 12))
    await _hold(gql, staffed, local(day, 14))
    assert await _expire_all(world, minutes=0) == []
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        row = (await db.execute(sa.select(SlotHold).where(SlotHold.status == "open")
                                .order_by(SlotHold.created_at).limit(1))).scalar_one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert await _expire_all(world, minutes=0) == [True]

    await refresh_tenant_rollup(world.runtime, tenant.id)
    period = Period.of(day, day, "Europe/Berlin", Granularity.DAY)
    async with world.runtime.database.transaction(tenant.id) as db:
        rolled = await analytics_report(db, Reach(tenant.id), period)
        raw = await analytics_report(db, Reach(tenant.id), period, use_rollup=False)
    assert rolled.totals.total == raw.totals.total == 1
    assert rolled.totals.by_status == raw.totals.by_status
    assert (rolled.new_customers, raw.new_customers) == (1, 1)
