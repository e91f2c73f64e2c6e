"""The booking-events fan-out over real sockets, against a uvicorn process: a burst of events
reaches every subscriber that reads, whole and in order, while one that stopped reading is
dropped with SLOW_CONSUMER instead of holding the others up.

The burst is real outbox events (written in one transaction, published by the server's relay
through Redis), all about one booking, so that each is read and rendered like any other. Each
message is made large (the booking under many aliases, ~30 kB), so that the burst outgrows what
the kernel buffers for the stalled socket (loopback send buffers grow to 4 MB) and the
server's writes to it must wait."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect

from boka.config import Settings
from boka.events.outbox import record_event
from boka.models.events import Event
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.events.support import CREATE
from tests.servers import clean_env, uvicorn_server
from tests.support import GraphQLClient, World

BURST = 300
QUEUE = 20  # BOKA_LIVE_QUEUE_SIZE of the server: frames a socket may fall behind
READERS = 3
ALIASES = 250
EVENTS = ("subscription { bookingEvents { eventId type sequence status serviceName staffName "
          + " ".join(f"b{i}: booking {{ id status startTime endTime }}" for i in range(ALIASES))
          + " } }")


async def _subscriber(base: str, token: str, *, stalled: bool = False) -> ClientConnection:
    """A graphql-transport-ws client subscribed to bookingEvents. ``stalled``: a tiny receive
    buffer, and a client library told to stop reading after one message: the kernel's and the
    server's buffers fill, and the server's writes to it must wait."""
    url = base.replace("http://", "ws://") + "/graphql"
    options: dict[str, Any] = {}
    if stalled:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        sock.setblocking(False)
        options = {"sock": sock, "max_queue": 1}
    ws = await connect(url, subprotocols=["graphql-transport-ws"], compression=None,  # type: ignore[list-item]
                       ping_interval=None, **options)
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"authorization": f"Bearer {token}", "tenant": "salon"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
    await ws.send(json.dumps({"type": "subscribe", "id": "e", "payload": {"query": EVENTS}}))
    return ws


async def _read_events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message["type"] == "ping":
            await ws.send('{"type":"pong"}')
            continue
        assert message["type"] == "next" and "errors" not in message["payload"], message
        got.append(message["payload"]["data"]["bookingEvents"])
    return got


async def test_a_burst_reaches_every_reading_subscriber_whole_while_a_stalled_one_is_dropped(
    app: Any, settings: Settings, gql: GraphQLClient, world: World, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "",
                    log_level="WARNING", relay_in_app="true", live_queue_size=str(QUEUE),
                    query_max_aliases=str(ALIASES))
    # uvicorn pings every socket (20 s) and drops one whose pong is late: the stalled client
    # would be closed for that on a slow machine, before the test looks at how it was dropped.
    env["UVICORN_WS_PING_INTERVAL"] = "3600"
    with uvicorn_server(env, tmp_path / "server.log") as base:
        readers = [await _subscriber(base, manager.token) for _ in range(READERS)]
        stalled = await _subscriber(base, manager.token, stalled=True)
        try:
            await asyncio.sleep(0.5)  # the subscriptions are in place
            result = await gql(CREATE, {"input": {
                "serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                "customer": {"email": "walk-in@example.com"}}}, token=manager.token, tenant="salon")
            booking_id = result.data["createBooking"]["booking"]["id"]
            first = [await _read_events(ws, 1) for ws in readers]
            assert {events[0]["b0"]["id"] for events in first} == {booking_id}

            async with world.runtime.database.transaction(tenant.id, write=True) as db:
                created = (await db.execute(sa.select(Event).where(Event.type == "booking.created"))).scalar_one()
                for _ in range(BURST):
                    await record_event(db, tenant_id=tenant.id, aggregate_type=created.aggregate_type,
                                       aggregate_id=created.aggregate_id, type="booking.updated",
                                       payload=created.payload)

            # Every reader gets the whole burst, in order, once each, while the stalled
            # subscriber has read nothing: the fan-out never waited for it.
            bursts = await asyncio.gather(*(_read_events(ws, BURST) for ws in readers))
            for events in bursts:
                assert [event["sequence"] for event in events] == list(range(2, BURST + 2))
                assert len({event["eventId"] for event in events}) == BURST

            # The stalled one, reading at last: what was queued for it, then SLOW_CONSUMER and
            # complete for its subscription; the connection itself stays usable.
            received: list[dict[str, Any]] = []
            while True:
                message = json.loads(await asyncio.wait_for(stalled.recv(), 60))
                received.append(message)
                if message["type"] == "complete":
                    break
            nexts = [m for m in received if m["type"] == "next" and "errors" not in m["payload"]]
            errors = [m for m in received if m["type"] == "next" and "errors" in m["payload"]]
            assert len(nexts) < BURST + 1, "the stalled socket was never held up: the test proves nothing"
            assert [e["payload"]["errors"][0]["extensions"]["code"] for e in errors] == ["SLOW_CONSUMER"]
            sequences = [m["payload"]["data"]["bookingEvents"]["sequence"] for m in nexts]
            assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
            await stalled.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(stalled.recv(), 30))["type"] == "pong"
        finally:
            for ws in [*readers, stalled]:
                await ws.close()
