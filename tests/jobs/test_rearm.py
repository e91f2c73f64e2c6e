"""Redis emptied loses nothing (issue 12 item 5: 19 webhook deliveries stayed PENDING forever,
reminders of existing bookings were gone, the recurring chains absent until an app restart).

Bookings and a webhook endpoint are made through the API, so the relay (in the app here, no
worker draining the queues) leaves a pending delivery per booking, two reminders per booking
and the recurring chains in RQ. The test empties its Redis database; the app's re-arm watch
notices the job store's mark is gone and puts every one of them back, under the same job ids,
so a second re-arm adds nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from rq import Queue
from rq.registry import ScheduledJobRegistry

from boka.jobs.queues import ARMED_KEY, QUEUE_NAMES
from boka.jobs.rearm import Rearmed, rearm
from boka.jobs.scheduled import RECURRING
from boka.models.tenancy import Role
from boka.models.types import utcnow
from boka.notifications.reminders import upcoming_reminders
from boka.models.webhooks import WebhookDelivery
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, settings_for
from tests.events.support import CREATE, CREATE_ENDPOINT
from tests.jobs.workers import wait_for, worker_env, worker_process
from tests.support import GraphQLClient, World


HOLD = """mutation Hold($input: HoldSlotInput!) { holdSlot(input: $input) { errors { code } } }"""


@pytest.fixture
async def watched(app: Any, postgres_url: str) -> AsyncIterator[Any]:
    """An app with its relay, re-arm checked every 0.2 s; ``app`` empties the tables after."""
    application = create_app(settings_for(postgres_url, relay_in_app=True, rearm_check_seconds=0.2))
    async with application.router.lifespan_context(application):
        yield application


def waiting_jobs(connection: redis.Redis) -> set[str]:
    """Ids of every queued or scheduled job, all queues."""
    ids: set[str] = set()
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=connection)
        ids.update(queue.job_ids)
        ids.update(ScheduledJobRegistry(queue=queue).get_job_ids())
    return ids


def recurring(job_ids: set[str]) -> set[str]:
    """The recurring chains among ``job_ids`` (named by function, then the run's time)."""
    return {job.__name__ for job in RECURRING if any(i.startswith(job.__name__ + "_") for i in job_ids)}


async def _until(condition: Any, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_emptied_redis_gets_every_pending_job_back_from_postgres(watched: Any) -> None:
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    runtime = watched.state.runtime
    world = World(runtime)
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    await _until(lambda: connection.exists(ARMED_KEY))  # the first check found an empty store

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=watched), base_url="http://t") as client:
        gql = GraphQLClient(client)
        made = await gql(CREATE_ENDPOINT, {"input": {"url": "https://hooks.example.com/boka", "eventTypes": ["booking.*"]}},
                         token=owner.token, tenant="salon")
        assert made.data["createWebhookEndpoint"]["errors"] == []
        for hour in (10, 12, 14):
            booked = await gql(CREATE, {"input": {
                "serviceId": staffed.service_id, "start": local(future_day(), hour).isoformat(),
                "customer": {"email": f"c{hour}@example.com"}}}, token=owner.token, tenant="salon")
            assert booked.data["createBooking"]["booking"]["status"] == "CONFIRMED"
        held = await gql(HOLD, {"input": {"serviceId": staffed.service_id,  # a checkout's hold
                                          "start": local(future_day(), 16).isoformat()}}, tenant="salon")
        assert held.data["holdSlot"]["errors"] == []

    def pending() -> int:
        return sum(1 for job in waiting_jobs(connection) if job.startswith("webhook-"))

    await _until(lambda: pending() == 3 and sum(j.startswith("reminder-") for j in waiting_jobs(connection)) == 6)
    async with runtime.database.transaction(all_tenants=True) as db:
        deliveries = (await db.execute(sa.select(WebhookDelivery.status))).scalars().all()
    assert deliveries == ["pending"] * 3
    # Not re-armed: messages already sent, the recurring chains (restarted, checked below),
    # analytics rollup refreshes (a lost one costs speed only; sweep_analytics_rollups catches
    # up) and waitlist passes (one-off reactions; the recurring sweep gives lines a catch-up pass).
    before = {job for job in waiting_jobs(connection)
              if not job.startswith(("notify-", "sweep_", "clean_up_", "rollup-", "waitlist-offer-"))}
    chains = recurring(waiting_jobs(connection))
    assert sum(job.startswith("slot-hold-expiry") for job in before) == 1

    connection.flushdb()  # as FLUSHALL, for this test's database only
    assert waiting_jobs(connection) == set()
    await _until(lambda: connection.exists(ARMED_KEY))

    after = waiting_jobs(connection)
    assert before <= after, f"lost: {before - after}"
    assert recurring(after) == chains == {job.__name__ for job in RECURRING}
    assert await rearm(runtime) == Rearmed()  # everything is there: nothing enqueued twice
    async with runtime.database.transaction(all_tenants=True) as db:  # page by page, the same
        paged = [reminder.job_id async for _, reminder in upcoming_reminders(db, now=utcnow(), page=1)]
    assert sorted(paged) == sorted(job for job in before if job.startswith("reminder-"))


def test_a_worker_alone_rearms_an_emptied_redis(postgres_url: str, tmp_path: Any) -> None:
    """No app running: the worker's own watch puts the recurring chains back."""
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    chains = {job.__name__ for job in RECURRING}
    env = worker_env(TEST_REDIS_URL, database_url=postgres_url, rearm_check_seconds="0.3")
    with worker_process(env, tmp_path / "worker.log"):
        wait_for(lambda: connection.exists(ARMED_KEY), "the worker's first re-arm")
        connection.flushdb()
        wait_for(lambda: connection.exists(ARMED_KEY) and recurring(waiting_jobs(connection)) == chains,
                 "the worker re-arming the emptied store")
