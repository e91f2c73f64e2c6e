"""Slot-hold races on PostgreSQL, through the real HTTP server (uvicorn, its own process and
pool): sixty guests holding the same slot at once make exactly one hold (the bookings'
exclusion constraint decides, as for bookings); sixty bookings of one hold at once make exactly
one booking; holds racing plain bookings for one slot leave exactly one of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.bookings import Booking
from boka.models.holds import SlotHold
from tests.booking.support import BookingWorld, Staffed, future_day, local
from tests.servers import clean_env, uvicorn_server
from tests.support import World

HOLD = """mutation Hold($input: HoldSlotInput!) {
  holdSlot(input: $input) { hold { holdId } errors { code } } }"""
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code } } }"""


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "", log_level="WARNING")
    with uvicorn_server(env, tmp_path / "server.log") as base:
        yield base


async def _race(base: str, calls: list[tuple[str, str, dict]]) -> list[tuple[str, dict]]:
    """Send every (document, field, input) at once, as guests; each outcome: the first error's
    code or "OK", with the payload."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await asyncio.gather(*(client.get("/readyz") for _ in range(40)))  # open the pool first

        async def act(document: str, name: str, input: dict) -> tuple[str, dict]:
            response = await client.post(
                "/graphql", json={"query": document, "variables": {"input": input}},
                headers={"X-Tenant": "salon"})
            body = response.json()
            assert "errors" not in body, body
            payload = body["data"][name]
            return (payload["errors"][0]["code"] if payload["errors"] else "OK"), payload

        return list(await asyncio.gather(*(act(*call) for call in calls)))


async def _salon(world: World) -> Staffed:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    return await BookingWorld(world).staffed_service(tenant)


async def _rows(world: World) -> tuple[list[SlotHold], list[Booking]]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        holds = list((await db.execute(sa.select(SlotHold))).scalars())
        bookings = list((await db.execute(
            sa.select(Booking).where(Booking.status.in_(("pending", "confirmed"))))).scalars())
    return holds, bookings


async def test_sixty_racing_holds_of_one_slot_make_exactly_one(server: str, world: World) -> None:
    staffed = await _salon(world)
    start = local(future_day(), 10).isoformat()

    outcomes = await _race(server, [(HOLD, "holdSlot", {"serviceId": staffed.service_id, "start": start})] * 60)

    assert Counter(code for code, _ in outcomes) == Counter({"OK": 1, "SLOT_UNAVAILABLE": 59})
    holds, bookings = await _rows(world)
    assert len(holds) == 1 and [b.id for b in bookings] == [holds[0].booking_id]


async def test_sixty_racing_bookings_of_one_hold_make_exactly_one(server: str, world: World) -> None:
    staffed = await _salon(world)
    start = local(future_day(), 10).isoformat()
    [(code, held)] = await _race(server, [(HOLD, "holdSlot", {"serviceId": staffed.service_id, "start": start})])
    assert code == "OK"
    hold_id = held["hold"]["holdId"]

    outcomes = await _race(server, [
        (CREATE, "createBooking", {"holdId": hold_id, "customer": {"email": f"guest{i}@example.com"}})
        for i in range(60)
    ])

    assert Counter(code for code, _ in outcomes) == Counter({"OK": 1, "INVALID_TRANSITION": 59})
    holds, bookings = await _rows(world)
    assert [h.status for h in holds] == ["converted"]
    assert len(bookings) == 1 and bookings[0].customer_id is not None


async def test_holds_racing_bookings_for_one_slot_leave_exactly_one(server: str, world: World) -> None:
    staffed = await _salon(world)
    start = local(future_day(), 10).isoformat()
    calls = [
        (HOLD, "holdSlot", {"serviceId": staffed.service_id, "start": start}) if i % 2 else
        (CREATE, "createBooking", {"serviceId": staffed.service_id, "start": start,
                                   "customer": {"email": f"guest{i}@example.com"}})
        for i in range(60)
    ]

    outcomes = await _race(server, calls)

    codes = Counter(code for code, _ in outcomes)
    assert codes["OK"] == 1 and codes["SLOT_UNAVAILABLE"] == 59, codes
    _, bookings = await _rows(world)
    assert len(bookings) == 1
