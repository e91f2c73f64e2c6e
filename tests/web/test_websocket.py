"""The graphql-transport-ws endpoint: authentication in connection_init, tenant scoping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from boka.models.tenancy import Role
from tests.support import World

PROTOCOL = "graphql-transport-ws"


@asynccontextmanager
async def websocket(app: Any, protocol: str = PROTOCOL) -> AsyncIterator[Any]:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=[protocol]) as ws:
            yield ws


async def _init(ws: Any, payload: dict[str, Any]) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": payload})
    return await ws.receive_json(timeout=5)


async def test_token_in_connection_init_authenticates_operations(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF, email="sam@example.com")

    async with websocket(app) as ws:
        ack = await _init(ws, {"authorization": f"Bearer {staff.token}", "tenant": "salon"})
        assert ack["type"] == "connection_ack"
        await ws.send_json({
            "type": "subscribe",
            "id": "1",
            "payload": {"query": "{ viewer { user { email } role tenant { slug } } }"},
        })
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "next" and message["id"] == "1"
        assert message["payload"]["data"]["viewer"] == {
            "user": {"email": "sam@example.com"},
            "role": "STAFF",
            "tenant": {"slug": "salon"},
        }
        assert (await ws.receive_json(timeout=5))["type"] == "complete"


async def test_a_dead_token_closes_the_connection_with_4403(app: Any, world: World) -> None:
    await world.tenant("salon")
    async with websocket(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer bks_nope"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4403


async def test_anonymous_connection_gets_access_errors_not_data(app: Any, world: World) -> None:
    await world.tenant("salon")
    async with websocket(app) as ws:
        assert (await _init(ws, {"tenant": "salon"}))["type"] == "connection_ack"
        await ws.send_json({
            "type": "subscribe", "id": "m", "payload": {"query": "{ members { edges { cursor } } }"}
        })
        message = await ws.receive_json(timeout=5)
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _close_codes(error: BaseException) -> list[int]:
    if isinstance(error, WebSocketDisconnect):
        return [error.code]
    if isinstance(error, BaseExceptionGroup):
        return [code for inner in error.exceptions for code in _close_codes(inner)]
    return []


async def test_legacy_graphql_ws_protocol_is_refused(app: Any) -> None:
    # The legacy protocol let clients skip the auth handshake; only graphql-transport-ws is spoken.
    with pytest.raises(BaseException) as refused:
        async with websocket(app, protocol="graphql-ws") as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            await ws.receive_json(timeout=5)
    assert _close_codes(refused.value) == [4406]


@pytest.mark.parametrize(("query", "operation_name", "says"), [
    ("subscription { bookingEvents { type ", None, "Syntax Error"),
    ("subscription { noSuchField }", None, "Cannot query field"),
    ("subscription A { bookingEvents { type } }", "B", "Unknown operation named"),
])
async def test_a_subscription_that_cannot_run_gets_an_error_message(
    app: Any, world: World, query: str, operation_name: str | None, says: str
) -> None:
    await world.tenant("salon")
    async with websocket(app) as ws:
        assert (await _init(ws, {"tenant": "salon"}))["type"] == "connection_ack"
        await ws.send_json({"type": "subscribe", "id": "bad",
                            "payload": {"query": query, "operationName": operation_name}})
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "error" and message["id"] == "bad", message
        assert says in message["payload"][0]["message"]
        assert message["payload"][0]["extensions"]["code"] == "VALIDATION_ERROR"
        assert message["payload"][0]["extensions"]["request_id"]
        # The connection carries on: another operation still runs.
        await ws.send_json({"type": "subscribe", "id": "ok", "payload": {"query": "{ __typename }"}})
        assert (await ws.receive_json(timeout=5))["payload"]["data"] == {"__typename": "Query"}
