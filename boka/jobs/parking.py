"""Jobs of a suspended tenant: parked, not lost.

A job that acts for a tenant asks ``park_if_suspended`` first. While the tenant is suspended
(boka/business/platform.py), the job is written to ``parked_jobs`` (its function and arguments,
in PostgreSQL, so a Redis flush cannot lose it) and ends without sending anything. When a
superadmin reactivates the tenant, ``resume_parked_jobs`` enqueues every parked job again; each
re-reads its facts when it runs, so a reminder for a booking that has since started, or a
confirmation for a booking cancelled meanwhile, sends nothing (booking_messages' own checks),
and the notification log still sends each message at most once.

Parked: customer messages (confirmations, changes, reminders, receipts, waitlist offers), team
alerts, webhook deliveries and the waitlist's offer passes (freed time is offered once the
business is back, not while nobody can claim it). Skipped instead (``tenant_suspended``): the staff's daily agenda, which is
about one day and is no use after it.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from boka.jobs.queues import function_name
from boka.jobs.retry import RetryPolicy
from boka.models.tenancy import ParkedJob, Tenant
from boka.observability.logging import get_logger
from boka.runtime import Runtime

log = get_logger("boka.jobs.parking")

# Resumed jobs retry as the message jobs do (about a day of backoff).
RESUMED_RETRY = RetryPolicy.exponential(8, base=30, factor=2, cap=3 * 3600)
# Only our own job functions are ever parked, so only they are imported back.
_JOB_MODULES = "boka.jobs."


async def tenant_suspended(runtime: Runtime, tenant_id: uuid.UUID) -> bool:
    async with runtime.database.transaction(tenant_id) as db:
        suspended_at = (await db.execute(
            sa.select(Tenant.suspended_at).where(Tenant.id == tenant_id)
        )).scalar_one_or_none()
    return suspended_at is not None


async def park_if_suspended(
    runtime: Runtime, tenant_id: uuid.UUID, function: Callable[..., Any], *args: Any, queue: str = "default",
) -> bool:
    """True if the tenant is suspended and this job (``function(*args)``) was parked: the caller
    then does nothing. The tenant row is read with a share lock, so a reactivation committing
    meanwhile either takes this parked job with it or happens before and lets the job run."""
    async with runtime.database.transaction(tenant_id, write=True) as db:
        suspended_at = (await db.execute(
            sa.select(Tenant.suspended_at).where(Tenant.id == tenant_id).with_for_update(read=True)
        )).scalar_one_or_none()
        if suspended_at is None:
            return False
        db.add(ParkedJob(tenant_id=tenant_id, function=function_name(function), args=list(args), queue=queue))
    log.info("job parked: tenant suspended", tenant_id=str(tenant_id), function=function_name(function))
    return True


def _job_function(path: str) -> Callable[..., Any]:
    module_name, _, name = path.rpartition(".")
    if not module_name.startswith(_JOB_MODULES):
        raise ValueError(f"{path}: not a Boka job function")
    return getattr(importlib.import_module(module_name), name)  # type: ignore[no-any-return]


async def resume_parked_jobs(runtime: Runtime, parked: Sequence[ParkedJob]) -> int:
    """Enqueue the jobs a reactivation took out of the parking (after it committed)."""
    resumed = 0
    for job in parked:
        try:
            function = _job_function(job.function)
        except (ValueError, ImportError, AttributeError):
            log.error("parked job cannot be resumed: unknown function", function=job.function)
            continue
        await runtime.jobs.enqueue(function, *job.args, queue=job.queue, retry=RESUMED_RETRY)  # type: ignore[arg-type]
        resumed += 1
    return resumed
