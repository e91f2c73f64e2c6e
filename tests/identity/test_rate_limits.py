"""Rate limits: the seed's defaults enforced per IP, per caller and per user, shared by every
app process through Redis, and in memory in the embedded mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from redis.asyncio import Redis

from boka.config import Settings
from boka.identity.rate_limits import (
    SYNC_INTERVAL,
    Limit,
    RedisRateLimiter,
    SharedRateLimiter,
    charged_requests,
    decide,
)
from boka.identity.sessions import DeviceInfo, start_session
from boka.migrations import upgrade_to_head
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.conftest import TEST_REDIS_URL, _truncate_all, settings_for
from tests.servers import clean_env, uvicorn_server
from tests.support import GraphQLClient, World

SIGN_IN = """mutation { signIn(input: {email: "nobody@example.com", password: "wrong password"}) {
  errors { code } } }"""


def test_gcra_allows_the_burst_then_one_per_interval() -> None:
    limit = Limit("auth", 5, timedelta(minutes=1))
    tat = None
    remaining = []
    for _ in range(5):
        decision, tat = decide(limit, now_ms=0, stored_tat_ms=tat)
        assert decision.allowed
        remaining.append(decision.remaining)
    refused, unchanged = decide(limit, now_ms=0, stored_tat_ms=tat)
    later, _ = decide(limit, now_ms=12_000, stored_tat_ms=tat)

    assert remaining == [4, 3, 2, 1, 0]
    assert not refused.allowed and unchanged is None
    assert refused.retry_after_seconds == 12  # one request's share of the minute
    assert later.allowed


def test_a_costly_request_counts_as_several_all_or_none() -> None:
    limit = Limit("api", 10, timedelta(hours=1))
    four, tat = decide(limit, now_ms=0, stored_tat_ms=None, cost=4)
    seven, unchanged = decide(limit, now_ms=0, stored_tat_ms=tat, cost=7)
    six, _ = decide(limit, now_ms=0, stored_tat_ms=tat, cost=6)

    assert four.allowed and four.remaining == 6
    assert not seven.allowed and unchanged is None  # not partly admitted
    assert six.allowed and six.remaining == 0
    assert [charged_requests(cost, 1_000) for cost in (0, 1, 1_000, 1_001, 3_111)] == [1, 1, 1, 2, 4]


async def test_redis_and_the_shared_limiter_count_a_costly_request_as_several() -> None:
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.delete("boka:ratelimit:api:ip:198.51.100.79", "boka:ratelimit:auth:ip:198.51.100.79")
    exact, api = Limit("auth", 10, timedelta(hours=1)), Limit("api", 10, timedelta(hours=1), exact=False)
    limiter = SharedRateLimiter(redis)
    try:
        exact_hits = [await RedisRateLimiter(redis).hit(exact, "ip:198.51.100.79", cost)
                      for cost in (4, 7, 6)]
        api_hits = [await limiter.hit(api, "ip:198.51.100.79", cost) for cost in (4, 5, 2)]
        await asyncio.sleep(SYNC_INTERVAL * 3)  # the locally decided ones reach Redis
        shared = int(await redis.pttl("boka:ratelimit:api:ip:198.51.100.79"))
    finally:
        await limiter.close()
        await redis.aclose()

    assert [(d.allowed, d.remaining) for d in exact_hits] == [(True, 6), (False, 0), (True, 0)]
    assert [(d.allowed, d.remaining) for d in api_hits] == [(True, 6), (True, 1), (False, 0)]
    assert shared > 8.9 * 360_000  # nine of ten requests' shares of the hour are spent


def _client(app: Any, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://t")


async def test_sixth_sign_in_in_a_minute_from_one_ip_is_refused(app: Any) -> None:
    async with _client(app, "203.0.113.7") as attacker, _client(app, "203.0.113.8") as neighbour:
        tries = [await attacker.post("/graphql", json={"query": SIGN_IN}) for _ in range(6)]
        other = await neighbour.post("/graphql", json={"query": SIGN_IN})

    assert [t.status_code for t in tries] == [200] * 5 + [429]
    assert [t.headers["ratelimit-remaining"] for t in tries[:5]] == ["4", "3", "2", "1", "0"]
    refused = tries[5].json()["errors"][0]
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= refused["extensions"]["retry_after"] <= 12
    assert int(tries[5].headers["retry-after"]) == refused["extensions"]["retry_after"]
    assert other.status_code == 200 and other.json()["data"]["signIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


@pytest.fixture
async def tight_api_app(postgres_url: str) -> AsyncIterator[Any]:
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()  # no allowance left over from an earlier run
    application = create_app(settings_for(postgres_url, rate_limit_api_per_hour=3))
    async with application.router.lifespan_context(application):
        yield application
    await _truncate_all(application.state.runtime.settings)  # what the tests wrote goes


async def test_general_api_limit_answers_429_and_made_up_tokens_do_not_reset_it(tight_api_app: Any) -> None:
    async with _client(tight_api_app, "203.0.113.20") as client:
        gql = GraphQLClient(client)
        results = [await gql("{ viewer { role } }", token=f"bks_made-up-{i}") for i in range(4)]

    assert [r.response.status_code for r in results] == [200, 200, 200, 429]
    assert results[0].response.headers["ratelimit-limit"] == "3"
    assert results[3].body["data"] is None
    assert results[3].error_codes == ["RATE_LIMITED"]
    assert results[3].errors[0]["extensions"]["request_id"]


async def test_a_costly_query_uses_more_of_the_allowance_and_is_refused_unrun(
    postgres_url: str,
) -> None:
    """Rate limits charged by cost (issue 12): with 10 requests an hour and 1,000 cost units a
    request, a 62-day availability window (about 3,111 units) uses four, a cheap query one."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    application = create_app(settings_for(postgres_url, rate_limit_api_per_hour=10))
    window = ('{ availability(serviceId: "U2VydmljZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=", '
              'from: "2030-01-01T00:00:00Z", to: "2030-03-03T00:00:00Z") { start } }')
    async with application.router.lifespan_context(application):
        try:
            await World(application.state.runtime).tenant("salon")
            async with _client(application, "203.0.113.22") as client:
                gql = GraphQLClient(client)
                cheap = await gql("{ __typename }", tenant="salon")
                costly = [await gql(window, tenant="salon") for _ in range(3)]
        finally:
            await _truncate_all(application.state.runtime.settings)

    assert cheap.response.headers["ratelimit-remaining"] == "9"
    assert costly[0].response.headers["ratelimit-remaining"] == "5"  # 1 for the request, 3 more
    assert costly[1].response.headers["ratelimit-remaining"] == "1"
    assert costly[2].response.status_code == 429 and costly[2].error_codes == ["RATE_LIMITED"]
    assert costly[2].body["data"] is None


