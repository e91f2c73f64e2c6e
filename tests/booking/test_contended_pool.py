"""Under more clients than connections, a booking is never made and reported failed (a ghost),
and a request that could not get a connection in time is a typed, retryable
SERVICE_UNAVAILABLE (HTTP 503 with Retry-After), never INTERNAL (issue 12)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.bookings import Booking
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.support import World

CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id startTime customer { email } service { name }
    staff { displayName } } errors { code } } }"""
CLIENTS = 200


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # A pool of 5 (and as many again in overflow) for 200 clients, and a short wait for a
    # connection, so that some requests really do find none.
    return settings_for(postgres_url, rate_limits_enabled=False, db_pool_size=5,
                        db_pool_timeout_seconds=0.5)


async def test_two_hundred_clients_on_five_connections_see_no_internal_and_no_ghost(
    app: Any, world: World
) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(
        tenant, staff_count=4, hours=(time(0), time(23, 59)), duration_minutes=30,
    )
    first_day = future_day(2)

    async def book(client: httpx.AsyncClient, index: int) -> tuple[str, str | None]:
        start = local(first_day + timedelta(days=index % 50), 1 + index // 50)
        response = await client.post("/graphql", headers={"X-Tenant": "salon"}, json={
            "query": CREATE, "variables": {"input": {
                "serviceId": staffed.service_id, "start": start.isoformat(),
                "customer": {"email": f"client{index}@example.com"},
            }},
        })
        body = response.json()
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            if code == "SERVICE_UNAVAILABLE":
                assert response.status_code == 503 and response.headers["retry-after"] == "1"
            return code, None
        payload = body["data"]["createBooking"]
        if payload["errors"]:
            return payload["errors"][0]["code"], None
        assert payload["booking"]["customer"]["email"] == f"client{index}@example.com"
        return "BOOKED", payload["booking"]["id"]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://salon", timeout=120) as client:
        outcomes = await asyncio.gather(*(book(client, i) for i in range(CLIENTS)))

    codes = Counter(code for code, _ in outcomes)
    assert set(codes) <= {"BOOKED", "SERVICE_UNAVAILABLE"}, codes
    assert codes["BOOKED"] > 0
    async with app.state.runtime.database.transaction(tenant.id) as db:
        stored = (await db.execute(sa.select(sa.func.count()).select_from(Booking))).scalar_one()
    assert stored == codes["BOOKED"], f"{stored} bookings stored, {codes['BOOKED']} reported: {codes}"
