"""No double booking, ever: many customers race for one slot through the real HTTP server
(uvicorn, its own process and connection pool) against PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from boka.booking.class_sessions import new_session
from boka.config import Settings
from boka.models.bookings import Booking
from boka.models.sessions import ClassSession
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import BookingWorld, future_day, local
from tests.servers import clean_env, uvicorn_server
from tests.support import World

CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code } } }"""


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "", log_level="WARNING")
    with uvicorn_server(env, tmp_path / "server.log") as base:
        yield base


async def _race(base: str, token: str, requests: list[dict]) -> Counter[str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        # Warm up: open the server's whole connection pool first, so that the racing
        # requests really reach the database together instead of queueing for connections.
        await asyncio.gather(*(client.get("/readyz") for _ in range(40)))

        async def book(variables: dict) -> str:
            response = await client.post(
                "/graphql", json={"query": CREATE, "variables": variables},
                headers={"Authorization": f"Bearer {token}", "X-Tenant": "salon"},
            )
            body = response.json()
            assert "errors" not in body, body
            errors = body["data"]["createBooking"]["errors"]
            return errors[0]["code"] if errors else "BOOKED"

        return Counter(await asyncio.gather(*(book(v) for v in requests)))


async def test_fifty_concurrent_bookings_of_one_slot_make_exactly_one(server: str, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    start = local(future_day(), 10).isoformat()
    requests = [
        {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(), "start": start,
                   "customer": {"email": f"racer{i}@example.com"}}}
        for i in range(50)
    ]

    outcomes = await _race(server, owner.token, requests)

    assert outcomes == Counter({"BOOKED": 1, "SLOT_UNAVAILABLE": 49})
    async with world.runtime.database.transaction(all_tenants=True) as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Booking))).scalar_one() == 1


async def test_thirty_racing_for_five_seats_get_exactly_five(server: str, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, name="Spin class", capacity=5)
    owner = await world.person(tenant, Role.OWNER)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(new_session(staffed.service, staffed.staff[0].id, local(future_day(), 15), now=utcnow()))
    start = local(future_day(), 15).isoformat()
    requests = [
        {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(), "start": start,
                   "customer": {"email": f"rider{i}@example.com"}}}
        for i in range(30)
    ]

    outcomes = await _race(server, owner.token, requests)

    assert outcomes == Counter({"BOOKED": 5, "SLOT_UNAVAILABLE": 25})
    async with world.runtime.database.transaction(all_tenants=True) as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Booking))).scalar_one() == 5
        assert (await db.execute(sa.select(ClassSession.seats_taken))).scalar_one() == 5


async def test_overlapping_starts_on_one_staff_member_race_safely(server: str, world: World) -> None:
    """Different starts that overlap (10:00 to 11:30, 60 minutes each) also cannot coexist,
    and the deadlocks PostgreSQL breaks between such inserts never surface as errors."""
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    starts = [local(day, 10), local(day, 10, 30), local(day, 11), local(day, 11, 30)] * 15
    requests = [
        {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(), "start": s.isoformat(),
                   "customer": {"email": f"o{i}@example.com"}}}
        for i, s in enumerate(starts)
    ]

    await _race(server, owner.token, requests)

    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = (await db.execute(sa.select(Booking.start_time, Booking.end_time).order_by(Booking.start_time))).all()
    for (_, earlier_end), (later_start, _) in zip(rows, rows[1:]):
        assert earlier_end <= later_start, rows
    assert 1 <= len(rows) <= 2  # two 60-minute bookings at most fit in 10:00-12:30
