"""Waitlist races on PostgreSQL: a hundred claims of one offer through the real HTTP server
(uvicorn, its own process and pool) make exactly one booking; a hundred offer passes for one
freed hour (the job, as a redelivered event or several relays would run it) make exactly one
offer, to the first in line; claims racing declines settle the offer exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from boka.booking.links import offer_token
from boka.config import Settings
from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.waitlist import offer_freed_time_job
from boka.models.bookings import Booking, BookingHistory
from boka.models.events import Event
from boka.models.tenancy import Role
from tests.booking.support import gid
from tests.booking.waitlist_support import (
    Salon,
    cancel_the_booking,
    entries,
    event_types,
    join,
    offer_pass,
    offers,
    salon_with_a_full_morning,
)
from tests.conftest import TEST_SECRET_KEY
from tests.servers import clean_env, uvicorn_server
from tests.support import GraphQLClient, World

ACTION = """mutation Act($input: WaitlistOfferActionInput!) {
  %s(input: $input) { offer { status } errors { code } } }"""


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "", log_level="WARNING")
    with uvicorn_server(env, tmp_path / "server.log") as base:
        yield base


async def _race(base: str, calls: list[tuple[str, dict, str | None]]) -> Counter[str]:
    """Send every (mutation, input, bearer token) at once; count the outcomes."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await asyncio.gather(*(client.get("/readyz") for _ in range(40)))  # open the pool first

        async def act(name: str, input: dict, token: str | None) -> str:
            headers = {"X-Tenant": "salon", **({"Authorization": f"Bearer {token}"} if token else {})}
            response = await client.post(
                "/graphql", json={"query": ACTION % name, "variables": {"input": input}}, headers=headers)
            body = response.json()
            assert "errors" not in body, body
            payload = body["data"][name]
            return payload["errors"][0]["code"] if payload["errors"] else payload["offer"]["status"]

        return Counter(await asyncio.gather(*(act(*call) for call in calls)))


async def _offered(gql: GraphQLClient, world: World) -> tuple[Salon, str, str, object]:
    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    await join(gql, salon, token=ann.token)
    await cancel_the_booking(gql, salon)
    [offer] = await offer_pass(world, salon)
    return salon, ann.token, offer_token(TEST_SECRET_KEY, offer.id), offer


async def test_a_hundred_racing_claims_make_exactly_one_booking(
    server: str, gql: GraphQLClient, world: World
) -> None:
    salon, ann_token, token, offer = await _offered(gql, world)
    offer_gid = gid("WaitlistOffer", offer.id)  # type: ignore[attr-defined]
    calls = [("claimWaitlistOffer", {"id": offer_gid}, ann_token) if i % 2 else
             ("claimWaitlistOffer", {"token": token}, None) for i in range(100)]

    outcomes = await _race(server, calls)

    assert outcomes == Counter({"CLAIMED": 1, "INVALID_TRANSITION": 99})
    async with world.runtime.database.transaction(all_tenants=True) as db:
        active = (await db.execute(sa.select(Booking).where(Booking.status.in_(("pending", "confirmed"))))).scalars().all()
        confirmations = (await db.execute(sa.select(sa.func.count()).select_from(BookingHistory).where(
            BookingHistory.booking_id == offer.booking_id, BookingHistory.action == "confirmed"))).scalar_one()  # type: ignore[attr-defined]
        confirmed_events = (await db.execute(sa.select(sa.func.count()).select_from(Event).where(
            Event.type == "booking.confirmed"))).scalar_one()
    assert [(b.id, b.status) for b in active] == [(offer.booking_id, "confirmed")]  # type: ignore[attr-defined]
    assert confirmations == 1 and confirmed_events == 1
    assert (await event_types(world)).count("waitlist.claimed") == 1


async def test_claims_racing_declines_settle_the_offer_exactly_once(
    server: str, gql: GraphQLClient, world: World
) -> None:
    salon, _, token, offer = await _offered(gql, world)
    calls = [("claimWaitlistOffer" if i % 2 else "declineWaitlistOffer", {"token": token}, None)
             for i in range(100)]

    outcomes = await _race(server, calls)

    winners = {k: v for k, v in outcomes.items() if k != "INVALID_TRANSITION"}
    assert sum(winners.values()) == 1 and outcomes["INVALID_TRANSITION"] == 99, outcomes
    [settled] = await offers(world)
    assert settled.status == ("claimed" if "CLAIMED" in winners else "declined")
    types = await event_types(world)
    assert types.count("waitlist.claimed") + types.count("waitlist.declined") == 1


async def test_a_hundred_racing_offer_passes_offer_the_hour_once_to_the_first_in_line(
    gql: GraphQLClient, world: World
) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    for i in range(100):  # a hundred guests in line, by email
        assert (await join(gql, salon, email=f"waiting{i:03}@example.com"))["errors"] == []
    await cancel_the_booking(gql, salon)
    arguments = (str(salon.tenant.id), [str(salon.staffed.service.id)],
                 salon.start.isoformat(), salon.start.replace(hour=11).isoformat())

    binding = bind_runtime(world.runtime)  # the job function, run here on the app's runtime
    try:
        results = await asyncio.gather(*(offer_freed_time_job(*arguments) for _ in range(100)))
    finally:
        unbind_runtime(binding)

    assert Counter(results) == Counter({"1 offered": 1, "0 offered": 99})
    [offer] = await offers(world)
    line = await entries(world)
    assert offer.entry_id == line[0].id  # first come, first served
    assert [e.status for e in line].count("offered") == 1
    assert (await event_types(world)).count("waitlist.offered") == 1
    async with world.runtime.database.transaction(all_tenants=True) as db:
        held = (await db.execute(sa.select(Booking).where(Booking.status == "pending"))).scalars().all()
    assert [b.id for b in held] == [offer.booking_id]
