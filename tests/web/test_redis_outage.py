"""With Redis unreachable, requests that need no background work still answer: rate limits are
decided in each process, the identity cache is off, persisted queries fall back to their text
(issue 12: every request answered INTERNAL for as long as Redis was away)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.support import GraphQLClient, World

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
async def without_redis(postgres_url: str) -> AsyncIterator[Any]:
    application = create_app(settings_for(postgres_url, redis_url=UNREACHABLE_REDIS))
    async with application.router.lifespan_context(application):
        yield application


async def test_reads_and_sign_in_answer_while_redis_is_away(
    without_redis: Any, app: Any, world: World
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    transport = httpx.ASGITransport(app=without_redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        gql = GraphQLClient(client)
        anonymous = await gql("{ __typename }")
        signed_in = await gql("{ viewer { role } }", token=owner.token, tenant="salon")
        refused_sign_in = await gql(
            'mutation { signIn(input: {email: "nobody@example.com", password: "wrong password"}) '
            "{ errors { code } } }")
        text = "{ __typename }"
        by_hash = await client.post("/graphql", json={"extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": hashlib.sha256(text.encode()).hexdigest()}}})

    assert anonymous.body == {"data": {"__typename": "Query"}}
    assert signed_in.body == {"data": {"viewer": {"role": "OWNER"}}}
    assert refused_sign_in.data["signIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert by_hash.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
