"""Platform administration over GraphQL: superadmins list, search, suspend and reactivate
tenants; a suspended tenant is refused over HTTP and websocket, its booking page is closed and
its jobs wait (parked in PostgreSQL) until it is reactivated."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import sqlalchemy as sa
from httpx_ws import WebSocketDisconnect

from boka.config import Settings
from boka.models.security import AuthenticationLog
from boka.models.tenancy import ParkedJob, Role
from boka.notifications.kinds import MessageKind
from boka.jobs.notifications import notify_booking_changed
from tests.conftest import TEST_REDIS_URL
from tests.jobs.workers import run_worker, worker_env
from tests.notifications.servers import SmtpServer
from tests.notifications.support import book
from tests.support import GraphQLClient, World
from tests.web.test_websocket import _init, websocket

TENANTS = """query($search: String, $status: TenantStatus, $first: Int, $after: String) {
  platformTenants(search: $search, status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id slug status suspensionReason counts { bookings customers staff members } } } } }"""
SUSPEND = """mutation($id: ID!, $reason: String!) { suspendTenant(input: {id: $id, reason: $reason}) {
  tenant { slug status suspendedAt suspensionReason } errors { field code message } } }"""
REACTIVATE = """mutation($id: ID!, $reason: String!) { reactivateTenant(input: {id: $id, reason: $reason}) {
  tenant { slug status suspendedAt } resumedJobs errors { field code message } } }"""
VIEWER = "{ viewer { role tenant { slug } } }"
SERVICES = "{ services(first: 5) { edges { node { name } } } }"
CREATE_KEY = """mutation { createApiKey(input: {name: "Website", scopes: ["services:read"]}) { key } }"""


def tenant_gid(tenant_id: Any) -> str:
    return base64.b64encode(f"PlatformTenant:{tenant_id}".encode()).decode()


async def test_a_superadmin_lists_and_searches_tenants_with_their_counts(gql: GraphQLClient, world: World) -> None:
    booked = await book(gql, world, slug="salon")  # one booking, its customer, one staff member
    await world.tenant("barber-shop")
    await world.person(booked.tenant, Role.MANAGER)
    admin = await world.person(None, None, superadmin=True)

    everything = await gql(TENANTS, {}, token=admin.token)
    searched = await gql(TENANTS, {"search": "BARBER"}, token=admin.token)
    first = await gql(TENANTS, {"first": 1}, token=admin.token)
    second = await gql(TENANTS, {"first": 1, "after": first.data["platformTenants"]["pageInfo"]["endCursor"]},
                       token=admin.token)
    suspended_only = await gql(TENANTS, {"status": "SUSPENDED"}, token=admin.token)

    listed = everything.data["platformTenants"]
    assert listed["totalCount"] == 2
    salon, barber = (edge["node"] for edge in listed["edges"])  # oldest first
    assert salon["slug"] == "salon" and salon["status"] == "ACTIVE"
    # members: the customer, the staff member's account and the manager
    assert salon["counts"] == {"bookings": 1, "customers": 1, "staff": 1, "members": 3}
    assert barber["counts"] == {"bookings": 0, "customers": 0, "staff": 0, "members": 0}
    assert [e["node"]["slug"] for e in searched.data["platformTenants"]["edges"]] == ["barber-shop"]
    assert [e["node"]["slug"] for e in first.data["platformTenants"]["edges"]] == ["salon"]
    assert first.data["platformTenants"]["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["slug"] for e in second.data["platformTenants"]["edges"]] == ["barber-shop"]
    assert suspended_only.data["platformTenants"]["edges"] == []


async def test_suspension_refuses_the_tenant_everywhere_until_reactivated(
    app: Any, http: Any, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    admin = await world.person(None, None, superadmin=True)
    assert (await gql(VIEWER, token=owner.token, tenant="salon")).errors == []  # cached now
    key = (await gql(CREATE_KEY, token=owner.token, tenant="salon")).data["createApiKey"]["key"]
    assert (await gql(SERVICES, token=key)).errors == []  # cached now

    suspended = await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "unpaid invoices"}, token=admin.token)
    as_owner = await gql(VIEWER, token=owner.token, tenant="salon")
    as_guest = await gql(SERVICES, tenant="salon")
    as_key = await gql(SERVICES, token=key)
    public = await gql('{ business(slug: "salon") { name } }')
    as_admin = await gql(VIEWER, token=admin.token, tenant="salon")
    page = await http.get("/book/salon")
    again = await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "twice"}, token=admin.token)
    async with websocket(app) as ws:
        await ws.send_json({"type": "connection_init",
                            "payload": {"authorization": f"Bearer {owner.token}", "tenant": "salon"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)

    assert suspended.data["suspendTenant"]["errors"] == []
    assert suspended.data["suspendTenant"]["tenant"]["status"] == "SUSPENDED"
    assert suspended.data["suspendTenant"]["tenant"]["suspensionReason"] == "unpaid invoices"
    assert as_owner.error_codes == ["TENANT_SUSPENDED"]
    assert "suspended" in as_owner.errors[0]["message"]
    assert as_guest.error_codes == ["TENANT_SUSPENDED"]
    assert as_key.error_codes == ["TENANT_SUSPENDED"]
    assert public.error_codes == ["TENANT_SUSPENDED"]
    assert as_admin.errors == [] and as_admin.data["viewer"]["tenant"]["slug"] == "salon"
    assert page.status_code == 503 and "This business is closed" in page.text and "Salon" in page.text
    assert again.data["suspendTenant"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (closed.value.code, closed.value.reason) == (4403, "TENANT_SUSPENDED")

    reactivated = await gql(REACTIVATE, {"id": tenant_gid(tenant.id), "reason": "paid"}, token=admin.token)
    assert reactivated.data["reactivateTenant"]["tenant"] == {"slug": "salon", "status": "ACTIVE", "suspendedAt": None}
    assert (await gql(VIEWER, token=owner.token, tenant="salon")).data["viewer"]["role"] == "OWNER"
    assert (await http.get("/book/salon")).status_code == 200
    async with world.runtime.database.transaction(tenant.id) as db:
        trail = list((await db.execute(
            sa.select(AuthenticationLog.event_type, AuthenticationLog.user_id, AuthenticationLog.details)
            .where(AuthenticationLog.event_type.in_(["tenant_suspended", "tenant_reactivated"]))
            .order_by(AuthenticationLog.created_at)
        )).all())
    assert [(event, user) for event, user, _ in trail] == [
        ("tenant_suspended", admin.user.id), ("tenant_reactivated", admin.user.id)]
    assert trail[0][2]["reason"] == "unpaid invoices" and trail[1][2]["reason"] == "paid"


async def test_an_open_connection_is_refused_new_subscriptions_once_suspended(app: Any, gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    admin = await world.person(None, None, superadmin=True)
    async with websocket(app) as ws:
        ack = await _init(ws, {"authorization": f"Bearer {owner.token}", "tenant": "salon"})
        assert ack["type"] == "connection_ack"
        await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "abuse"}, token=admin.token)
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": VIEWER}})
        message = await ws.receive_json(timeout=5)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["TENANT_SUSPENDED"]


async def test_only_superadmins_administer_and_bad_input_changes_nothing(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    admin = await world.person(None, None, superadmin=True)

    by_owner = await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "mine"}, token=owner.token, tenant="salon")
    listed_by_owner = await gql(TENANTS, {}, token=owner.token, tenant="salon")
    no_reason = await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "  "}, token=admin.token)
    wrong_type = await gql(SUSPEND, {"id": base64.b64encode(f"Booking:{tenant.id}".encode()).decode(),
                                     "reason": "x"}, token=admin.token)
    not_suspended = await gql(REACTIVATE, {"id": tenant_gid(tenant.id), "reason": "x"}, token=admin.token)

    assert by_owner.error_codes == ["FORBIDDEN"]
    assert listed_by_owner.error_codes == ["FORBIDDEN"]
    assert no_reason.data["suspendTenant"]["errors"][0]["field"] == "reason"
    assert wrong_type.data["suspendTenant"]["errors"][0]["code"] == "INVALID_INPUT"
    assert not_suspended.data["reactivateTenant"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (await gql(VIEWER, token=owner.token, tenant="salon")).errors == []


async def test_a_suspended_tenants_jobs_are_parked_and_resumed_on_reactivation(
    gql: GraphQLClient, world: World, smtp: SmtpServer, settings: Settings
) -> None:
    booked = await book(gql, world)
    admin = await world.person(None, None, superadmin=True)
    env = worker_env(TEST_REDIS_URL, database_url=settings.database_url, smtp_host=smtp.host,
                     smtp_port=str(smtp.port), smtp_security="none", email_from=settings.email_from,
                     public_url=settings.public_url, worker_concurrency="1")
    run_worker("--burst", env=env)  # whatever the booking itself queued
    smtp.sink.received.clear()
    await gql(SUSPEND, {"id": tenant_gid(booked.tenant.id), "reason": "unpaid"}, token=admin.token)

    await notify_booking_changed(world.runtime, booked.tenant.id, booked.booking_id,
                                 MessageKind.BOOKING_CANCELLED, event_id="while-suspended")
    while_suspended = run_worker("--burst", env=env)
    async with world.runtime.database.transaction(booked.tenant.id) as db:
        parked = list((await db.execute(sa.select(ParkedJob))).scalars())

    assert while_suspended.returncode == 0, while_suspended.stderr
    assert smtp.sink.received == []
    assert [job.function for job in parked] == ["boka.jobs.notifications.send_booking_message_job"]
    assert parked[0].args == [str(booked.tenant.id), str(booked.booking_id), "booking_cancelled"]

    # The message is still true once the tenant reopens: cancel the booking while it is closed
    # (directly, the API being closed to it), then reactivate.
    async with world.runtime.database.transaction(booked.tenant.id, write=True) as db:
        from boka.models.bookings import Booking, BookingStatus

        row = await db.get(Booking, booked.booking_id)
        assert row is not None
        row.status = BookingStatus.CANCELLED
    reactivated = await gql(REACTIVATE, {"id": tenant_gid(booked.tenant.id), "reason": "paid"}, token=admin.token)
    after = run_worker("--burst", env=env)

    assert reactivated.data["reactivateTenant"]["resumedJobs"] == 1
    assert after.returncode == 0, after.stderr
    [mail] = smtp.sink.to("carl@example.com")
    assert mail.subject.startswith("Booking cancelled")
    async with world.runtime.database.transaction(booked.tenant.id) as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(ParkedJob))).scalar_one() == 0
