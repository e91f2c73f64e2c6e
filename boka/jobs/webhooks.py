"""Jobs for webhook deliveries: the relay consumer that fans each committed event out to the
endpoints that want it, one job per delivery round, and the job that makes one attempt (the queue
retries it with backoff when it raises). What a delivery is and how an attempt goes are in
boka/events/webhook_delivery.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from boka.events.consumers import DeliveredEvent, on
from boka.events.webhook_delivery import (
    ENDPOINT_DISABLED,
    attempt_delivery,
    deliveries_for,
    endpoints_wanting,
)
from boka.jobs.context import job_runtime
from boka.jobs.parking import park_if_suspended
from boka.jobs.retry import RetryPolicy
from boka.models.webhooks import WebhookDelivery

if TYPE_CHECKING:
    from boka.runtime import Runtime


@on("*")
async def fan_out_to_webhooks(event: DeliveredEvent) -> None:
    if event.type == ENDPOINT_DISABLED:
        return  # never announce an endpoint's failure to the endpoints themselves
    async with job_runtime() as runtime:
        # Most tenants have no endpoint for most events: find out in a read, write only if so.
        async with runtime.database.transaction(event.tenant_id) as db:
            wanted = await endpoints_wanting(db, event)
        if not wanted:
            return
        async with runtime.database.transaction(event.tenant_id, write=True) as db:
            pending = await deliveries_for(db, event, wanted)
        await enqueue_deliveries(runtime, pending)


async def enqueue_deliveries(runtime: Runtime, deliveries: Sequence[WebhookDelivery]) -> int:
    settings = runtime.settings
    policy = RetryPolicy.exponential(
        settings.webhook_max_retries, base=settings.webhook_retry_base_seconds, cap=3600
    )
    enqueued = 0
    for delivery in deliveries:
        # One job per delivery round, named by the attempts made before the round began (a
        # retry keeps the job's id): enqueueing the same round again is a no-op.
        job = await runtime.jobs.enqueue(
            deliver_webhook, str(delivery.id), queue="default",
            job_id=f"webhook-{delivery.id}-{delivery.attempts - delivery.round_attempts}", retry=policy,
        )
        enqueued += not job.duplicate
    return enqueued


async def deliver_webhook(delivery_id: str) -> str | None:
    async with job_runtime() as runtime:
        # A delivery is found by id before anyone knows its tenant (as attempt_delivery does).
        async with runtime.database.transaction(all_tenants=True) as db:
            tenant_id = (await db.execute(
                sa.select(WebhookDelivery.tenant_id).where(WebhookDelivery.id == uuid.UUID(delivery_id))
            )).scalar_one_or_none()
        if tenant_id is not None and await park_if_suspended(runtime, tenant_id, deliver_webhook, delivery_id):
            return "parked: tenant suspended"
        await attempt_delivery(runtime, uuid.UUID(delivery_id))
        return None
