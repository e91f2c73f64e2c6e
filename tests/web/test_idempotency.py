"""Idempotency-Key on mutations (issue 11, item 1): a retry gets the first response back and
runs nothing; the key with another request is refused; concurrent requests run once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from boka.config import Settings
from boka.idempotency import IdempotencyStore, KeyOwner, fingerprint
from boka.jobs.context import bind_runtime, unbind_runtime
from boka.jobs.scheduled import sweep_idempotency_keys
from boka.models.bookings import Booking, BookingStatus
from boka.models.idempotency import IdempotencyKey
from boka.models.identity import User
from boka.models.tenancy import Role, Tenant
from boka.persisted_queries import query_hash
from boka.web.app import create_app
from boka.web.graphql import BokaGraphQL
from tests.booking.support import BookingWorld, Staffed, future_day, local
from tests.support import World

BOOK = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status startTime staff { id } } manageToken errors { field code message }
  }
}"""
CANCEL = """mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } errors { code } } }"""
REGISTER = """mutation Register($input: RegisterInput!) {
  register(input: $input) { token errors { code } } }"""
SERVICES = "{ services { edges { node { id } } } }"


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None, *, key: str | None,
    token: str | None = None, tenant: str | None = "salon",
) -> httpx.Response:
    headers: dict[str, str] = {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if tenant:
        headers["X-Tenant"] = tenant
    return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def booking(staffed: Staffed, hour: int = 10, **extra: Any) -> dict[str, Any]:
    return {"input": {"serviceId": staffed.service_id, "start": local(future_day(), hour).isoformat(), **extra}}


def guest(staffed: Staffed, email: str = "guest@example.com", hour: int = 10) -> dict[str, Any]:
    return booking(staffed, hour, customer={"email": email, "firstName": "Gus"})


async def salon(world: World, slug: str = "salon", staff_count: int = 2) -> tuple[Tenant, Staffed]:
    tenant = await world.tenant(slug, time_zone="Europe/Berlin")
    return tenant, await BookingWorld(world).staffed_service(tenant, staff_count=staff_count)


async def count(world: World, model: type, *where: Any) -> int:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        statement = sa.select(sa.func.count()).select_from(model).where(*where)
        return (await db.execute(statement)).scalar_one()


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def graphql_endpoint(app: Any) -> BokaGraphQL:
    return next(r.endpoint for r in app.routes if isinstance(getattr(r, "endpoint", None), BokaGraphQL))


async def test_a_retry_gets_the_first_response_and_runs_nothing(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)  # two staff free: a rerun would book again
    customer = await world.person(tenant, Role.CUSTOMER)

    first = await post(http, BOOK, booking(staffed), key="key-1", token=customer.token)
    retry = await post(http, BOOK, booking(staffed), key="key-1", token=customer.token)

    assert first.json()["data"]["createBooking"]["errors"] == []
    assert retry.status_code == first.status_code == 200
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(world, Booking) == 1


async def test_100_concurrent_retries_book_once_and_answer_alike(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)

    responses = await asyncio.gather(
        *(post(http, BOOK, booking(staffed), key="one-key", token=customer.token) for _ in range(100))
    )

    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["data"]["createBooking"]["errors"] == []
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1  # one ran
    assert await count(world, Booking) == 1


async def test_retries_spread_over_two_app_processes_book_once(
    http: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    """Two apps with their own engines and pools, as two processes would have: only the
    database can keep them to one run."""
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    other_app = create_app(settings)
    async with other_app.router.lifespan_context(other_app):
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            responses = await asyncio.gather(*(
                post(client, BOOK, booking(staffed), key="spread", token=customer.token)
                for _ in range(25) for client in (http, other)
            ))

    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await count(world, Booking) == 1


async def test_the_key_with_other_variables_or_another_operation_is_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    first = await post(http, BOOK, booking(staffed, 10), key="k", token=customer.token)
    booking_id = first.json()["data"]["createBooking"]["booking"]["id"]

    other_time = await post(http, BOOK, booking(staffed, 11), key="k", token=customer.token)
    other_operation = await post(http, CANCEL, {"input": {"bookingId": booking_id}}, key="k", token=customer.token)

    for refused in (other_time, other_operation):
        assert refused.status_code == 422
        assert code(refused) == "IDEMPOTENCY_KEY_REUSED"
        assert refused.json()["errors"][0]["extensions"]["request_id"]
        assert refused.json()["data"] is None
    assert await count(world, Booking) == 1
    assert await count(world, Booking, Booking.status == BookingStatus.CONFIRMED) == 1  # not cancelled


async def test_another_principal_with_the_same_key_is_independent(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)
    alice = await world.person(tenant, Role.CUSTOMER)
    bob = await world.person(tenant, Role.CUSTOMER)

    for_alice = await post(http, BOOK, booking(staffed), key="shared", token=alice.token)
    for_bob = await post(http, BOOK, booking(staffed), key="shared", token=bob.token)

    assert for_alice.json()["data"]["createBooking"]["errors"] == []
    assert for_bob.json()["data"]["createBooking"]["errors"] == []
    assert "idempotent-replayed" not in for_bob.headers
    assert await count(world, Booking) == 2


async def test_guests_share_their_tenants_keys_and_tenants_are_apart(http: httpx.AsyncClient, world: World) -> None:
    _, staffed = await salon(world)
    _, elsewhere = await salon(world, "studio")

    first = await post(http, BOOK, guest(staffed), key="guest-key", tenant="salon")
    again = await post(http, BOOK, guest(staffed), key="guest-key", tenant="salon")
    other_tenant = await post(http, BOOK, guest(elsewhere), key="guest-key", tenant="studio")

    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert other_tenant.json()["data"]["createBooking"]["errors"] == []
    assert "idempotent-replayed" not in other_tenant.headers
    assert await count(world, Booking) == 2


async def test_an_account_level_mutation_without_a_tenant_is_kept_too(http: httpx.AsyncClient, world: World) -> None:
    variables = {"input": {"email": "new@example.com", "password": "a long enough password 42"}}

    first = await post(http, REGISTER, variables, key="signup-1", tenant=None)
    http.cookies.clear()  # the retry of a client that never heard the answer (nor got the cookie)
    again = await post(http, REGISTER, variables, key="signup-1", tenant=None)

    assert first.json()["data"]["register"]["errors"] == [], first.json()
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert await count(world, User) == 1
    assert await count(world, IdempotencyKey, IdempotencyKey.tenant_id.is_(None)) == 1


async def test_a_request_that_failed_validation_keeps_nothing(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    bad_variables = {"input": {"serviceId": staffed.service_id, "start": "not a time"}}

    syntax = await post(http, "mutation { createBooking(", {}, key="v", token=customer.token)
    invalid = await post(http, "mutation { noSuchField }", {}, key="v", token=customer.token)
    coercion = await post(http, BOOK, bad_variables, key="v", token=customer.token)

    assert [code(r) for r in (syntax, invalid, coercion)] == ["VALIDATION_ERROR"] * 3
    assert await count(world, IdempotencyKey) == 0
    ran = await post(http, BOOK, booking(staffed), key="v", token=customer.token)
    assert ran.json()["data"]["createBooking"]["errors"] == []  # the key was still free


async def test_a_mutation_that_ran_into_a_user_error_is_kept(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world, staff_count=1)
    customer = await world.person(tenant, Role.CUSTOMER)
    await post(http, BOOK, booking(staffed), key=None, token=customer.token)  # takes the only slot

    refused = await post(http, BOOK, booking(staffed), key="taken", token=customer.token)
    again = await post(http, BOOK, booking(staffed), key="taken", token=customer.token)

    assert [e["code"] for e in refused.json()["data"]["createBooking"]["errors"]] == ["SLOT_UNAVAILABLE"]
    assert again.content == refused.content and again.headers["idempotent-replayed"] == "true"


async def test_queries_ignore_the_header(http: httpx.AsyncClient, world: World) -> None:
    await salon(world)
    first = await post(http, SERVICES, None, key="q")
    second = await post(http, SERVICES, None, key="q")
    too_long = await post(http, SERVICES, None, key="x" * 300)
    assert first.status_code == second.status_code == too_long.status_code == 200
    assert "idempotent-replayed" not in second.headers
    assert await count(world, IdempotencyKey) == 0


async def test_a_key_must_be_1_to_255_characters(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    longest = await post(http, BOOK, booking(staffed), key="x" * 255, token=customer.token)
    too_long = await post(http, BOOK, booking(staffed, 11), key="x" * 256, token=customer.token)
    empty = await post(http, BOOK, booking(staffed, 12), key=" ", token=customer.token)
    assert longest.json()["data"]["createBooking"]["errors"] == []
    for refused in (too_long, empty):
        assert refused.status_code == 400 and code(refused) == "VALIDATION_ERROR"
    assert await count(world, Booking) == 1


async def test_a_key_on_a_batch_or_multipart_request_runs_nothing(
    http: httpx.AsyncClient, world: World
) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    headers = {"Idempotency-Key": "batch", "Authorization": f"Bearer {customer.token}", "X-Tenant": "salon"}
    operation = {"query": BOOK, "variables": booking(staffed)}

    batch = await http.post("/graphql", json=[operation], headers=headers)
    multipart = await http.post(
        "/graphql", headers=headers,
        data={"operations": '{"query": "mutation { __typename }"}', "map": "{}"},
        files={"0": ("a.txt", b"x")},
    )

    # Neither is served at all (one operation per request, as JSON), key or no key.
    assert (batch.status_code, multipart.status_code) == (400, 415)
    assert code(batch) == code(multipart) == "VALIDATION_ERROR"
    assert await count(world, Booking) == 0


async def test_a_retry_waits_for_the_running_first_request(http: httpx.AsyncClient, world: World, app: Any) -> None:
    """The first request runs in another process: here its claim is taken straight in the
    table, and its response stored a moment later."""
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    store = graphql_endpoint(app).idempotency.store
    owner = KeyOwner(tenant.id, f"user:{customer.user.id}")
    claim = await store.claim(owner, "busy", fingerprint(query_hash(BOOK), "Book", booking(staffed)))

    waiting = asyncio.create_task(post(http, BOOK, booking(staffed), key="busy", token=customer.token))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await store.complete(claim, 200, b'{"data": {"from": "the first request"}}')
    retry = await waiting

    assert retry.json() == {"data": {"from": "the first request"}}
    assert await count(world, Booking) == 0


async def test_a_retry_is_told_in_progress_after_the_wait(http: httpx.AsyncClient, world: World, app: Any) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    endpoint = graphql_endpoint(app)
    endpoint.idempotency.wait_seconds = 0.2
    owner = KeyOwner(tenant.id, f"user:{customer.user.id}")
    await endpoint.idempotency.store.claim(owner, "busy", fingerprint(query_hash(BOOK), "Book", booking(staffed)))

    retry = await post(http, BOOK, booking(staffed), key="busy", token=customer.token)

    assert retry.status_code == 409
    assert code(retry) == "IDEMPOTENCY_IN_PROGRESS"
    assert retry.json()["errors"][0]["extensions"]["retry_after"] == 1
    assert retry.headers["retry-after"] == "1"
    assert await count(world, Booking) == 0


async def test_a_claim_whose_process_died_is_taken_over_after_the_lock(
    http: httpx.AsyncClient, world: World, app: Any
) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    died = IdempotencyStore(world.runtime.database, ttl=timedelta(hours=24), lock=timedelta(0))
    owner = KeyOwner(tenant.id, f"user:{customer.user.id}")
    await died.claim(owner, "orphan", fingerprint(query_hash(BOOK), "Book", booking(staffed)))

    retry = await post(http, BOOK, booking(staffed), key="orphan", token=customer.token)
    again = await post(http, BOOK, booking(staffed), key="orphan", token=customer.token)

    assert retry.json()["data"]["createBooking"]["errors"] == []
    assert again.content == retry.content
    assert await count(world, Booking) == 1


async def test_expired_keys_are_free_and_swept(http: httpx.AsyncClient, world: World) -> None:
    tenant, staffed = await salon(world)
    customer = await world.person(tenant, Role.CUSTOMER)
    owner = KeyOwner(tenant.id, f"user:{customer.user.id}")
    await post(http, BOOK, booking(staffed, 10), key="old", token=customer.token)
    await post(http, BOOK, booking(staffed, 12), key="fresh", token=customer.token)

    async def expire(key: str) -> None:
        async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
            await db.execute(
                sa.update(IdempotencyKey).where(IdempotencyKey.id == owner.row_id(key))
                .values(expires_at=IdempotencyKey.created_at)
            )

    await expire("old")
    reused = await post(http, BOOK, booking(staffed, 14), key="old", token=customer.token)
    assert reused.json()["data"]["createBooking"]["errors"] == []  # another request: the key was free
    await expire("old")
    token = bind_runtime(world.runtime)
    try:
        assert await sweep_idempotency_keys() == 1
        assert await sweep_idempotency_keys() == 0
    finally:
        unbind_runtime(token)

    async with world.runtime.database.transaction(all_tenants=True) as db:
        left = (await db.execute(sa.select(IdempotencyKey.id))).scalars().all()
    assert left == [owner.row_id("fresh")]
    assert await count(world, Booking) == 3


def test_answers_that_say_come_back_later_are_not_kept() -> None:
    """Rate limited, or no database connection free in time: nothing was done, so a retry
    with the key must run rather than get the refusal back for a day."""
    from graphql import GraphQLError
    from sqlalchemy.exc import TimeoutError as PoolTimeout
    from strawberry.types import ExecutionResult

    from boka.errors import RateLimited, UserInputError, UserErrorCode
    from boka.web.idempotency import worth_keeping

    def result(*originals: Exception) -> ExecutionResult:
        errors = [GraphQLError("e", path=["createBooking"], original_error=o) for o in originals]
        return ExecutionResult(data={"createBooking": None}, errors=errors)

    assert not worth_keeping(result(PoolTimeout()))
    assert not worth_keeping(result(RateLimited("slow down"), PoolTimeout()))
    assert worth_keeping(result(PoolTimeout(), RuntimeError("ran, then failed")))
    assert worth_keeping(result(UserInputError(UserErrorCode.INVALID_INPUT, "?")))
    assert worth_keeping(ExecutionResult(data={"createBooking": {}}, errors=None))