async def test_the_api_allowance_is_the_users_not_the_sessions(tight_api_app: Any) -> None:
    """Signing in again must not buy a fresh allowance (issue 12 item 9): two sessions of one
    user spend one allowance."""
    world = World(tight_api_app.state.runtime)
    tenant = await world.tenant("salon")
    first = await world.person(tenant, Role.STAFF)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        again = await start_session(db, first.user, tenant_id=tenant.id, ttl=timedelta(hours=1),
                                    device=DeviceInfo(ip_address="127.0.0.1", user_agent="pytest"))
    async with _client(tight_api_app, "203.0.113.21") as client:
        gql = GraphQLClient(client)
        statuses = [(await gql("{ viewer { role } }", token=token, tenant="salon")).response.status_code
                    for token in (first.token, first.token, again.token, again.token)]
    assert statuses == [200, 200, 200, 429]


async def test_limits_are_shared_by_app_processes_through_redis(settings: Settings, tmp_path: Path) -> None:
    env = clean_env(database_url=settings.database_url, redis_url=settings.redis_url or "", log_level="WARNING")
    with uvicorn_server(env, tmp_path / "one.log") as one, uvicorn_server(env, tmp_path / "two.log") as two:
        async with httpx.AsyncClient(timeout=30) as client:
            async def sign_in(base: str) -> int:
                return (await client.post(f"{base}/graphql", json={"query": SIGN_IN})).status_code

            spread = [await sign_in(base) for base in (one, two, one, two, one)]
            sixth_on_one, sixth_on_two = await sign_in(one), await sign_in(two)

    assert spread == [200] * 5
    assert (sixth_on_one, sixth_on_two) == (429, 429)


