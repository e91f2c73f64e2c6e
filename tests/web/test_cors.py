"""CORS (issue 14): a browser front end on a listed origin may call /graphql with its cookie;
every other origin's preflight fails. The websocket's Origin check and the CSRF rule use the
same list (BOKA_CORS_ORIGINS)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from boka.config import Settings
from boka.models.tenancy import Role
from tests.conftest import settings_for
from tests.support import World

FRONT_END = "https://app.salon.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-tenant, idempotency-key",
}


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, cors_origins=f"{FRONT_END}, https://other.salon.example")


async def test_a_preflight_from_a_listed_origin_succeeds_and_any_other_fails(http: httpx.AsyncClient) -> None:
    allowed = await http.options("/graphql", headers={"Origin": FRONT_END, **PREFLIGHT})
    refused = await http.options("/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == FRONT_END
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-max-age"] == "7200"
    assert {"POST", "GET"} <= {m.strip() for m in allowed.headers["access-control-allow-methods"].split(",")}
    assert "x-tenant" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_a_listed_front_end_calls_with_its_cookie_and_reads_the_answer(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 cookies={"boka_session": owner.token}) as client:
        listed = await client.post("/graphql", json={"query": "{ members { edges { cursor } } }"},
                                   headers={"Origin": FRONT_END, "X-Tenant": "salon"})
        other = await client.post("/graphql", json={"query": "{ members { edges { cursor } } }"},
                                  headers={"Origin": "https://evil.example", "X-Tenant": "salon"})

    assert "errors" not in listed.json(), listed.json()
    assert listed.headers["access-control-allow-origin"] == FRONT_END
    assert "x-request-id" in listed.headers["access-control-expose-headers"].lower()
    # Another origin: no CORS grant (the browser hides the answer) and the cookie is not honoured.
    assert "access-control-allow-origin" not in other.headers
    assert [e["extensions"]["code"] for e in other.json()["errors"]] == ["FORBIDDEN"]


async def test_the_websocket_accepts_a_listed_origin(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver",
                                 cookies={"boka_session": owner.token}) as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"],
                               headers={"Origin": FRONT_END}) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"tenant": "salon"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"


async def test_a_tenants_own_domain_may_call_without_credentials(http: httpx.AsyncClient, world: World) -> None:
    await world.tenant("salon", domain="book.salon.example")

    page = await http.options("/graphql", headers={"Origin": "https://book.salon.example", **PREFLIGHT})
    call = await http.post("/graphql", json={"query": "{ __typename }"},
                           headers={"Origin": "https://book.salon.example"})
    plain_http = await http.options("/graphql", headers={"Origin": "http://book.salon.example", **PREFLIGHT})
    unknown = await http.options("/graphql", headers={"Origin": "https://book.other.example", **PREFLIGHT})

    # A grant without credentials: the page calls with a bearer token, never a Boka cookie.
    assert page.status_code == 200 and page.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in page.headers
    assert call.headers["access-control-allow-origin"] == "*"
    assert plain_http.status_code == unknown.status_code == 400
