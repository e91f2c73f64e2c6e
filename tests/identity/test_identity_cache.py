"""The identity cache (boka/identity/cache.py) never lets a change go unseen: a revoked
session, a changed role or a disabled account is seen at once, in this process and in another
one sharing the database and Redis, while unchanged identities stop costing a query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from boka.config import Settings
from boka.identity.cache import IdentityCache
from boka.models.identity import User
from boka.models.tenancy import Role, TenantUser
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.identity.security_support import VIEWER
from tests.support import GraphQLClient, World

SIGN_OUT = "mutation { signOut { signedOut errors { code } } }"


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Long enough that nothing here expires on its own on a slow machine: what is tested is
    # that changes clear the cache, not its time to live.
    return settings_for(postgres_url, rate_limits_enabled=False, identity_cache_seconds=600)


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A second app instance with its own runtime (its own cache and Redis subscription), as
    another process behind the load balancer would have."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            yield GraphQLClient(client)


def _count_statements(app: Any) -> list[str]:
    statements: list[str] = []
    engine = app.state.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


async def _role(gql: GraphQLClient, token: str, tenant: str) -> str | None:
    return (await gql(VIEWER, token=token, tenant=tenant)).data["viewer"]["role"]


async def _user_within_a_second(gql: GraphQLClient, token: str, tenant: str, expected: Any) -> Any:
    """What another process answers once the invalidation reached it (Redis delivers it a
    moment after the commit; the cache itself would keep the entry for 10 minutes here)."""
    deadline = asyncio.get_running_loop().time() + 1
    while True:
        user = (await gql(VIEWER, token=token, tenant=tenant)).data["viewer"]["user"]
        if user == expected or asyncio.get_running_loop().time() > deadline:
            return user
        await asyncio.sleep(0.01)


async def _role_within_a_second(gql: GraphQLClient, token: str, tenant: str, expected: str) -> str | None:
    deadline = asyncio.get_running_loop().time() + 1
    while True:
        role = await _role(gql, token, tenant)
        if role == expected or asyncio.get_running_loop().time() > deadline:
            return role
        await asyncio.sleep(0.01)


async def test_a_known_session_costs_no_query_once_cached(app: Any, gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    assert await _role(gql, owner.token, "salon") == "OWNER"  # warms the cache
    statements = _count_statements(app)

    assert await _role(gql, owner.token, "salon") == "OWNER"

    assert statements == []


async def test_sign_out_ends_the_session_here_at_once_and_in_every_process_within_a_second(
    gql: GraphQLClient, other_process: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    assert await _role(other_process, owner.token, "salon") == "OWNER"  # cached over there

    signed_out = await gql(SIGN_OUT, token=owner.token, tenant="salon")

    assert signed_out.data["signOut"]["signedOut"] is True
    assert (await gql(VIEWER, token=owner.token, tenant="salon")).data["viewer"]["user"] is None
    assert await _user_within_a_second(other_process, owner.token, "salon", None) is None


async def test_a_role_change_and_a_disabled_account_are_seen_within_a_second(
    app: Any, other_process: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF)
    assert await _role(other_process, staff.token, "salon") == "STAFF"
    database = app.state.runtime.database

    async with database.transaction(tenant.id, write=True) as db:
        await db.execute(sa.update(TenantUser).where(TenantUser.user_id == staff.user.id)
                         .values(role=Role.MANAGER))
    assert await _role_within_a_second(other_process, staff.token, "salon", "MANAGER") == "MANAGER"

    async with database.transaction(write=True) as db:
        user = await db.get(User, staff.user.id)
        assert user is not None
        user.is_active = False
    assert await _user_within_a_second(other_process, staff.token, "salon", None) is None


async def test_a_lookup_that_raced_a_change_is_not_kept() -> None:
    cache = IdentityCache(ttl=60)
    started = cache.generation  # a request begins reading the database ...
    cache.clear()  # ... a revocation commits meanwhile ...
    cache.put("key", "stale", started)  # ... and the reader tries to store what it read

    assert cache.get("key") == (False, None)


async def test_without_its_redis_subscription_the_cache_is_off() -> None:
    from redis.asyncio import Redis

    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = IdentityCache(ttl=60, redis=unreachable)
    await cache.start()
    try:
        cache.put("key", "value", cache.generation)
        assert cache.enabled is False
        assert cache.get("key") == (False, None)
    finally:
        await cache.stop()
        await unreachable.aclose()
    await asyncio.sleep(0)


async def test_concurrent_lookups_of_one_session_share_one_read(app: Any, world: World) -> None:
    """A thousand live sockets of one session connecting (or re-checking) at once: one read of
    the database, not one each (which emptied the pool in bench/fanout.py)."""
    from boka.identity.authentication import resolve_principal

    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    runtime = app.state.runtime
    runtime.identity_cache.clear()  # nothing cached: each lookup would read
    statements = _count_statements(app)

    principals = await asyncio.gather(*(
        resolve_principal(runtime.database, runtime.identity, credential=owner.token, tenant_header="salon",
                          host=None, ip_address="127.0.0.1", cache=runtime.identity_cache)
        for _ in range(50)
    ))

    assert {p.role for p in principals} == {Role.OWNER}
    assert len({id(p) for p in principals}) == 1
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert 0 < len(selects) <= 3  # the tenant, the session (and its user): once


async def test_a_read_begun_before_a_change_is_not_shared_with_callers_after_it() -> None:
    cache = IdentityCache(ttl=60)
    release = asyncio.Event()
    reads: list[str] = []

    async def read(answer: str) -> str:
        reads.append(answer)
        await release.wait()
        return answer

    before = cache.read_once("who", lambda: read("before the change"))
    joined = cache.read_once("who", lambda: read("never started"))
    cache.clear()  # a revocation commits while the first read is out
    after = cache.read_once("who", lambda: read("after the change"))
    release.set()

    assert await before == await joined == "before the change"
    assert await after == "after the change"
    assert reads == ["before the change", "after the change"]


async def test_a_caller_cancelled_while_waiting_leaves_the_read_to_the_others() -> None:
    cache = IdentityCache(ttl=60)
    release = asyncio.Event()

    async def read() -> str:
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(cache.read_once("who", read))
    second = asyncio.ensure_future(cache.read_once("who", read))
    await asyncio.sleep(0)
    first.cancel()
    release.set()

    assert await second == "answer"
    with pytest.raises(asyncio.CancelledError):
        await first
