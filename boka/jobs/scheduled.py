"""Recurring maintenance jobs (queue ``low``). Each run schedules the next one at the next
period boundary, with the boundary in its job id, so however many app processes start the
chain it runs once per period; every app start (re)starts it, should a run ever fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from boka.jobs.context import job_runtime
from boka.jobs.payments import expire_overdue_holds
from boka.jobs.retry import RetryPolicy
from boka.observability.logging import get_logger
from boka.runtime import Runtime

log = get_logger("boka.jobs.scheduled")

SWEEP_PERIOD = timedelta(minutes=5)


def next_boundary(now: datetime, period: timedelta) -> datetime:
    seconds = int(period.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // seconds + 1) * seconds, UTC)


async def sweep_overdue_holds() -> int:
    async with job_runtime() as runtime:
        swept = await expire_overdue_holds()
        await schedule_hold_sweep(runtime)
        return swept


async def schedule_hold_sweep(runtime: Runtime) -> None:
    at = next_boundary(datetime.now(UTC), SWEEP_PERIOD)
    await runtime.jobs.enqueue(
        sweep_overdue_holds, queue="low", job_id=f"sweep-holds:{at.isoformat()}", at=at,
        retry=RetryPolicy.exponential(max_retries=3, base=10),
    )


async def enqueue_startup_jobs(runtime: Runtime) -> None:
    """Start the recurring chains. Never fatal: an app whose Redis is down still starts (and
    says so on /readyz); the chain starts with the next app start."""
    try:
        await runtime.jobs.enqueue(
            sweep_overdue_holds, queue="low", job_id="sweep-holds:startup",
            retry=RetryPolicy.exponential(max_retries=3, base=10),
        )
    except Exception as error:  # noqa: BLE001 - logged, and the app starts anyway
        log.warning("could not enqueue the startup jobs", error=repr(error))
