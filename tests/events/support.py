"""Shared pieces of the live-layer tests: GraphQL documents, a websocket helper, outbox reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from boka.db import Database
from boka.models.events import Event

CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } errors { field code message } }
}"""
CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } errors { field code } }
}"""
BOOKING_EVENTS = """
subscription Events($staffId: ID) {
  bookingEvents(staffId: $staffId) {
    eventId type sequence status serviceName staffName booking { id status customer { email } }
  }
}"""
CREATE_ENDPOINT = """
mutation Add($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id active } secret errors { field code } }
}"""
AVAILABILITY_CHANGED = """
subscription Slots($service: ID!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(serviceId: $service, from: $from, to: $to) { start seatsLeft }
}"""


async def events(database: Database) -> list[Event]:
    async with database.transaction(all_tenants=True) as db:
        return list((await db.execute(sa.select(Event).order_by(Event.position))).scalars())


@asynccontextmanager
async def live_socket(
    app: Any, *, token: str | None = None, tenant: str = "salon"
) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection to the ASGI app, initialised (ack received)."""
    transport = ASGIWebSocketTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            payload: dict[str, Any] = {"tenant": tenant}
            if token:
                payload["authorization"] = f"Bearer {token}"
            await ws.send_json({"type": "connection_init", "payload": payload})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            yield ws


async def subscribe(ws: Any, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
    await ws.send_json({
        "type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables or {}}
    })


async def next_payload(ws: Any, timeout: float = 10) -> dict[str, Any]:
    """The next message that is not a keep-alive ping."""
    while True:
        message = await ws.receive_json(timeout=timeout)
        if message["type"] == "ping":
            await ws.send_json({"type": "pong"})
            continue
        return message
