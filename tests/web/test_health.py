"""Liveness and readiness, against real and unreachable dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from boka.web.app import create_app
from tests.conftest import settings_for

UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    """Builds a client for an app with the given settings; shuts the apps down afterwards."""
    stack: list[Any] = []

    async def make(**settings: Any) -> httpx.AsyncClient:
        app = create_app(settings_for(**settings))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        stack.append((lifespan, client))
        return client

    yield make
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_healthz_and_readyz_are_ok_with_postgres_and_redis(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    ready = await http.get("/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok", "live": "ok"}}


async def test_readyz_is_503_when_the_database_is_unreachable(client_for: Any, postgres_url: str) -> None:
    client = await client_for(database_url=UNREACHABLE_POSTGRES)

    ready = await client.get("/readyz")
    health = await client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"
    assert health.status_code == 200  # the process itself is fine


async def test_readyz_is_503_when_redis_is_unreachable(client_for: Any, postgres_url: str) -> None:
    client = await client_for(database_url=postgres_url, redis_url=UNREACHABLE_REDIS)

    ready = await client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "redis": "unavailable", "live": "unavailable"}


@pytest.mark.sqlite
async def test_readyz_without_redis_checks_the_database_and_the_in_memory_fan_out(client_for: Any, tmp_path: Any) -> None:
    client = await client_for(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", redis_url=None)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "live": "ok"}


async def test_postgres_deployment_refuses_the_development_secret(postgres_url: str) -> None:
    with pytest.raises(RuntimeError, match="BOKA_SECRET_KEY"):
        create_app(settings_for(postgres_url, secret_key="dev-insecure-secret-change-me"))
