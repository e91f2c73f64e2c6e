"""The live layer across real processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from httpx_ws import aconnect_ws

from boka.config import Settings
from boka.events.broadcast import make_broadcast
from boka.events.live import events_channel
from boka.events.outbox import record_event
from boka.migrations import PROJECT_ROOT
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.events.support import BOOKING_EVENTS, CREATE, events, next_payload, subscribe
from tests.servers import clean_env, uvicorn_server
from tests.support import World


async def test_a_booking_through_one_process_reaches_a_subscriber_of_the_other_exactly_once(
    app: Any, settings: Settings, world: World, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "",
                    log_level="WARNING", relay_in_app="true")
    with uvicorn_server(env, tmp_path / "one.log") as one, uvicorn_server(env, tmp_path / "two.log") as two:
        async with httpx.AsyncClient(timeout=30) as client:
            async with aconnect_ws(f"{two}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send_json({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {manager.token}", "tenant": "salon"}})
                assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
                await subscribe(ws, "e", BOOKING_EVENTS)
                await asyncio.sleep(0.3)
                response = await client.post(f"{one}/graphql", headers={
                    "Authorization": f"Bearer {manager.token}", "X-Tenant": "salon"
                }, json={"query": CREATE, "variables": {"input": {
                    "serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                    "customer": {"email": "walk-in@example.com"}}}})
                booking = response.json()["data"]["createBooking"]["booking"]
                received = await next_payload(ws, timeout=5)
                assert received["payload"]["data"]["bookingEvents"]["type"] == "booking.created"
                assert received["payload"]["data"]["bookingEvents"]["booking"]["id"] == booking["id"]
                try:
                    extra = await next_payload(ws, timeout=1.5)
                except TimeoutError:
                    extra = None
                assert extra is None, f"delivered twice: {extra}"


def _relay_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "", log_level="WARNING")
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "worker.py", "--relay-only"], cwd=PROJECT_ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_a_relay_killed_mid_batch_loses_nothing_after_restart(
    app: Any, settings: Settings, world: World, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon")
    aggregates = [uuid.uuid4() for _ in range(3)]
    for index in range(600):
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            await record_event(db, tenant_id=tenant.id, aggregate_type="test",
                               aggregate_id=aggregates[index % 3], type="test.happened", payload={"i": index})
    expected = {str(e.id) for e in await events(world.runtime.database)}

    broadcast = make_broadcast(settings.redis_url)
    await broadcast.connect()
    received: list[dict[str, Any]] = []
    try:
        async with broadcast.subscribe(events_channel(settings)) as subscriber:
            relay = _relay_process(settings, tmp_path / "relay.log")
            try:
                first = await asyncio.wait_for(subscriber.get(), 30)
                received.append(json.loads(first.message))
                relay.send_signal(signal.SIGKILL)  # no cleanup, no final marking
                relay.wait(10)
            finally:
                if relay.poll() is None:
                    relay.kill()
            # what was published before the kill, still in flight
            while True:
                try:
                    received.append(json.loads((await asyncio.wait_for(subscriber.get(), 0.5)).message))
                except TimeoutError:
                    break
            published_before_restart = {m["id"] for m in received}
            assert published_before_restart < expected, "the kill came too late to test anything"

            restarted = _relay_process(settings, tmp_path / "relay.log")
            try:
                while not expected <= {m["id"] for m in received}:
                    received.append(json.loads((await asyncio.wait_for(subscriber.get(), 30)).message))
                for _ in range(300):  # and it records its progress
                    if all(e.published_at is not None for e in await events(world.runtime.database)):
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the restarted relay never marked its events published")
            finally:
                restarted.terminate()
                restarted.wait(10)
    finally:
        await broadcast.disconnect()

    assert {m["id"] for m in received} == expected
    # per aggregate, the first delivery of each event comes in sequence order
    for aggregate in aggregates:
        firsts: list[int] = []
        for message in received:
            if message["aggregate_id"] == str(aggregate) and message["sequence"] not in firsts:
                firsts.append(message["sequence"])
        assert firsts == sorted(firsts) == list(range(1, 201))
