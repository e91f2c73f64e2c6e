"""Live updates across a Redis restart (issue 12 item 4: an open subscription got 33 of 115
events, then nothing, with no close; new subscriptions got nothing; /readyz said ready).

The test runs a redis-server of its own, kills it under a live subscription and starts it
again. The subscriber is told (the socket closes with 1012, reconnect), /readyz goes unready
while the fan-out is broken and new connections are turned away (1013), reads keep working
(item 6), and once Redis is back /readyz is ready and a new subscription gets events again."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from boka.models.tenancy import Role
from boka.web.app import create_app
from boka.web.live_socket import RECONNECT, TRY_AGAIN_LATER
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import settings_for
from tests.events.support import BOOKING_EVENTS, CREATE, next_payload, subscribe
from tests.servers import RedisServer, redis_server
from tests.support import GraphQLClient, World


@pytest.fixture
def own_redis(tmp_path: Path) -> Any:
    with redis_server(tmp_path / "redis.log") as server:
        yield server


@pytest.fixture
async def on_own_redis(app: Any, postgres_url: str, own_redis: RedisServer) -> AsyncIterator[Any]:
    """An app (with its relay) on the test's own Redis; ``app`` empties the tables after."""
    application = create_app(settings_for(postgres_url, redis_url=own_redis.url, relay_in_app=True))
    async with application.router.lifespan_context(application):
        yield application


async def _init(ws: Any, token: str) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}", "tenant": "salon"}})
    return await ws.receive_json(timeout=10)


async def _ready(client: httpx.AsyncClient, want: bool, within: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get("/readyz")
        if (response.status_code == 200) == want or time.monotonic() > deadline:
            return {"http": response.status_code, **response.json()}
        await asyncio.sleep(0.1)


async def test_a_redis_restart_under_a_live_subscription_is_told_and_then_recovers(
    on_own_redis: Any, own_redis: RedisServer
) -> None:
    app = on_own_redis
    world = World(app.state.runtime)
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)

    async def book(hour: int) -> str:
        response = await gql(CREATE, variables={"input": {
            "serviceId": staffed.service_id, "start": local(future_day(), hour).isoformat(),
            "customer": {"email": f"walk-in-{hour}@example.com"}}}, token=manager.token, tenant="salon")
        return response.data["createBooking"]["booking"]["id"]

    transport = ASGIWebSocketTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        gql = GraphQLClient(client)
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            assert (await _init(ws, manager.token))["type"] == "connection_ack"
            await subscribe(ws, "e", BOOKING_EVENTS)
            await asyncio.sleep(0.2)
            first = await book(9)
            received = await next_payload(ws)
            assert received["payload"]["data"]["bookingEvents"]["booking"]["id"] == first

            own_redis.stop()
            with pytest.raises(WebSocketDisconnect) as closed:
                await next_payload(ws, timeout=10)
        assert closed.value.code == RECONNECT

        broken = await _ready(client, want=False)
        assert broken["http"] == 503 and broken["checks"]["live"] == "unavailable"
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            with pytest.raises(WebSocketDisconnect) as refused:
                await _init(ws, manager.token)
        assert refused.value.code == TRY_AGAIN_LATER
        # Reads do not depend on Redis: they keep answering while it is away (item 6).
        services = await gql("{ services { edges { node { name } } } }", tenant="salon")
        viewer = await gql("{ viewer { role } }", token=manager.token, tenant="salon")
        assert services.body == {"data": {"services": {"edges": [{"node": {"name": "Haircut"}}]}}}
        assert viewer.body == {"data": {"viewer": {"role": "MANAGER"}}}
        text = "{ __typename }"
        persisted = await client.post("/graphql", json={"query": text, "extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": hashlib.sha256(text.encode()).hexdigest()}}})
        assert persisted.json() == {"data": {"__typename": "Query"}}
        # The sign-in limit (5 a minute) is still enforced, by this process alone. The six
        # attempts go at once: one after another, on a loaded machine they can take long
        # enough for the minute's allowance to let a sixth through.
        attempts = await asyncio.gather(*(
            gql('mutation { signIn(input: {email: "x@example.com", password: "wrong password"}) '
                "{ errors { code } } }") for _ in range(6)))
        outcomes = sorted(a.error_codes[0] if a.error_codes else a.data["signIn"]["errors"][0]["code"]
                          for a in attempts)
        assert outcomes == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"]
        # A booking commits; what it sets off waits in the outbox until Redis is back.
        during = await book(13)

        own_redis.start()
        ready = await _ready(client, want=True)
        assert ready["http"] == 200, ready
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            assert (await _init(ws, manager.token))["type"] == "connection_ack"
            await subscribe(ws, "e", BOOKING_EVENTS)
            await asyncio.sleep(0.2)
            second = await book(11)
            seen = []
            while second not in seen:  # the booking made during the outage may come first
                seen.append((await next_payload(ws))["payload"]["data"]["bookingEvents"]["booking"]["id"])
            assert set(seen) <= {during, second}
