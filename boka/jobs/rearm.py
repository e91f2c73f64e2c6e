"""Work kept in PostgreSQL put back into the job store when the store lost it (issue 12 item 5:
after Redis was emptied, webhook deliveries stayed PENDING forever, reminders were gone and
the recurring chains were absent until an app restart).

The job store carries a mark (``JobQueue.mark_holds_everything``: a key in Redis, a flag in
embedded mode). ``RearmWatch`` looks for it every ``BOKA_REARM_CHECK_SECONDS``, in every app
and worker process; when it is missing (Redis was flushed, restarted without persistence, or replaced, or
this embedded process is new) ``rearm`` enqueues from the database everything that should be
waiting: the recurring chains, every open slot hold's expiry (checkouts and unpaid bookings),
every pending webhook delivery's current round and every confirmed booking's future
reminders. Each job has the id its first
enqueue gave it, so what is still there is left alone and nothing runs twice; then the mark is
set again. A check costs one Redis round trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from boka.background import stop_task
from boka.events.webhook_delivery import pending_deliveries
from boka.jobs.notifications import enqueue_reminder
from boka.jobs.payments import enqueue_payment_expiry
from boka.jobs.holds import enqueue_hold_expiry
from boka.jobs.scheduled import RECURRING, schedule_next
from boka.jobs.waitlist import enqueue_offer_expiry
from boka.jobs.webhooks import enqueue_deliveries
from boka.booking.holds import open_holds
from boka.booking.waitlist_reads import open_offers
from boka.models.types import utcnow
from boka.payments.holds import open_top_ups
from boka.notifications.reminders import upcoming_reminders
from boka.observability.logging import get_logger
from boka.runtime import Runtime

log = get_logger("boka.jobs.rearm")


@dataclass
class Rearmed:
    """How many jobs each kind had missing (enqueued again) by one ``rearm``."""

    recurring: int = 0
    holds: int = 0
    top_ups: int = 0
    webhook_deliveries: int = 0
    reminders: int = 0
    waitlist_offers: int = 0


async def rearm(runtime: Runtime) -> Rearmed:
    """Enqueue every job the database says should be waiting; idempotent by job id."""
    rearmed = Rearmed()
    for job in RECURRING:
        rearmed.recurring += not (await schedule_next(runtime, job)).duplicate
    database = runtime.database
    async with database.transaction(all_tenants=True) as db:
        holds = await open_holds(db)
        top_ups = await open_top_ups(db)
        offers = await open_offers(db)
        deliveries = await pending_deliveries(db)
    for hold_id, expires_at in holds:
        rearmed.holds += not (await enqueue_hold_expiry(runtime, hold_id, expires_at)).duplicate
    for payment_id, expires_at in top_ups:
        rearmed.top_ups += not (await enqueue_payment_expiry(runtime, payment_id, expires_at)).duplicate
    for tenant_id, offer_id, expires_at in offers:
        rearmed.waitlist_offers += not (
            await enqueue_offer_expiry(runtime, tenant_id, offer_id, expires_at)
        ).duplicate
    rearmed.webhook_deliveries = await enqueue_deliveries(runtime, deliveries)
    async with database.transaction(all_tenants=True) as db:
        async for tenant_id, reminder in upcoming_reminders(db, now=utcnow()):
            rearmed.reminders += await enqueue_reminder(runtime, tenant_id, reminder)
    return rearmed


async def rearm_if_lost(runtime: Runtime) -> Rearmed | None:
    """``rearm`` if the job store lost its mark; None if it did not."""
    if await runtime.jobs.holds_everything():
        return None
    rearmed = await rearm(runtime)
    await runtime.jobs.mark_holds_everything()
    log.info("job store re-armed from the database", **vars(rearmed))
    return rearmed


class RearmWatch:
    """The periodic ``rearm_if_lost`` of one process (started and stopped by the app, and by
    each worker process)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="boka-rearm-watch")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.rearm_check_seconds)
            try:
                await rearm_if_lost(self.runtime)
            except Exception as error:  # noqa: BLE001 - Redis or the database away: next time
                log.warning("could not re-arm the job store", error=repr(error))
