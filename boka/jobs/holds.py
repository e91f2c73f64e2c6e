"""Slot-hold jobs (queue ``high``): each hold's expiry, scheduled at its ``expires_at`` when it
is made (or re-armed from the database after the job store lost it, boka/jobs/rearm.py), and the
sweep's pass over overdue holds (boka/jobs/scheduled.py), a net under those jobs. Both run the
one expiry (boka/payments/holds.py), for checkout holds and unpaid bookings alike."""

from __future__ import annotations

import uuid
from datetime import datetime

from boka.jobs.context import job_runtime
from boka.jobs.payments import PAYMENT_RETRY, enqueue_provider_cancel
from boka.jobs.queues import EnqueuedJob
from boka.booking.holds import overdue_holds
from boka.models.types import utcnow
from boka.payments.holds import expire_slot_hold
from boka.runtime import Runtime


async def expire_hold(hold_id: str) -> str:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            expiry = await expire_slot_hold(db, uuid.UUID(hold_id), now=utcnow())
        if expiry.due_at is not None:
            await enqueue_hold_expiry(runtime, uuid.UUID(hold_id), expiry.due_at, again=True)
            return "not yet due: looked at again when it is"
        if not expiry.expired:
            return "booked, paid, released or expired before"
        if expiry.provider_payment_id:
            await enqueue_provider_cancel(runtime, expiry.provider_payment_id)
        return "expired"


async def expire_overdue_holds() -> int:
    """The sweep: every overdue hold in every tenant (catches holds whose scheduled job was
    lost, e.g. an embedded-mode restart)."""
    async with job_runtime() as runtime:
        async with runtime.database.transaction(all_tenants=True) as db:
            overdue = await overdue_holds(db, now=utcnow())
        for hold_id in overdue:
            await expire_hold(str(hold_id))
        return len(overdue)


async def enqueue_hold_expiry(
    runtime: Runtime, hold_id: uuid.UUID, at: datetime, *, again: bool = False
) -> EnqueuedJob:
    """``again``: from a job that found its hold not yet due (its own id still exists, so the
    next look needs another; expiring is idempotent, so a duplicate look is harmless)."""
    job_id = f"slot-hold-expiry:{hold_id}" + (f":again:{uuid.uuid4().hex}" if again else "")
    return await runtime.jobs.enqueue(
        expire_hold, str(hold_id), queue="high", job_id=job_id, at=at, retry=PAYMENT_RETRY,
    )
