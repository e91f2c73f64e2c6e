"""Export, erasure and account deletion on the embedded default (SQLite, no Redis), as on
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.migrations import upgrade_to_head
from boka.models.bookings import Customer
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import settings_for
from tests.support import PASSWORD, GraphQLClient, World

pytestmark = pytest.mark.sqlite

CREATE = """mutation($input: CreateBookingInput!) { createBooking(input: $input) {
    booking { id } errors { code } } }"""
EXPORT = "query($id: ID) { customerDataExport(customerId: $id) }"
ERASE = """mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) {
    customer { email } alreadyErased cancelledBookings errors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelBooking(input: {id: $id}) { errors { code } } }"""
DELETE = """mutation { deleteMyAccount(input: {password: "%s"}) {
    deleted customerRecordsErased errors { code } } }""" % PASSWORD


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'privacy.db'}", redis_url=None,
                            rate_limits_enabled=False)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_export_erase_and_delete_work_on_sqlite(sqlite_app: Any) -> None:
    world = World(sqlite_app.state.runtime)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t")
    gql = GraphQLClient(http)
    async with aclosing(http):
        tenant = await world.tenant("salon", time_zone="Europe/Berlin")
        staffed = await BookingWorld(world).staffed_service(tenant)
        owner = await world.person(tenant, Role.OWNER)
        carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
        for who, extra in ((owner, {"customer": {"email": "dana@example.com", "firstName": "Dana"}}),
                           (carl, {})):
            made = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                                "start": local(future_day(2), 10 if who is owner else 14).isoformat(),
                                                **extra}}, token=who.token, tenant="salon")
            assert made.data["createBooking"]["errors"] == [], made.body
        async with world.runtime.database.transaction(tenant.id) as db:
            dana = (await db.execute(sa.select(Customer).where(Customer.email == "dana@example.com"))).scalar_one()

        exported = await gql(EXPORT, {"id": gid("Customer", dana.id)}, token=owner.token, tenant="salon")
        assert exported.data["customerDataExport"]["customer"]["first_name"] == "Dana", exported.body
        erased = await gql(ERASE, {"input": {"id": gid("Customer", dana.id), "cancelFutureBookings": True}},
                           token=owner.token, tenant="salon")
        assert erased.data["eraseCustomer"]["cancelledBookings"] == 1, erased.body
        again = await gql(ERASE, {"input": {"id": gid("Customer", dana.id)}}, token=owner.token, tenant="salon")
        assert again.data["eraseCustomer"]["alreadyErased"] is True

        refused = await gql(DELETE, token=carl.token, tenant="salon")
        assert [e["code"] for e in refused.data["deleteMyAccount"]["errors"]] == ["FUTURE_BOOKINGS"]
        cancelled = await gql(CANCEL, {"id": made.data["createBooking"]["booking"]["id"]},
                              token=carl.token, tenant="salon")
        assert cancelled.data["cancelBooking"]["errors"] == [], cancelled.body
        deleted = await gql(DELETE, token=carl.token, tenant="salon")
        assert deleted.data["deleteMyAccount"] == {"deleted": True, "customerRecordsErased": 1, "errors": []}
        async with world.runtime.database.transaction(tenant.id) as db:
            emails = sorted((await db.execute(sa.select(Customer.email))).scalars())
    assert all(email.endswith("@erased.invalid") for email in emails) and len(emails) == 2
