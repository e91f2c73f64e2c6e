"""Job: one attempt at a webhook delivery (the queue retries it with backoff when it raises)."""

from __future__ import annotations

import uuid

from boka.events.webhook_delivery import attempt_delivery
from boka.jobs.context import job_runtime


async def deliver_webhook(delivery_id: str) -> None:
    async with job_runtime() as runtime:
        await attempt_delivery(runtime, uuid.UUID(delivery_id))
