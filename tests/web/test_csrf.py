"""Cross-site request forgery: another site cannot ride a browser's session cookie."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.support import World
from tests.web.test_websocket import _close_codes

MEMBERS = {"query": "{ members { edges { cursor } } }"}


async def _browser(app: Any, world: World, origin: str | None, *, bearer: bool = False) -> httpx.Response:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    headers = {"X-Tenant": "salon"} | ({"Origin": origin} if origin else {})
    if bearer:
        headers["Authorization"] = f"Bearer {owner.token}"
    cookies = {} if bearer else {"boka_session": owner.token}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 cookies=cookies) as client:
        return await client.post("/graphql", json=MEMBERS, headers=headers)


async def test_a_cookie_request_from_another_site_is_refused(app: Any, world: World) -> None:
    response = await _browser(app, world, "https://evil.example")
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize("origin", ["http://testserver", None])
async def test_same_site_and_non_browser_cookie_requests_work(app: Any, world: World, origin: str | None) -> None:
    response = await _browser(app, world, origin)
    assert "errors" not in response.json(), response.json()


async def test_bearer_requests_from_any_origin_work(app: Any, world: World) -> None:
    response = await _browser(app, world, "https://partner.example", bearer=True)
    assert "errors" not in response.json()


async def test_a_trusted_front_end_may_use_the_cookie(postgres_url: str, world: World) -> None:
    trusting = create_app(settings_for(postgres_url, trusted_origins="https://app.salon.example"))
    async with trusting.router.lifespan_context(trusting):
        response = await _browser(trusting, world, "https://app.salon.example")
    assert "errors" not in response.json()


async def test_a_websocket_from_another_site_cannot_use_the_cookie(app: Any, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    transport = ASGIWebSocketTransport(app)
    with pytest.raises(BaseException) as refused:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies={"boka_session": owner.token}) as client:
            async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"],
                                   headers={"Origin": "https://evil.example"}) as ws:
                await ws.send_json({"type": "connection_init", "payload": {"tenant": "salon"}})
                await ws.receive_json(timeout=5)
    # Strawberry refuses the cross-origin handshake itself (policy violation), before any auth
    assert _close_codes(refused.value) == [1008]
