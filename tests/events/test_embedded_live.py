"""The live layer in embedded mode: SQLite, no Redis; the relay runs in the app and the
broadcast is in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.booking.schedules import add_time_off
from boka.identity.authentication import resolve_principal
from boka.migrations import upgrade_to_head
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.events.support import (
    AVAILABILITY_CHANGED,
    BOOKING_EVENTS,
    CREATE,
    CREATE_ENDPOINT,
    live_socket,
    next_payload,
    subscribe,
)
from tests.events.webhook_receiver import webhook_receiver
from tests.support import GraphQLClient, World

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", redis_url=None)
    assert settings.runs_relay_in_app
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_booking_events_and_availability_arrive_in_embedded_mode(sqlite_app: Any) -> None:
    world = World(sqlite_app.state.runtime)
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    day = future_day()
    window = {"service": staffed.service_id, "from": local(day, 0).isoformat(), "to": local(day, 23, 59).isoformat()}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http,
        live_socket(sqlite_app, token=owner.token) as ws,
    ):
        gql = GraphQLClient(http)
        await subscribe(ws, "e", BOOKING_EVENTS)
        await subscribe(ws, "a", AVAILABILITY_CHANGED, window)
        first = await next_payload(ws)
        assert first["id"] == "a" and local(day, 10).isoformat() in {
            s["start"] for s in first["payload"]["data"]["availabilityChanged"]}

        result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat(),
                                              "customer": {"email": "x@example.com"}}}, token=owner.token, tenant="salon")
        assert result.data["createBooking"]["errors"] == []
        pushed = {m["id"]: m for m in [await next_payload(ws), await next_payload(ws)]}
        assert pushed["e"]["payload"]["data"]["bookingEvents"]["type"] == "booking.created"
        assert local(day, 10).isoformat() not in {
            s["start"] for s in pushed["a"]["payload"]["data"]["availabilityChanged"]}

        # time off in the afternoon takes those slots away, live
        principal = await resolve_principal(world.runtime.database, world.runtime.identity, credential=owner.token, tenant_header="salon", host=None, ip_address="127.0.0.1")
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            await add_time_off(db, principal, staff_member_id=staffed.staff[0].id,
                               starts_at=local(day, 14), ends_at=local(day, 14) + timedelta(hours=3))
        after_time_off = await next_payload(ws)
        starts = {s["start"] for s in after_time_off["payload"]["data"]["availabilityChanged"]}
        assert after_time_off["id"] == "a"
        assert local(day, 13).isoformat() in starts and local(day, 14).isoformat() not in starts


async def test_webhooks_are_delivered_and_retried_in_process(tmp_path: Path) -> None:
    """Embedded mode has no RQ: the same delivery job runs as an in-process task, retried with
    the same backoff."""
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}", redis_url=None,
                            webhook_retry_base_seconds=1, webhook_max_retries=2,
                            webhook_allow_private_targets=True)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        world = World(application.state.runtime)
        tenant = await world.tenant("salon", time_zone="Europe/Berlin")
        staffed = await BookingWorld(world).staffed_service(tenant)
        owner = await world.person(tenant, Role.OWNER)
        with webhook_receiver() as receiver:
            receiver.fail_first["/hook"] = 1
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as http:
                gql = GraphQLClient(http)
                made = await gql(CREATE_ENDPOINT, {"input": {"url": receiver.base + "/hook", "eventTypes": ["booking.created"]}},
                                 token=owner.token, tenant="salon")
                receiver.secrets["/hook"] = made.data["createWebhookEndpoint"]["secret"]
                booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                                                      "customer": {"email": "x@example.com"}}}, token=owner.token, tenant="salon")
                assert booked.data["createBooking"]["errors"] == []
                for _ in range(150):
                    if len(receiver.at("/hook")) >= 2:
                        break
                    await asyncio.sleep(0.1)
            assert [r.status for r in receiver.at("/hook")] == [500, 200]
            assert all(receiver.signature_ok(r) for r in receiver.at("/hook"))
            assert receiver.at("/hook")[0].json["id"] == receiver.at("/hook")[1].json["id"]
