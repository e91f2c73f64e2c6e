"""Recurring jobs (queue ``low``): expiring overdue slot holds, checkout and unpaid-booking
holds alike (every 5 min, a net under the per-hold expiry jobs), refreshing the analytics rollups with dirty days left (every
5 min, a net under the per-event refresh jobs), the staff's daily agendas (hourly: each
tenant's agenda hour in each staff member's zone), deleting long-ended sessions (hourly),
deleting idempotency keys past their time to live (hourly) and finding staff calendar feeds due
for a poll (every minute).

Each run schedules the next one at the next period boundary, with the boundary in its job
id, so however many app processes start a chain it runs once per period; every app start
(re)starts the chains, should a run ever fail for good."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from boka.idempotency import delete_expired_keys
from boka.identity.sessions import delete_expired_sessions
from boka.jobs.analytics import refresh_dirty_rollups
from boka.jobs.context import job_runtime
from boka.jobs.external_calendars import enqueue_due_polls
from boka.jobs.notifications import enqueue_due_agendas
from boka.jobs.holds import expire_overdue_holds
from boka.jobs.payments import expire_overdue_top_ups
from boka.jobs.queues import EnqueuedJob, function_name
from boka.jobs.retry import RetryPolicy
from boka.jobs.waitlist import expire_overdue_offers, offer_to_waiting_lines
from boka.models.types import utcnow
from boka.observability.logging import get_logger
from boka.runtime import Runtime

log = get_logger("boka.jobs.scheduled")
RECURRING_RETRY = RetryPolicy.exponential(max_retries=3, base=10)


def next_boundary(now: datetime, period: timedelta) -> datetime:
    seconds = int(period.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // seconds + 1) * seconds, UTC)


async def sweep_overdue_holds() -> int:
    """Slot holds (checkouts and unpaid bookings), unpaid top-ups and waitlist offers past their
    time; and a catch-up pass over the waitlists' lines."""
    async with job_runtime() as runtime:
        swept = await expire_overdue_holds() + await expire_overdue_top_ups() + await expire_overdue_offers()
        await offer_to_waiting_lines()
        await schedule_next(runtime, sweep_overdue_holds)
        return swept


async def sweep_analytics_rollups() -> int:
    async with job_runtime() as runtime:
        refreshed = await refresh_dirty_rollups(runtime)
        await schedule_next(runtime, sweep_analytics_rollups)
        return refreshed


async def clean_up_sessions() -> int:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(write=True) as db:  # sessions are global
            deleted = await delete_expired_sessions(db, now=utcnow(), idle=runtime.identity.session_idle)
        await schedule_next(runtime, clean_up_sessions)
        return deleted


async def sweep_idempotency_keys() -> int:
    async with job_runtime() as runtime:
        async with runtime.database.transaction(write=True, all_tenants=True) as db:
            deleted = await delete_expired_keys(db, now=utcnow())
        await schedule_next(runtime, sweep_idempotency_keys)
        return deleted


async def sweep_agendas() -> int:
    async with job_runtime() as runtime:
        due = await enqueue_due_agendas(runtime)
        await schedule_next(runtime, sweep_agendas)
        return due


async def sweep_calendar_feeds() -> int:
    async with job_runtime() as runtime:
        due = await enqueue_due_polls(runtime)
        await schedule_next(runtime, sweep_calendar_feeds)
        return due


RECURRING: dict[Callable[[], Awaitable[int]], timedelta] = {
    sweep_overdue_holds: timedelta(minutes=5),
    sweep_analytics_rollups: timedelta(minutes=5),
    sweep_agendas: timedelta(hours=1),
    clean_up_sessions: timedelta(hours=1),
    sweep_idempotency_keys: timedelta(hours=1),
    sweep_calendar_feeds: timedelta(minutes=1),
}


async def schedule_next(runtime: Runtime, job: Callable[[], Awaitable[int]]) -> EnqueuedJob:
    at = next_boundary(datetime.now(UTC), RECURRING[job])
    return await runtime.jobs.enqueue(
        job, queue="low", job_id=f"{job.__name__}:{at.isoformat()}", at=at, retry=RECURRING_RETRY
    )


async def enqueue_startup_jobs(runtime: Runtime) -> None:
    """Start the recurring chains. Never fatal: an app whose Redis is down still starts (and
    says so on /readyz); the chains start with the next app start."""
    for job in RECURRING:
        try:
            await runtime.jobs.enqueue(
                job, queue="low", job_id=f"{job.__name__}:startup", retry=RECURRING_RETRY
            )
        except Exception as error:  # noqa: BLE001 - logged, and the app starts anyway
            log.warning("could not start a recurring job", job=function_name(job), error=repr(error))
