"""100 concurrent requests for the last booking a limit allows, each for a different free time
(so no exclusion constraint decides between them): exactly one wins on PostgreSQL, the others
are refused with SLOT_UNAVAILABLE carrying LIMIT_REACHED. The per-period advisory lock
(boka/booking/limits.py) serialises them; without it each would count the same two bookings."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.tenancy import Role
from tests.booking.support import ZONE, BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.support import GraphQLClient, World

RACERS = 100
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code reasons } } }"""
SET_STAFF_LIMITS = """mutation($input: SetStaffBookingLimitsInput!) {
  setStaffBookingLimits(input: $input) { errors { code } } }"""
SET_SERVICE_LIMITS = """mutation($input: SetServiceBookingLimitsInput!) {
  setServiceBookingLimits(input: $input) { errors { code } } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Every request waits its turn on the period's lock, holding its connection; on a shared,
    # busy machine the queue can take minutes: give it time rather than a 503.
    return settings_for(postgres_url, rate_limits_enabled=False, db_pool_timeout_seconds=300)


@pytest.mark.parametrize("scope", ["service", "staff"])
async def test_a_hundred_requests_for_the_last_booking_under_a_limit_one_wins(
    app: Any, gql: GraphQLClient, world: World, scope: str
) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(
        tenant, hours=(time(6), time(23)), duration_minutes=10, slot_interval_minutes=10
    )
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    limits = [{"period": "DAY", "maxBookings": 3}, {"period": "MONTH", "maxBookings": 500}]
    if scope == "service":
        variables = {"input": {"serviceId": staffed.service_id, "limits": limits}}
        set_ = await gql(SET_SERVICE_LIMITS, variables, token=owner.token, tenant="salon")
    else:
        variables = {"input": {"staffMemberId": staffed.staff_id(), "limits": limits}}
        set_ = await gql(SET_STAFF_LIMITS, variables, token=owner.token, tenant="salon")
    assert not set_.errors and not next(iter(set_.data.values()))["errors"]

    def request(start: Any, email: str) -> dict[str, Any]:
        return {"query": CREATE, "variables": {"input": {
            "serviceId": staffed.service_id, "start": start.isoformat(), "customer": {"email": email}}}}

    async def send(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        response = await client.post("/graphql", json=body, headers={
            "Authorization": f"Bearer {owner.token}", "X-Tenant": "salon"})
        payload = response.json()
        assert "errors" not in payload, payload
        errors = payload["data"]["createBooking"]["errors"]
        return f"{errors[0]['code']} {','.join(errors[0]['reasons'])}" if errors else "BOOKED"

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://salon", timeout=600) as client:
        for index, hour in enumerate((6, 7)):  # two of the three the day allows
            assert await send(client, request(local(day, hour), f"early{index}@example.com")) == "BOOKED"
        every = [local(day, 6) + timedelta(minutes=10 * k) for k in range(17 * 6)]  # 06:00-22:50
        starts = [start for start in every if start not in (local(day, 6), local(day, 7))]
        assert len(starts) == RACERS
        outcomes = Counter(await asyncio.gather(*(
            send(client, request(start, f"racer{k}@example.com")) for k, start in enumerate(starts)
        )))

    assert outcomes == {"BOOKED": 1, "SLOT_UNAVAILABLE LIMIT_REACHED": RACERS - 1}, outcomes
    async with world.runtime.database.transaction(tenant.id) as db:
        active = (await db.execute(sa.select(sa.func.count()).select_from(Booking).where(
            Booking.status.in_(ACTIVE_STATUSES), Booking.start_time >= local(day, 0),
            Booking.start_time < local(day + timedelta(days=1), 0)))).scalar_one()
    assert active == 3
