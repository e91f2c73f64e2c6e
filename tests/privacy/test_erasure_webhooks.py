"""After an erasure, webhooks carry no personal data (issue 15 item 6): the events sent after it
(the cancellation, customer.changed "erased") and a replay of the events sent before it, through
the relay and a real worker (python worker.py) to a real local receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.bookings import Customer
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import TEST_REDIS_URL, settings_for
from tests.events.support import CREATE, CREATE_ENDPOINT
from tests.events.webhook_receiver import webhook_receiver
from tests.jobs.workers import worker_env, worker_process
from tests.servers import free_port
from tests.support import GraphQLClient, World

ERASE = """mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) {
    cancelledBookings errors { code } } }"""
REPLAY_RANGE = """mutation ReplayRange($input: ReplayWebhookEventsInput!) {
  replayWebhookEvents(input: $input) { queued errors { code field } } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, relay_in_app=True, webhook_allow_private_targets=True,
                        rate_limits_enabled=False)


async def _eventually(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    for _ in range(int(timeout / 0.2)):
        if value := condition():
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_webhooks_after_an_erasure_name_nobody(
    app: Any, gql: GraphQLClient, world: World, settings: Settings, tmp_path: Path,
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)

    with webhook_receiver() as receiver:
        made = await gql(CREATE_ENDPOINT, {"input": {"url": receiver.base + "/all",
                                                     "eventTypes": ["booking.*", "customer.*"]}},
                         token=owner.token, tenant="salon")
        receiver.secrets["/all"] = made.data["createWebhookEndpoint"]["secret"]
        endpoint_id = made.data["createWebhookEndpoint"]["endpoint"]["id"]
        env = worker_env(TEST_REDIS_URL, database_url=settings.database_url,
                         worker_metrics_port=str(free_port()), webhook_allow_private_targets="true")
        with worker_process(env, tmp_path / "worker.log"):
            booked = await gql(CREATE, {"input": {
                "serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                "customer": {"email": "dana@example.com", "firstName": "Dana", "lastName": "Privatova"}}},
                token=owner.token, tenant="salon")
            assert booked.data["createBooking"]["errors"] == [], booked.body
            created = await _eventually(
                lambda: [r for r in receiver.at("/all") if r.json["type"] == "booking.created"],
                "the booking.created webhook")
            assert created[0].json["data"]["customer"]["name"] == "Dana Privatova"  # before: named
            before = len(receiver.at("/all"))

            async with world.runtime.database.transaction(tenant.id) as db:
                dana = (await db.execute(sa.select(Customer))).scalars().one()
            erased = await gql(ERASE, {"input": {"id": gid("Customer", dana.id), "cancelFutureBookings": True}},
                               token=owner.token, tenant="salon")
            assert erased.data["eraseCustomer"] == {"cancelledBookings": 1, "errors": []}, erased.body
            after = await _eventually(
                lambda: (lambda sent: sent if {"booking.cancelled", "customer.changed"} <= {
                    r.json["type"] for r in sent} else None)(receiver.at("/all")[before:]),
                "the cancellation and erasure webhooks")

            # Every event again, as an integrator replays a range after the erasure.
            window = {"endpointId": endpoint_id, "from": (utcnow() - timedelta(hours=1)).isoformat(),
                      "to": (utcnow() + timedelta(minutes=1)).isoformat()}
            again = await gql(REPLAY_RANGE, {"input": window}, token=owner.token, tenant="salon")
            queued = again.data["replayWebhookEvents"]["queued"]
            assert queued >= 3, again.body
            replayed = await _eventually(
                lambda: (lambda sent: sent if len(sent) >= len(after) + queued else None)(
                    receiver.at("/all")[before:]),
                "the replayed range")

    for request in replayed:  # the events sent after the erasure, and the replays
        text = request.body.decode().lower()
        assert "dana" not in text and "privatova" not in text, text
    erasure = [r.json for r in after if r.json["type"] == "customer.changed"]
    assert erasure[-1]["data"]["action"] == "erased"
    replayed_created = [r.json for r in replayed if r.json["type"] == "booking.created"]
    assert replayed_created and replayed_created[0]["id"] == created[0].json["id"]
    assert replayed_created[0]["data"]["customer"]["name"] is None
