"""A suspended tenant's webhook deliveries wait in the parking and go out, through a real
worker to a real receiver, once the tenant is reactivated."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.tenancy import ParkedJob, Role
from boka.models.webhooks import WebhookDelivery
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, settings_for
from tests.events.support import CREATE, CREATE_ENDPOINT
from tests.events.webhook_receiver import webhook_receiver
from tests.jobs.workers import run_worker, worker_env
from tests.platform.test_tenant_administration import REACTIVATE, SUSPEND, tenant_gid
from tests.support import GraphQLClient, World


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, relay_in_app=True, webhook_allow_private_targets=True)


async def test_webhook_deliveries_are_parked_while_suspended_and_sent_after(
    app: Any, gql: GraphQLClient, world: World, settings: Settings
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    admin = await world.person(None, None, superadmin=True)
    env = worker_env(TEST_REDIS_URL, database_url=settings.database_url, webhook_allow_private_targets="true")
    with webhook_receiver() as receiver:
        made = await gql(CREATE_ENDPOINT, {"input": {"url": receiver.base + "/hook", "eventTypes": ["booking.created"]}},
                         token=owner.token, tenant="salon")
        receiver.secrets["/hook"] = made.data["createWebhookEndpoint"]["secret"]
        booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
                                              "customer": {"email": "x@example.com"}}}, token=owner.token, tenant="salon")
        assert booked.data["createBooking"]["errors"] == []
        for _ in range(300):  # the relay (in the app) fans the event out to a delivery and its job
            async with world.runtime.database.transaction(tenant.id) as db:
                if (await db.execute(sa.select(sa.func.count()).select_from(WebhookDelivery))).scalar_one():
                    break
            await asyncio.sleep(0.1)
        await gql(SUSPEND, {"id": tenant_gid(tenant.id), "reason": "unpaid"}, token=admin.token)

        while_suspended = run_worker("--burst", env=env)
        async with world.runtime.database.transaction(tenant.id) as db:
            parked = [job.function for job in (await db.execute(sa.select(ParkedJob))).scalars()]
        assert while_suspended.returncode == 0, while_suspended.stderr
        assert receiver.at("/hook") == []
        # the delivery's job, and the booking's confirmation message with it
        assert "boka.jobs.webhooks.deliver_webhook" in parked

        reactivated = await gql(REACTIVATE, {"id": tenant_gid(tenant.id), "reason": "paid"}, token=admin.token)
        after = run_worker("--burst", env=env)

        assert reactivated.data["reactivateTenant"]["resumedJobs"] == len(parked)
        assert after.returncode == 0, after.stderr
        [delivered] = receiver.at("/hook")
        assert delivered.json["type"] == "booking.created" and receiver.signature_ok(delivered)
