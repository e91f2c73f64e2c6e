"""Relay completeness (issue 14 item 4): every object with an id is a Node that node(id:) and
nodes(ids:) find for whoever may see it, and nobody else (another tenant's id is null, never
an error); every connection pages backwards (last/before) as well as forwards, and counts
(totalCount) only when asked."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from boka.identity.audit import AuthEvent
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.onboarding import Invitation
from boka.models.payments import Payment, Refund
from boka.models.pricing import DiscountCode, PricingRule
from boka.models.schedules import ScheduleOverride, TimeOff
from boka.models.security import ApiKey, AuthenticationLog
from boka.models.sessions import ClassSession
from boka.models.tenancy import Role, Tenant, TenantUser
from boka.models.types import utcnow
from boka.models.webhooks import WebhookEndpoint
from boka.booking.availability import private_slot_key
from boka.schema.root import MAX_NODES
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.booking.test_statement_count import counting_statements
from tests.support import GraphQLClient, Person, World

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


@dataclass
class Business:
    tenant: Tenant
    owner: Person
    customer: Person
    ids: dict[str, str] = field(default_factory=dict)  # type name -> a global id of one


async def _business(world: World, gql: GraphQLClient, slug: str) -> Business:
    """A tenant with one of everything, straight into the database."""
    tenant = await world.tenant(slug)
    owner = await world.person(tenant, Role.OWNER)
    customer_person = await world.person(tenant, Role.CUSTOMER)
    bw = BookingWorld(world)
    staffed = await bw.staffed_service(tenant)
    group = await bw.staffed_service(tenant, name="Yoga", capacity=8)
    room = await bw.room(tenant, staffed.service)
    day = future_day(2)
    rows: dict[str, Any] = {}
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        customer = Customer(tenant_id=tenant.id, email=f"guest@{slug}.example")
        db.add(customer)
        await db.flush()
        start = local(day, 10)
        booking = Booking(
            tenant_id=tenant.id, customer_id=customer.id, service_id=staffed.service.id,
            staff_id=staffed.staff[0].id, status=BookingStatus.CONFIRMED, start_time=start,
            end_time=start + timedelta(hours=1), block_start=start,
            block_end=start + timedelta(hours=1), slot_key="", price_cents=5000, currency="EUR",
        )
        booking.slot_key = private_slot_key(booking.id)
        db.add(booking)
        await db.flush()
        payment = Payment(tenant_id=tenant.id, booking_id=booking.id, kind="booking",
                          provider="on_site", amount_cents=5000, currency="EUR", status="succeeded")
        db.add(payment)
        await db.flush()
        refund = Refund(tenant_id=tenant.id, payment_id=payment.id, booking_id=booking.id,
                        idempotency_key=f"refund-{slug}", provider="on_site", amount_cents=1000,
                        currency="EUR", status="manual", reason="goodwill")
        class_start = local(day + timedelta(days=1), 12)
        session = ClassSession(
            tenant_id=tenant.id, service_id=group.service.id, staff_id=group.staff[0].id,
            start_time=class_start, end_time=class_start + timedelta(hours=1),
            block_start=class_start, block_end=class_start + timedelta(hours=1), capacity=8,
        )
        rows = {
            "Customer": customer, "Booking": booking, "Payment": payment, "Refund": refund,
            "ClassSession": session,
            "WebhookEndpoint": WebhookEndpoint(tenant_id=tenant.id, url=f"https://{slug}.example/hook",
                                               secret="s" * 32),
            "ApiKey": ApiKey(tenant_id=tenant.id, name="ci", prefix=f"bk_{slug}",
                             key_hash=uuid.uuid4().hex),
            "AuthenticationLogEntry": AuthenticationLog(
                tenant_id=tenant.id, user_id=owner.user.id, event_type=AuthEvent.SIGN_IN_FAILED.value,
                success=False),
            "Invitation": Invitation(tenant_id=tenant.id, email=f"new@{slug}.example", role=Role.STAFF,
                                     token_hash=uuid.uuid4().hex, expires_at=utcnow() + timedelta(days=3)),
            "DiscountCode": DiscountCode(tenant_id=tenant.id, code="SPRING", kind="percent", value=10),
            "PricingRule": PricingRule(tenant_id=tenant.id, name="Evening", kind="fixed", amount=500),
            "ScheduleOverride": ScheduleOverride(tenant_id=tenant.id, staff_member_id=staffed.staff[0].id,
                                                 day=day + timedelta(days=5), day_off=True),
            "TimeOff": TimeOff(tenant_id=tenant.id, staff_member_id=staffed.staff[0].id,
                               starts_at=local(day + timedelta(days=6), 9),
                               ends_at=local(day + timedelta(days=6), 12)),
        }
        for row in rows.values():
            db.add(row)
        await db.flush()
        membership = (await db.execute(sa.select(TenantUser).where(
            TenantUser.tenant_id == tenant.id, TenantUser.user_id == owner.user.id))).scalar_one()
    business = Business(tenant=tenant, owner=owner, customer=customer_person)
    business.ids = {name: gid(name, row.id) for name, row in rows.items()}
    business.ids.update({
        "Service": staffed.service_id, "StaffMember": staffed.staff_id(), "Resource": gid("Resource", room.id),
        "Membership": gid("Membership", membership.id),
    })
    mine = await gql("{ mySessions { edges { node { id current } } } }", token=owner.token, tenant=slug)
    [own_session] = [e["node"]["id"] for e in mine.data["mySessions"]["edges"] if e["node"]["current"]]
    business.ids["Session"] = own_session
    return business


def _found(ids: dict[str, str]) -> list[dict[str, str]]:
    return [{"__typename": name, "id": global_id} for name, global_id in ids.items()]


async def test_every_node_type_is_found_by_node_and_nodes_in_its_tenant_and_null_in_another(
    gql: GraphQLClient, world: World
) -> None:
    alpha = await _business(world, gql, "alpha")
    beta = await _business(world, gql, "beta")
    assert len(alpha.ids) == 18, sorted(alpha.ids)

    for name, global_id in alpha.ids.items():
        inside = await gql(NODE, {"id": global_id}, token=alpha.owner.token, tenant="alpha")
        outside = await gql(NODE, {"id": global_id}, token=beta.owner.token, tenant="beta")
        assert inside.errors == [] and inside.data["node"] == {"__typename": name, "id": global_id}, name
        assert outside.errors == [] and outside.data["node"] is None, name

    ids = list(alpha.ids.values())
    inside = await gql(NODES, {"ids": ids}, token=alpha.owner.token, tenant="alpha")
    outside = await gql(NODES, {"ids": ids}, token=beta.owner.token, tenant="beta")
    assert inside.errors == [] and inside.data["nodes"] == _found(alpha.ids)
    assert outside.errors == [] and outside.data["nodes"] == [None] * len(ids)

    # Mixed: the order asked is kept, another tenant's ids are holes, not errors.
    mixed = [alpha.ids["Payment"], beta.ids["Payment"], alpha.ids["Booking"], beta.ids["Refund"]]
    seen = await gql(NODES, {"ids": mixed}, token=beta.owner.token, tenant="beta")
    assert seen.errors == []
    assert seen.data["nodes"] == [None, {"__typename": "Payment", "id": beta.ids["Payment"]},
                                  None, {"__typename": "Refund", "id": beta.ids["Refund"]}]


async def test_nodes_are_authorized_as_their_own_queries(gql: GraphQLClient, world: World) -> None:
    alpha = await _business(world, gql, "alpha")
    hidden = ["Payment", "Refund", "ApiKey", "AuthenticationLogEntry", "Session", "Booking", "Invitation"]
    asked = [alpha.ids[name] for name in hidden]
    as_customer = await gql(NODES, {"ids": asked}, token=alpha.customer.token, tenant="alpha")
    assert as_customer.errors == [] and as_customer.data["nodes"] == [None] * len(hidden)
    anonymous = await gql(NODES, {"ids": [alpha.ids["Payment"], alpha.ids["ApiKey"]]}, tenant="alpha")
    assert anonymous.errors == [] and anonymous.data["nodes"] == [None, None]


async def test_payment_keeps_its_raw_id_as_database_id(gql: GraphQLClient, world: World) -> None:
    alpha = await _business(world, gql, "alpha")
    query = """query($id: ID!) { node(id: $id) { ... on Booking { payments {
      id databaseId refunds { id databaseId } } } } }"""
    result = await gql(query, {"id": alpha.ids["Booking"]}, token=alpha.owner.token, tenant="alpha")
    [payment] = result.data["node"]["payments"]
    assert payment["id"] == alpha.ids["Payment"]
    assert gid("Payment", payment["databaseId"]) == payment["id"]
    [refund] = payment["refunds"]
    assert refund["id"] == alpha.ids["Refund"] and gid("Refund", refund["databaseId"]) == refund["id"]


async def test_nodes_refuses_ids_that_are_not_ours_and_too_many(gql: GraphQLClient, world: World) -> None:
    alpha = await _business(world, gql, "alpha")
    owner = alpha.owner
    unknown_type = base64.b64encode(b"Nope:1").decode()
    not_a_uuid = gid("Booking", "not-a-uuid")
    for bad in (unknown_type, not_a_uuid):
        result = await gql(NODES, {"ids": [alpha.ids["Booking"], bad]}, token=owner.token, tenant="alpha")
        assert result.error_codes == ["VALIDATION_ERROR"], result.body
        assert result.errors[0]["extensions"]["field"] == "ids.1"
        assert result.data.get("nodes") is None
    garbage = await gql(NODES, {"ids": ["garbage"]}, token=owner.token, tenant="alpha")
    assert garbage.error_codes == ["VALIDATION_ERROR"], garbage.body
    too_many = await gql(NODES, {"ids": [alpha.ids["Booking"]] * (MAX_NODES + 1)},
                         token=owner.token, tenant="alpha")
    assert too_many.error_codes == ["VALIDATION_ERROR"]
    at_most = await gql(NODES, {"ids": [alpha.ids["Booking"]] * MAX_NODES}, token=owner.token, tenant="alpha")
    assert at_most.errors == [] and len(at_most.data["nodes"]) == MAX_NODES
    # node() itself keeps answering null for an id that is not ours.
    assert (await gql(NODE, {"id": not_a_uuid}, token=owner.token, tenant="alpha")).data["node"] is None


# --- paging both ways ----------------------------------------------------------------------

CUSTOMERS = """query($first: Int, $after: String, $last: Int, $before: String) {
  customers(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { email } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""

LOGS = """query($first: Int, $after: String, $last: Int, $before: String) {
  authenticationLogs(first: $first, after: $after, last: $last, before: $before,
                     eventTypes: ["sign_in_failed"]) {
    totalCount edges { node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def _walk(gql: GraphQLClient, person: Person, query: str, name: str, *, backwards: bool) -> list[Any]:
    """Every page of a connection, 3 at a time, forwards (first/after) or backwards
    (last/before); the items in the connection's own order."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        variables = {"last": 3, "before": cursor} if backwards else {"first": 3, "after": cursor}
        result = await gql(query, variables, token=person.token, tenant="alpha")
        assert result.errors == [], result.errors
        connection = result.data[name]
        pages.append([edge["node"] for edge in connection["edges"]])
        info = connection["pageInfo"]
        assert len(pages[-1]) <= 3
        if backwards:
            if cursor is not None:
                assert info["hasNextPage"] is True
            if not info["hasPreviousPage"]:
                break
            cursor = info["startCursor"]
        else:
            if cursor is not None:
                assert info["hasPreviousPage"] is True
            if not info["hasNextPage"]:
                break
            cursor = info["endCursor"]
    if backwards:
        pages.reverse()
    return [item for page in pages for item in page]


async def test_last_before_walks_the_same_list_as_first_after_from_the_other_end(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("alpha")
    owner = await world.person(tenant, Role.OWNER)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        for i in range(8):
            db.add(Customer(tenant_id=tenant.id, email=f"c{i}@example.com",
                            created_at=utcnow() + timedelta(seconds=i)))
            db.add(AuthenticationLog(tenant_id=tenant.id, event_type="sign_in_failed", success=False,
                                     created_at=utcnow() - timedelta(minutes=i)))

    forwards = await _walk(gql, owner, CUSTOMERS, "customers", backwards=False)
    backwards = await _walk(gql, owner, CUSTOMERS, "customers", backwards=True)
    assert [c["email"] for c in forwards] == [f"c{i}@example.com" for i in range(8)]
    assert backwards == forwards
    # Newest-first lists (the audit trail) page backwards too.
    logs_forwards = await _walk(gql, owner, LOGS, "authenticationLogs", backwards=False)
    logs_backwards = await _walk(gql, owner, LOGS, "authenticationLogs", backwards=True)
    assert len(logs_forwards) == 8 and logs_backwards == logs_forwards

    # last alone is the end of the list; last with before, the items just before the cursor.
    tail = await gql(CUSTOMERS, {"last": 2}, token=owner.token, tenant="alpha")
    assert [e["node"]["email"] for e in tail.data["customers"]["edges"]] == ["c6@example.com", "c7@example.com"]
    assert tail.data["customers"]["pageInfo"]["hasPreviousPage"] is True
    assert tail.data["customers"]["pageInfo"]["hasNextPage"] is False
    middle = await gql(CUSTOMERS, {"first": 4}, token=owner.token, tenant="alpha")
    fourth = middle.data["customers"]["edges"][3]["cursor"]
    before = await gql(CUSTOMERS, {"last": 2, "before": fourth}, token=owner.token, tenant="alpha")
    assert [e["node"]["email"] for e in before.data["customers"]["edges"]] == ["c1@example.com", "c2@example.com"]
    # Both cursors bound a window.
    first_cursor = middle.data["customers"]["edges"][0]["cursor"]
    window = await gql(CUSTOMERS, {"after": first_cursor, "before": fourth}, token=owner.token, tenant="alpha")
    assert [e["node"]["email"] for e in window.data["customers"]["edges"]] == ["c1@example.com", "c2@example.com"]

    for bad in ({"first": 2, "last": 2}, {"last": 0}, {"last": 501}, {"last": 2, "before": "nonsense"}):
        refused = await gql(CUSTOMERS, bad, token=owner.token, tenant="alpha")
        assert refused.error_codes == ["VALIDATION_ERROR"], (bad, refused.body)


async def test_total_count_counts_the_whole_filtered_list_and_only_when_asked(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("alpha")
    owner = await world.person(tenant, Role.OWNER)
    other = await world.tenant("beta")
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        for i in range(5):
            db.add(Customer(tenant_id=tenant.id, email=f"c{i}@example.com"))
        for i in range(3):
            db.add(AuthenticationLog(tenant_id=tenant.id, event_type="sign_in_failed", success=False))
    async with world.runtime.database.transaction(other.id, write=True) as db:
        db.add(Customer(tenant_id=other.id, email="elsewhere@example.com"))

    counted = "{ customers(first: 2) { totalCount edges { node { id } } } }"
    plain = "{ customers(first: 2) { edges { node { id } } } }"
    await gql(plain, token=owner.token, tenant="alpha")  # who is asking is cached after this
    with counting_statements(app) as without:
        await gql(plain, token=owner.token, tenant="alpha")
    with counting_statements(app) as with_count:
        result = await gql(counted, token=owner.token, tenant="alpha")
    assert result.data["customers"]["totalCount"] == 5
    assert len(result.data["customers"]["edges"]) == 2
    assert not any("count(" in s.lower() for s in without), without
    assert len(with_count) == len(without) + 1, with_count

    logs = await gql(LOGS, {"first": 1}, token=owner.token, tenant="alpha")
    assert logs.data["authenticationLogs"]["totalCount"] == 3
    empty = await gql("{ webhookEndpoints { totalCount edges { cursor } } }", token=owner.token, tenant="alpha")
    assert empty.data["webhookEndpoints"] == {"totalCount": 0, "edges": []}


def test_every_connection_takes_last_and_before_and_has_total_count() -> None:
    from graphql import GraphQLObjectType, get_named_type

    from boka.config import Settings
    from boka.schema.root import build_schema

    schema = build_schema(Settings())._schema
    connections = 0
    for root in (schema.query_type,):
        for name, field_ in root.fields.items():
            named = get_named_type(field_.type)
            if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
                connections += 1
                assert {"first", "after", "last", "before"} <= set(field_.args), name
                assert "totalCount" in named.fields, named.name
    assert connections >= 13
