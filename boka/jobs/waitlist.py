"""Waitlist jobs, and the consumers that start them from committed events.

- ``availability.changed`` (a cancellation, a reschedule, a no-show, time off removed, a
  session's capacity raised, an offer released…): ``offer_freed_time_job`` walks the line of
  the affected services and holds freed time for the first who fit (queue ``high``).
- ``waitlist.offered``: the offer goes to the customer (email/SMS with the claim link) and its
  expiry is scheduled at ``expires_at`` (``expire_waitlist_offer``, queue ``high``); an expired
  offer releases its time, whose ``availability.changed`` brings the next in line their offer.

Every enqueue's job id derives from the event (or the offer), so an event delivered twice
starts nothing twice, and every job re-reads what it needs (a stale job does nothing).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime

from boka.booking.waitlist_offers import LineBusy, anyone_waiting, expire_offer, offer_freed_time
from boka.booking.waitlist_reads import overdue_offers, waiting_lines
from boka.events.consumers import DeliveredEvent, on
from boka.events.types import AVAILABILITY_CHANGED
from boka.events.waitlist import WAITLIST_OFFERED
from boka.jobs.context import job_runtime
from boka.jobs.notifications import MESSAGE_RETRY, PARKED, job_id
from boka.jobs.parking import park_if_suspended
from boka.jobs.queues import EnqueuedJob
from boka.jobs.retry import RetryPolicy
from boka.models.types import utcnow
from boka.notifications.booking_messages import send_waitlist_offer
from boka.runtime import Runtime

LINE_WAIT_SECONDS = 30
WAITLIST_RETRY = RetryPolicy.exponential(max_retries=6, base=2, factor=3, cap=600)


# --- jobs -----------------------------------------------------------------------------------

async def offer_freed_time_job(tenant_id: str, service_ids: list[str], start: str | None, end: str | None) -> str:
    """One pass over the line. While another pass holds it, wait without a connection (many
    freed ranges at once would otherwise hold the whole pool waiting for one lock)."""
    deadline = time.monotonic() + LINE_WAIT_SECONDS
    attempt = 0
    services = [uuid.UUID(s) for s in service_ids]
    freed = (datetime.fromisoformat(start) if start else None, datetime.fromisoformat(end) if end else None)
    async with job_runtime() as runtime:
        # Most freed time has nobody waiting for it: find that out in a read (no writer lock
        # on SQLite, no advisory lock on PostgreSQL).
        async with runtime.database.transaction(uuid.UUID(tenant_id)) as db:
            if not await anyone_waiting(db, uuid.UUID(tenant_id), services, *freed):
                return "0 offered"
        # A suspended business offers nothing: the pass waits, parked, and walks the line
        # (as it then is) once the business is reactivated.
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), offer_freed_time_job,
                                   tenant_id, service_ids, start, end, queue="high"):
            return PARKED
        while True:
            try:
                async with runtime.database.transaction(uuid.UUID(tenant_id), write=True) as db:
                    offers = await offer_freed_time(
                        db, uuid.UUID(tenant_id), service_ids=services, start=freed[0], end=freed[1],
                        now=utcnow(),
                        wait=time.monotonic() > deadline,  # at last, queue for it
                    )
                return f"{len(offers)} offered"
            except LineBusy:  # back off, with jitter, so waiting passes do not crowd the pool
                attempt += 1
                await asyncio.sleep(min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.5))


async def send_waitlist_offer_job(tenant_id: str, offer_id: str) -> str:
    async with job_runtime() as runtime:
        # Parked like every customer message; sent after a reactivation only if still open.
        if await park_if_suspended(runtime, uuid.UUID(tenant_id), send_waitlist_offer_job,
                                   tenant_id, offer_id, queue="high"):
            return PARKED
        outcome = await send_waitlist_offer(runtime, uuid.UUID(tenant_id), uuid.UUID(offer_id))
    return ", ".join(f"{c.value}: {o.value}" for c, o in outcome.items()) or "nothing to send"


async def expire_waitlist_offer(tenant_id: str, offer_id: str) -> str:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(uuid.UUID(tenant_id), write=True) as db:
            expiry = await expire_offer(db, uuid.UUID(offer_id), now=utcnow())
        if expiry.due_at is not None:
            await enqueue_offer_expiry(runtime, uuid.UUID(tenant_id), uuid.UUID(offer_id), expiry.due_at, again=True)
            return "not yet due: looked at again when it is"
        return "expired" if expiry.expired else "claimed, declined or expired before"


async def expire_overdue_offers() -> int:
    """The sweep: every overdue offer in every tenant (catches offers whose expiry job was
    lost); called by the recurring hold sweep."""
    async with job_runtime() as runtime:
        async with runtime.database.transaction(all_tenants=True) as db:
            overdue = await overdue_offers(db, now=utcnow())
        for tenant_id, offer_id in overdue:
            await expire_waitlist_offer(str(tenant_id), str(offer_id))
        return len(overdue)


async def offer_to_waiting_lines() -> int:
    """The catch-up: one pass over every line with someone waiting, over the next two weeks
    (catches freed time whose pass was lost, e.g. with an emptied Redis); called by the
    recurring hold sweep."""
    async with job_runtime() as runtime:
        async with runtime.database.transaction(all_tenants=True) as db:
            lines = await waiting_lines(db)
    for tenant_id, service_ids in lines:
        await offer_freed_time_job(str(tenant_id), [str(s) for s in service_ids], None, None)
    return len(lines)


# --- enqueueing -----------------------------------------------------------------------------

async def enqueue_offer_expiry(
    runtime: Runtime, tenant_id: uuid.UUID, offer_id: uuid.UUID, at: datetime, *, again: bool = False
) -> EnqueuedJob:
    job = f"waitlist-offer-expiry:{offer_id}" + (f":again:{uuid.uuid4().hex}" if again else "")
    return await runtime.jobs.enqueue(
        expire_waitlist_offer, str(tenant_id), str(offer_id), queue="high", job_id=job, at=at,
        retry=WAITLIST_RETRY,
    )


# --- consumers ------------------------------------------------------------------------------

async def offer_freed_time_to_the_line(event: DeliveredEvent) -> None:
    payload = event.payload
    if payload.get("freed") is False:  # time only taken (a new booking): nothing to offer
        return
    async with job_runtime() as runtime:
        await runtime.jobs.enqueue(
            offer_freed_time_job, str(event.tenant_id), list(payload.get("service_ids") or []),
            payload.get("start"), payload.get("end"), queue="high",
            job_id=job_id("waitlist-offer", str(event.id)), retry=WAITLIST_RETRY,
        )


async def send_offer_and_schedule_its_expiry(event: DeliveredEvent) -> None:
    payload = event.payload
    offer_id = uuid.UUID(payload["offer_id"])
    async with job_runtime() as runtime:
        await runtime.jobs.enqueue(
            send_waitlist_offer_job, str(event.tenant_id), str(offer_id), queue="default",
            retry=MESSAGE_RETRY, job_id=job_id("waitlist-offer-message", str(offer_id)),
        )
        await enqueue_offer_expiry(
            runtime, event.tenant_id, offer_id, datetime.fromisoformat(payload["expires_at"])
        )


on(AVAILABILITY_CHANGED)(offer_freed_time_to_the_line)
on(WAITLIST_OFFERED)(send_offer_and_schedule_its_expiry)
