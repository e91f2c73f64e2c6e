"""The outbox: every change writes its events in the same transaction, numbered per aggregate."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from boka.booking.schedules import add_time_off
from boka.events.outbox import record_event
from boka.identity.principal import Principal
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.events.support import CANCEL, CREATE, events
from tests.support import GraphQLClient, World


async def test_booking_changes_write_their_events_in_order(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    start = local(future_day(), 10)

    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                       token=carl.token, tenant="salon")
    booking_gid = booked.data["createBooking"]["booking"]["id"]
    cancelled = await gql(CANCEL, {"input": {"id": booking_gid, "reason": "ill"}}, token=carl.token, tenant="salon")
    assert cancelled.data["cancelBooking"]["errors"] == []

    written = await events(world.runtime.database)
    assert [(e.type, e.sequence) for e in written] == [
        ("customer.changed", 1),
        ("booking.created", 1),
        ("availability.changed", 1),  # its own stream: the booking's events number 1, 2, 3…
        ("booking.cancelled", 2),
        ("availability.changed", 2),
    ]
    created = written[1].payload
    # what an integrator needs without asking back: Relay global ids (raw UUIDs kept) and names
    assert created["booking"] == {"id": gid("Booking", written[1].aggregate_id)}
    assert created["booking"]["id"] == booking_gid
    assert created["service"] == {"id": gid("Service", staffed.service.id), "name": "Haircut"}
    assert created["staff"] == {"id": gid("StaffMember", staffed.staff[0].id), "name": "Staff 0"}
    assert created["customer"]["id"] == gid("Customer", uuid.UUID(created["customer_id"]))
    assert created["price"] == {"amount": 5000, "currency": "EUR"}
    assert created["status"] == "confirmed" and created["from_status"] is None
    assert created["service_id"] == str(staffed.service.id)
    assert created["staff_id"] == str(staffed.staff[0].id)
    assert created["start"] == start.isoformat() or created["start"].startswith(str(start.date()))
    assert "token" not in str(created).lower()
    freed = written[4].payload
    assert freed["service_ids"] == [str(staffed.service.id)]
    assert freed["staff_ids"] == [str(staffed.staff[0].id)]
    assert {e.tenant_id for e in written} == {tenant.id}
    assert all(e.published_at is None for e in written)


async def test_a_refused_booking_writes_no_event(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    refused = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 3).isoformat()}},
                        token=carl.token, tenant="salon")
    assert refused.data["createBooking"]["errors"][0]["code"] == "SLOT_UNAVAILABLE"
    assert await events(world.runtime.database) == []


async def test_concurrent_transactions_on_one_aggregate_get_distinct_numbers(world: World) -> None:
    tenant = await world.tenant("salon")
    aggregate = uuid.uuid4()

    async def one(index: int) -> None:
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            await record_event(db, tenant_id=tenant.id, aggregate_type="test", aggregate_id=aggregate,
                               type="test.happened", payload={"index": index})
            await asyncio.sleep(0.01)  # hold the transaction open so they overlap

    await asyncio.gather(*(one(i) for i in range(12)))
    written = await events(world.runtime.database)
    assert sorted(e.sequence for e in written) == list(range(1, 13))
    # numbers were taken in commit order: outbox order and sequence order agree
    assert [e.sequence for e in written] == list(range(1, 13))


async def test_time_off_announces_the_staff_members_services(world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    starts = utcnow() + timedelta(days=2)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        principal = await _principal(world, owner.token, "salon")
        await add_time_off(db, principal, staff_member_id=staffed.staff[0].id,
                           starts_at=starts, ends_at=starts + timedelta(hours=3))
    changed = [e for e in await events(world.runtime.database) if e.type == "availability.changed"]
    assert len(changed) == 1
    assert changed[0].payload["service_ids"] == [str(staffed.service.id)]
    assert changed[0].payload["start"] == starts.isoformat()


async def _principal(world: World, token: str, tenant: str) -> Principal:
    from boka.identity.authentication import resolve_principal

    return await resolve_principal(world.runtime.database, world.runtime.identity, credential=token, tenant_header=tenant, host=None, ip_address="127.0.0.1")


@pytest.mark.sqlite
async def test_sequences_work_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from boka.db import Database, create_engine
    from boka.migrations import upgrade_to_head
    from boka.tenancy import create_tenant
    from tests.conftest import settings_for

    url = f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}"
    await asyncio.to_thread(upgrade_to_head, url)
    database = Database(create_engine(settings_for(url, redis_url=None)))
    try:
        async with database.transaction(write=True) as db:
            tenant = await create_tenant(db, name="S", slug="s", domain=None, time_zone="UTC")
        aggregate = uuid.uuid4()
        for _ in range(3):
            async with database.transaction(write=True) as db:
                await record_event(db, tenant_id=tenant.id, aggregate_type="test",
                                   aggregate_id=aggregate, type="test.happened", payload={})
        assert [e.sequence for e in await events(database)] == [1, 2, 3]
    finally:
        await database.dispose()


async def test_the_relay_is_woken_at_the_commit_not_at_a_savepoint(world: World) -> None:
    """A savepoint's release or rollback is not the transaction's end: the relay is woken once
    the events are committed (and a rolled-back savepoint after the event does not cancel it)."""
    from boka.events.wakeup import unwatch, watch

    tenant = await world.tenant("salon")
    woken = asyncio.Event()
    watch(woken)
    try:
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            await record_event(db, tenant_id=tenant.id, aggregate_type="test",
                               aggregate_id=uuid.uuid4(), type="test.happened", payload={})
            async with db.begin_nested():
                pass
            await asyncio.sleep(0.05)  # a wake-up is delivered with call_soon
            assert not woken.is_set()  # released, not committed: nothing to see yet
            with pytest.raises(RuntimeError):
                async with db.begin_nested():
                    raise RuntimeError("this part is undone")
            await asyncio.sleep(0.05)
            assert not woken.is_set()
        await asyncio.wait_for(woken.wait(), 1)
    finally:
        unwatch(woken)
