"""Production defaults (issue 12): what an anonymous caller learns of the schema, GraphiQL, and
the session cookie behind HTTPS. The suite's app runs on PostgreSQL: production mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from boka.config import Settings
from boka.models.tenancy import Role
from tests.conftest import settings_for
from tests.identity.test_sign_in import SIGN_IN
from tests.support import PASSWORD, GraphQLClient, World
from tests.web.test_websocket import _init, websocket

INTROSPECT = "{ __schema { queryType { name } } }"
TYPO = "{ viewr { role } }"  # graphql-core would suggest "viewer"


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Nothing set: the defaults a PostgreSQL deployment gets, behind https.
    return settings_for(postgres_url, graphiql=None, public_url="https://book.example.com")


async def test_anonymous_callers_get_no_introspection_and_no_suggestions(
    gql: GraphQLClient, world: World, app: Any
) -> None:
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF)

    anonymous = await gql(INTROSPECT, tenant="salon")
    typo = await gql(TYPO, tenant="salon")
    signed_in = await gql(INTROSPECT, token=staff.token, tenant="salon")
    signed_in_typo = await gql(TYPO, token=staff.token, tenant="salon")
    async with websocket(app) as ws:
        assert (await _init(ws, {"tenant": "salon"}))["type"] == "connection_ack"
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": INTROSPECT}})
        over_websocket = await ws.receive_json(timeout=5)

    assert anonymous.error_codes == ["VALIDATION_ERROR"] and anonymous.body["data"] is None
    assert "anonymous" in anonymous.errors[0]["message"]
    assert typo.error_codes == ["VALIDATION_ERROR"]
    assert "Did you mean" not in typo.errors[0]["message"] and "viewer" not in typo.errors[0]["message"]
    assert signed_in.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean 'viewer'?" in signed_in_typo.errors[0]["message"]
    assert over_websocket["type"] == "error"
    assert "introspection" in over_websocket["payload"][0]["message"]


async def test_graphiql_is_off_and_the_session_cookie_secure_behind_https(
    http: httpx.AsyncClient, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    await world.person(tenant, Role.STAFF, email="sam@example.com")

    page = await http.get("/graphql", headers={"Accept": "text/html"})
    signed_in = await gql(SIGN_IN, {"email": "sam@example.com", "password": PASSWORD}, tenant="salon")

    assert page.status_code == 406 and page.headers["content-type"] == "application/json"  # no IDE
    cookie = signed_in.response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age=" in signed_in.response.headers["strict-transport-security"]


def test_embedded_mode_keeps_its_developer_comforts() -> None:
    embedded = Settings(database_url="sqlite+aiosqlite:///./x.db")
    production = Settings(database_url="postgresql+asyncpg://db/boka")
    assert embedded.serves_graphiql and embedded.anonymous_introspection and not embedded.secure_cookies
    assert not production.serves_graphiql and not production.anonymous_introspection
    assert Settings(public_url="https://book.example.com").secure_cookies
    assert not Settings(public_url="https://book.example.com", cookie_secure=False).secure_cookies
