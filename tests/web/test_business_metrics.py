"""Business counters on /metrics: bookings created and cancelled, counted once their
transaction commits and never with a tenant label; messages by outcome; the relay's lag."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY

from boka.db import Database, create_engine
from boka.events.consumers import ConsumerRegistry
from boka.events.outbox import record_event
from boka.events.relay import Relay
from boka.migrations import upgrade_to_head
from boka.models.types import utcnow
from boka.notifications.delivery import Message, Senders, deliver
from boka.notifications.email import OutgoingEmail
from boka.notifications.kinds import Channel, MessageKind
from boka.tenancy import create_tenant
from tests.conftest import settings_for
from tests.support import GraphQLClient, World
from tests.web.test_idempotency import BOOK, CANCEL, guest, salon


def sample(text: str, name: str, labels: dict[str, str]) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_bookings_created_and_cancelled_are_counted_after_commit(
    app: Any, http: httpx.AsyncClient, gql: GraphQLClient, world: World
) -> None:
    tenant, staffed = await salon(world, staff_count=1)
    before = (await http.get("/metrics")).text

    made = await gql(BOOK, guest(staffed), tenant=tenant.slug)
    token = made.data["createBooking"]["manageToken"]
    cancelled = await gql(CANCEL, {"input": {"manageToken": token}}, tenant=tenant.slug)
    assert cancelled.data["cancelBooking"]["errors"] == []
    taken = await gql(BOOK, guest(staffed, hour=12), tenant=tenant.slug)
    refused = await gql(BOOK, guest(staffed, hour=12), tenant=tenant.slug)  # nothing commits
    assert taken.data["createBooking"]["errors"] == []
    assert refused.data["createBooking"]["errors"] != []

    after = (await http.get("/metrics")).text
    for event_type, added in (("booking.created", 2), ("booking.cancelled", 1)):
        grew = (sample(after, "boka_business_events_total", {"type": event_type})
                - sample(before, "boka_business_events_total", {"type": event_type}))
        assert grew == added, event_type
    assert not re.search(r"boka_business_events_total\{[^}]*tenant", after)


async def test_messages_are_counted_by_outcome(app: Any, http: httpx.AsyncClient,
                                               world: World) -> None:
    tenant = await world.tenant("mailer")
    # Nothing listens on port 9: the provider cannot be reached, so the attempt fails.
    senders = Senders(settings_for("sqlite+aiosqlite://", smtp_host="127.0.0.1", smtp_port=9))
    message = Message(
        tenant_id=tenant.id, dedupe_key="metrics-test", kind=MessageKind.BOOKING_CONFIRMED,
        channel=Channel.EMAIL, recipient="someone@example.com",
        email=OutgoingEmail(to="someone@example.com", subject="Hi", body="Hello"),
    )
    labels = {"channel": "email", "kind": "booking_confirmed", "outcome": "failed"}
    before = sample((await http.get("/metrics")).text, "boka_messages_total", labels)
    try:
        await deliver(app.state.runtime.database, senders, message)
    except Exception:
        pass  # raised so that the job retries
    after = sample((await http.get("/metrics")).text, "boka_messages_total", labels)
    assert after - before == 1


async def test_the_relay_reports_the_age_of_the_oldest_waiting_event(tmp_path: Path) -> None:
    # A database of its own (embedded), so that no other relay publishes the event first.
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}", redis_url=None)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    database = Database(create_engine(settings))
    try:
        async with database.transaction(write=True) as db:
            tenant = await create_tenant(db, name="Laggy", slug="laggy")
            await record_event(db, tenant_id=tenant.id, aggregate_type="tenant",
                               aggregate_id=tenant.id, type="tenant.test", payload={},
                               occurred_at=utcnow() - timedelta(seconds=90))
        relay = Relay(database, None, registry=ConsumerRegistry())
        assert await relay.publish_pending() == 1
        assert (REGISTRY.get_sample_value("boka_relay_lag_seconds") or 0) >= 90
        assert await relay.publish_pending() == 0
        assert REGISTRY.get_sample_value("boka_relay_lag_seconds") == 0
    finally:
        await database.dispose()
