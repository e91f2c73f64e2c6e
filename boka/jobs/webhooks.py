"""Job: one attempt at a webhook delivery (the queue retries it with backoff when it raises)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from boka.events.webhook_delivery import attempt_delivery
from boka.jobs.context import job_runtime
from boka.jobs.parking import park_if_suspended
from boka.models.webhooks import WebhookDelivery


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
