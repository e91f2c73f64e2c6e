"""API keys for integrators: shown once and stored hashed, sent as a Bearer token or
X-API-Key, acting in their own tenant within their scopes only, revocable, expiring, with
usage recorded and a rate limit of their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from httpx_ws import WebSocketDisconnect

from boka.config import Settings
from boka.models.security import ApiKey, ApiKeyUsage, AuthenticationLog
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import settings_for
from tests.support import GraphQLClient, World
from tests.web.test_websocket import websocket

CREATE_KEY = """mutation Create($name: String!, $scopes: [String!]!, $expires: DateTime) {
  createApiKey(input: {name: $name, scopes: $scopes, expiresAt: $expires}) {
    key apiKey { id name prefix scopes expiresAt } errors { field code message } } }"""
REVOKE_KEY = """mutation Revoke($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { apiKey { revokedAt } errors { code } } }"""
KEYS = "{ apiKeys { edges { node { name prefix scopes lastUsedAt revokedAt } } } }"
BOOKINGS = "query ListBookings { bookings(first: 50) { edges { node { id status } } } }"
BOOK = """mutation Book($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { id status customer { email } } errors { code } } }"""
CANCEL = """mutation Cancel($id: ID!) { cancelBooking(input: {id: $id, reason: "integration"}) {
  booking { status } errors { code } } }"""
VIEWER = "{ viewer { apiKeyName tenant { slug } grants { action scope } } }"


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, rate_limit_api_per_hour=6)


async def _key(gql: GraphQLClient, token: str, scopes: list[str], tenant: str = "salon", **variables: object) -> str:
    created = await gql(CREATE_KEY, {"name": "Website", "scopes": scopes, **variables}, token=token, tenant=tenant)
    payload = created.data["createApiKey"]
    assert payload["errors"] == [], payload
    return payload["key"]


async def _booking_world(world: World):  # type: ignore[no-untyped-def]
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    return tenant, staffed, owner


def _booking_input(staffed, hour: int) -> dict:  # type: ignore[no-untyped-def]
    return {"input": {
        "serviceId": staffed.service_id, "start": local(future_day(), hour).isoformat(),
        "customer": {"email": "guest@example.com", "firstName": "Gus"},
    }}


async def test_a_key_is_shown_once_and_stored_only_as_a_digest(gql: GraphQLClient, world: World) -> None:
    owner = await world.person(await world.tenant("salon"), Role.OWNER)

    created = (await gql(CREATE_KEY, {"name": "Website", "scopes": ["bookings:read"]}, token=owner.token, tenant="salon")).data["createApiKey"]
    listed = (await gql(KEYS, token=owner.token, tenant="salon")).data["apiKeys"]["edges"]

    key = created["key"]
    assert key.startswith("bkk_") and len(key) > 40
    assert created["apiKey"]["prefix"] == key[:12]
    assert listed == [{"node": {"name": "Website", "prefix": key[:12], "scopes": ["bookings:read"],
                                "lastUsedAt": None, "revokedAt": None}}]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        stored = (await db.execute(sa.select(ApiKey))).scalar_one()
        logged = list((await db.execute(sa.select(AuthenticationLog.event_type))).scalars())
    assert key not in (stored.key_hash, stored.prefix, str(stored.scopes))
    assert "api_key_created" in logged


async def test_a_read_key_reads_but_cannot_write(gql: GraphQLClient, world: World) -> None:
    _, staffed, owner = await _booking_world(world)
    booked = await gql(BOOK, _booking_input(staffed, 10), token=owner.token, tenant="salon")
    booking_id = booked.data["createBooking"]["booking"]["id"]
    key = await _key(gql, owner.token, ["bookings:read"])

    as_bearer = await gql(BOOKINGS, token=key)  # no X-Tenant: the key's own tenant
    as_header = await gql(BOOKINGS, headers={"X-API-Key": key})
    write = await gql(BOOK, _booking_input(staffed, 12), token=key)
    cancel = await gql(CANCEL, {"id": booking_id}, token=key)
    viewer = (await gql(VIEWER, token=key)).data["viewer"]

    assert [e["node"]["id"] for e in as_bearer.data["bookings"]["edges"]] == [booking_id]
    assert as_header.data == as_bearer.data
    assert write.error_codes == ["FORBIDDEN"]
    assert cancel.error_codes == ["FORBIDDEN"]
    assert viewer["apiKeyName"] == "Website" and viewer["tenant"]["slug"] == "salon"
    assert {g["action"] for g in viewer["grants"]} == {"BOOKING_VIEW"}
    async with world.runtime.database.transaction(all_tenants=True) as db:
        statuses = list((await db.execute(sa.text("SELECT status FROM bookings"))).scalars())
        denials = list((await db.execute(
            sa.select(AuthenticationLog.failure_reason).where(AuthenticationLog.event_type == "permission_denied")
        )).scalars())
    assert statuses == ["confirmed"]
    assert len(denials) == 2 and all("scopes do not allow" in d for d in denials)


async def test_a_write_key_books_and_cancels_for_customers(gql: GraphQLClient, world: World) -> None:
    _, staffed, owner = await _booking_world(world)
    key = await _key(gql, owner.token, ["bookings:write"])

    booked = (await gql(BOOK, _booking_input(staffed, 10), token=key)).data["createBooking"]
    cancelled = (await gql(CANCEL, {"id": booked["booking"]["id"]}, token=key)).data["cancelBooking"]

    assert booked["errors"] == [] and booked["booking"]["customer"]["email"] == "guest@example.com"
    assert cancelled == {"booking": {"status": "CANCELLED"}, "errors": []}


async def test_a_key_does_nothing_in_another_tenant(gql: GraphQLClient, world: World) -> None:
    _, _, owner = await _booking_world(world)
    other = await world.tenant("other")
    other_owner = await world.person(other, Role.OWNER)
    await gql(BOOK, _booking_input(await BookingWorld(world).staffed_service(other), 10), token=other_owner.token, tenant="other")
    key = await _key(gql, owner.token, ["bookings:write"])

    elsewhere = await gql(BOOKINGS, token=key, tenant="other")

    assert elsewhere.error_codes == ["FORBIDDEN"]


async def test_revoked_and_expired_keys_stop_working(gql: GraphQLClient, world: World) -> None:
    _, _, owner = await _booking_world(world)
    revoked_key = await _key(gql, owner.token, ["bookings:read"])
    expiring_key = await _key(gql, owner.token, ["bookings:read"], expires=(utcnow() + timedelta(hours=1)).isoformat())
    keys = (await gql(KEYS, token=owner.token, tenant="salon")).data["apiKeys"]["edges"]
    assert len(keys) == 2
    async with world.runtime.database.transaction(all_tenants=True) as db:
        ids = {k.prefix: k.id for k in (await db.execute(sa.select(ApiKey))).scalars()}
    revoked = await gql(REVOKE_KEY, {"id": gid("ApiKey", ids[revoked_key[:12]])}, token=owner.token, tenant="salon")
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        await db.execute(sa.update(ApiKey).where(ApiKey.id == ids[expiring_key[:12]]).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert revoked.data["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    assert (await gql(BOOKINGS, token=revoked_key)).error_codes == ["UNAUTHENTICATED"]
    assert (await gql(BOOKINGS, headers={"X-API-Key": expiring_key}, tenant="salon")).error_codes == ["UNAUTHENTICATED"]


async def test_usage_is_recorded_and_each_key_has_its_own_allowance(gql: GraphQLClient, world: World) -> None:
    _, _, owner = await _booking_world(world)
    busy = await _key(gql, owner.token, ["bookings:read"])
    quiet = await _key(gql, owner.token, ["bookings:read"])

    answers = [await gql(BOOKINGS, token=busy) for _ in range(7)]
    other = await gql(BOOKINGS, token=quiet)

    assert [a.response.status_code for a in answers] == [200] * 6 + [429]
    assert answers[-1].error_codes == ["RATE_LIMITED"]
    assert other.response.status_code == 200
    async with world.runtime.database.transaction(all_tenants=True) as db:
        usage = list((await db.execute(sa.select(ApiKeyUsage.operation, ApiKeyUsage.success))).all())
        used = (await db.execute(sa.select(ApiKey.last_used_at).where(ApiKey.prefix == busy[:12]))).scalar_one()
    assert usage == [("ListBookings", True)] * 7  # six served by the busy key, one by the quiet
    assert used is not None


@pytest.mark.parametrize(
    ("role", "scopes", "code"),
    [
        (Role.STAFF, ["bookings:read"], "FORBIDDEN"),  # staff do not manage keys
        (Role.OWNER, ["bookings:delete"], "INVALID_INPUT"),
        (Role.OWNER, [], "INVALID_INPUT"),
    ],
)
async def test_who_may_create_which_keys(gql: GraphQLClient, world: World, role: Role, scopes: list[str], code: str) -> None:
    tenant = await world.tenant("salon")
    person = await world.person(tenant, role)

    created = await gql(CREATE_KEY, {"name": "x", "scopes": scopes}, token=person.token, tenant="salon")

    codes = created.error_codes or [e["code"] for e in created.data["createApiKey"]["errors"]]
    assert codes == [code]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(ApiKey))).scalar_one() == 0


async def test_a_key_authenticates_a_websocket_and_a_dead_one_is_turned_away(
    app: object, gql: GraphQLClient, world: World
) -> None:
    _, _, owner = await _booking_world(world)
    key = await _key(gql, owner.token, ["bookings:read"])

    async with websocket(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}})
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": VIEWER}})
        pushed = await ws.receive_json(timeout=5)
    async with websocket(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer bkk_not_a_key"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)

    assert pushed["payload"]["data"]["viewer"]["apiKeyName"] == "Website"
    assert closed.value.code == 4403
