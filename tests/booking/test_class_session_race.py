"""300 concurrent seat requests for one 10-seat class session, through every path that takes
seats (any-staff bookings, bookings naming the instructor, several seats at once, reschedules
from another session), sell exactly 10 seats on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.booking.class_sessions import new_session
from boka.config import Settings
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus, Customer
from boka.models.catalog import StaffService
from boka.models.sessions import ClassSession
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.class_session_support import CREATE_BOOKING, CREATE_SESSION, RESCHEDULE, schedule
from tests.booking.support import ZONE, BookingWorld, Staffed, future_day, gid, local
from tests.conftest import settings_for
from tests.support import GraphQLClient, World

MOVERS = 60


async def _full_session(world: World, yoga: Staffed, start: datetime) -> list[str]:
    """A session of the second instructor with MOVERS one-seat bookings, written directly."""
    tenant_id = yoga.service.tenant_id
    async with world.runtime.database.transaction(tenant_id, write=True) as db:
        session = new_session(yoga.service, yoga.staff[1].id, start, now=utcnow(), capacity=MOVERS)
        session.seats_taken = MOVERS
        db.add(session)
        await db.flush()
        ids = []
        for index in range(MOVERS):
            customer = Customer(tenant_id=tenant_id, email=f"m{index}@example.com")
            db.add(customer)
            await db.flush()
            booking = Booking(
                tenant_id=tenant_id, customer_id=customer.id, service_id=yoga.service.id,
                staff_id=session.staff_id, class_session_id=session.id, status=BookingStatus.CONFIRMED,
                start_time=session.start_time, end_time=session.end_time, block_start=session.block_start,
                block_end=session.block_end, slot_key=session.slot_key, price_cents=1500, currency="EUR",
            )
            db.add(booking)
            ids.append(gid("Booking", booking.id))
    return ids


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Every request waits its turn on the session; give the queue time rather than a 503.
    return settings_for(postgres_url, rate_limits_enabled=False, db_pool_timeout_seconds=60)


async def test_three_hundred_seat_requests_for_ten_seats_sell_exactly_ten(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("studio", time_zone=ZONE)
    yoga = await BookingWorld(world).staffed_service(
        tenant, name="Yoga", capacity=10, staff_count=2, price_cents=1500
    )
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(0), local(day, 9))
    # Another instructor's full session at noon, whose bookings will try to move into 09:00.
    movers = await _full_session(world, yoga, local(day, 12))
    requests: list[tuple[str, str, dict]] = []
    for index in range(300 - MOVERS):
        fields: dict = {"serviceId": yoga.service_id, "start": local(day, 9).isoformat(),
                        "customer": {"email": f"r{index}@example.com"}}
        if index % 3 == 1:
            fields["staffId"] = yoga.staff_id(0)
        if index % 3 == 2:
            fields["seats"] = 2
        requests.append(("createBooking", CREATE_BOOKING, {"input": fields}))
    requests += [("rescheduleBooking", RESCHEDULE, {"input": {"id": booking_id, "start": local(day, 9).isoformat()}})
                 for booking_id in movers]
    random.Random(11).shuffle(requests)

    async def send(client: httpx.AsyncClient, name: str, query: str, variables: dict) -> str:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {owner.token}", "X-Tenant": "studio"})
        body = response.json()
        assert "errors" not in body, body
        errors = body["data"][name]["errors"]
        return errors[0]["code"] if errors else "SOLD"

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio", timeout=120) as client:
        outcomes = Counter(await asyncio.gather(*(send(client, *request) for request in requests)))

    assert set(outcomes) == {"SOLD", "SLOT_UNAVAILABLE"}, outcomes
    async with world.runtime.database.transaction(tenant.id) as db:
        session = (await db.execute(sa.select(ClassSession).where(
            ClassSession.start_time == local(day, 9)))).scalar_one()
        seats = (await db.execute(sa.select(sa.func.sum(Booking.seats)).where(
            Booking.class_session_id == session.id, Booking.status.in_(ACTIVE_STATUSES)))).scalar_one()
        noon_taken = (await db.execute(sa.select(ClassSession.seats_taken).where(
            ClassSession.id != session.id))).scalar_one()
        noon_bookings = (await db.execute(sa.select(sa.func.count()).select_from(Booking).where(
            Booking.class_session_id != session.id))).scalar_one()
    assert seats == session.seats_taken == 10
    assert noon_taken == noon_bookings  # every move gave its seat back to the noon class


async def test_a_session_and_appointments_racing_for_one_instructor_never_both_hold(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    """Sessions and appointments live in two tables; the per-day lock and the check after it
    keep a session and an appointment of one instructor from both landing. Six hours, each
    raced for by one session and four appointments, in a shuffled order."""
    tenant = await world.tenant("studio", time_zone=ZONE)
    yoga = await BookingWorld(world).staffed_service(tenant, name="Yoga", capacity=10, hours=(time(8), time(20)))
    haircut = await BookingWorld(world).staffed_service(tenant, hours=(time(8), time(20)))
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(StaffService(tenant_id=tenant.id, staff_member_id=yoga.staff[0].id, service_id=haircut.service.id))
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    requests = []
    for hour in range(9, 19, 2):
        requests.append((hour, "createClassSession", CREATE_SESSION, {"input": {
            "serviceId": yoga.service_id, "staffId": yoga.staff_id(), "start": local(day, hour).isoformat()}}))
        requests += [(hour, "createBooking", CREATE_BOOKING, {"input": {
            "serviceId": haircut.service_id, "staffId": yoga.staff_id(), "start": local(day, hour, 30).isoformat(),
            "customer": {"email": f"h{hour}-{i}@example.com"}}}) for i in range(4)]
    random.Random(7).shuffle(requests)

    async def send(client: httpx.AsyncClient, hour: int, name: str, query: str, variables: dict) -> tuple[int, str, str]:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {owner.token}", "X-Tenant": "studio"})
        errors = response.json()["data"][name]["errors"]
        return hour, name, errors[0]["code"] if errors else "HELD"

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio", timeout=120) as client:
        outcomes = await asyncio.gather(*(send(client, *request) for request in requests))

    for hour in range(9, 19, 2):
        held = [name for h, name, code in outcomes if h == hour and code == "HELD"]
        assert len(held) == 1, (hour, outcomes)
    assert {code for _, _, code in outcomes} == {"HELD", "SLOT_UNAVAILABLE"}