@pytest.mark.sqlite
async def test_embedded_mode_limits_in_memory(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", redis_url=None)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application), _client(application, "203.0.113.30") as client:
        codes = [(await client.post("/graphql", json={"query": SIGN_IN})).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


async def test_the_api_limit_is_shared_by_processes_that_decide_locally() -> None:
    """The general API limit is decided in each process and shared through Redis every
    SYNC_INTERVAL; a process that sees a caller first asks Redis."""
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.delete("boka:ratelimit:api:ip:198.51.100.77")
    limit = Limit("api", 4, timedelta(hours=1), exact=False)
    one, two = SharedRateLimiter(redis), SharedRateLimiter(redis)
    try:
        on_one = [(await one.hit(limit, "ip:198.51.100.77")).allowed for _ in range(3)]
        await asyncio.sleep(SYNC_INTERVAL * 3)  # one has told Redis of its hits
        on_two = [(await two.hit(limit, "ip:198.51.100.77")).allowed for _ in range(2)]
        await asyncio.sleep(SYNC_INTERVAL * 3)  # and two of its own, which one now learns
        again_on_one = (await one.hit(limit, "ip:198.51.100.77")).allowed
    finally:
        await redis.aclose()

    assert on_one == [True, True, True]
    assert on_two == [True, False]
    assert again_on_one is False


async def test_hits_admitted_locally_reach_redis_before_it_decides_again() -> None:
    """A slow moment (what the process knew of the caller went stale before its hits were sent)
    must not let the process's own admissions be counted twice as free: the unsent hits go to
    Redis before Redis decides."""
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.delete("boka:ratelimit:api:ip:198.51.100.78")
    limit = Limit("api", 2, timedelta(hours=1), exact=False)
    limiter = SharedRateLimiter(redis)
    try:
        first = await limiter.hit(limit, "ip:198.51.100.78")  # Redis decides; fresh for 100 ms
        second = await limiter.hit(limit, "ip:198.51.100.78")  # decided here, not sent yet
        limiter._fresh_until.clear()  # the process stalls past SYNC_INTERVAL before its sync
        third = await limiter.hit(limit, "ip:198.51.100.78")
    finally:
        await limiter.close()
        await redis.aclose()

    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)


@pytest.fixture
async def behind_a_proxy(postgres_url: str) -> AsyncIterator[Any]:
    application = create_app(settings_for(postgres_url, trusted_proxies="10.0.0.0/8"))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_forged_forwarded_for_buys_no_fresh_sign_in_allowance(behind_a_proxy: Any) -> None:
    """The client is the rightmost address the trusted proxy saw; what it wrote itself into
    X-Forwarded-For (a new address each time) stays to the left and changes nothing."""
    async with _client(behind_a_proxy, "10.0.0.5") as proxy, _client(behind_a_proxy, "198.51.100.9") as direct:
        tries = [
            await proxy.post("/graphql", json={"query": SIGN_IN},
                             headers={"X-Forwarded-For": f"203.0.113.{i}, 192.0.2.44"})
            for i in range(6)
        ]
        # Not from a trusted proxy: its forwarded header is not believed at all.
        spoofed = await direct.post("/graphql", json={"query": SIGN_IN},
                                    headers={"X-Forwarded-For": "192.0.2.44"})

    assert [t.status_code for t in tries] == [200] * 5 + [429]
    assert spoofed.status_code == 200
    async with behind_a_proxy.state.runtime.database.transaction() as db:
        seen = set((await db.execute(sa.select(AuthenticationLog.ip_address))).scalars())
    assert {"192.0.2.44", "198.51.100.9"} <= seen
    assert not {ip for ip in seen if ip.startswith(("203.0.113.", "10."))}  # no forged or proxy address


async def test_with_redis_unreachable_each_process_still_enforces_the_limits() -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = SharedRateLimiter(unreachable)
    sign_in = Limit("auth", 2, timedelta(minutes=1))
    api = Limit("api", 3, timedelta(hours=1), exact=False)
    try:
        sign_ins = [(await limiter.hit(sign_in, "ip:198.51.100.5")).allowed for _ in range(3)]
        requests = [(await limiter.hit(api, "ip:198.51.100.5")).allowed for _ in range(4)]
    finally:
        await limiter.close()
        await unreachable.aclose()

    assert sign_ins == [True, True, False]
    assert requests == [True, True, True, False]


async def test_a_new_business_sets_up_under_a_larger_admin_allowance(gql: GraphQLClient, world: World) -> None:
    """Issue 12 item 9: a new salon's catalogue setup hit the 100/h admin limit. In its first
    BOKA_RATE_LIMIT_SETUP_HOURS the setup allowance applies; after, the usual one, each of them
    still enforced."""
    from dataclasses import replace

    from boka.models.tenancy import Tenant
    from tests.booking.catalog_support import CREATE_SERVICE

    limits = world.runtime.rate_limits
    world.runtime.rate_limits = replace(
        limits, admin=replace(limits.admin, count=2), admin_setup=replace(limits.admin_setup, count=4))
    try:
        new = await world.tenant("new-salon")
        established = await world.tenant("old-salon")
        async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
            await db.execute(sa.update(Tenant).where(Tenant.id == established.id)
                             .values(created_at=established.created_at - timedelta(days=2)))
        outcomes = {}
        for tenant in (new, established):
            owner = await world.person(tenant, Role.OWNER)
            results = [await gql(CREATE_SERVICE, {"input": {"name": f"Service {n}", "durationMinutes": 30,
                                                            "price": {"amount": 1000}}},
                                 token=owner.token, tenant=tenant.slug) for n in range(5)]
            outcomes[tenant.slug] = [r.error_codes[0] if r.error_codes else "OK" for r in results]
    finally:
        world.runtime.rate_limits = limits

    assert outcomes["new-salon"] == ["OK"] * 4 + ["RATE_LIMITED"]
    assert outcomes["old-salon"] == ["OK"] * 2 + ["RATE_LIMITED"] * 3
