"""Analytics rollup jobs (queue ``low``): fold a tenant's dirty days into its daily rollup
(after each booking, payment or refund event, see boka/jobs/reactions.py), or rebuild it whole
(the repair path), and the recurring sweep (boka/jobs/scheduled.py) that refreshes every
tenant with dirty days left (a refresh job lost with Redis, or a bulk write made outside the
app). PostgreSQL only: SQLite answers analytics from the bookings themselves."""

from __future__ import annotations

import uuid

from boka.analytics.rollup import refresh_rollup, tenants_with_dirty_days
from boka.jobs.context import job_runtime
from boka.jobs.retry import RetryPolicy
from boka.runtime import Runtime

QUEUE = "low"
ROLLUP_RETRY = RetryPolicy.exponential(max_retries=5, base=5)
# The events whose writes can change a figure: the triggers have marked the days already, the
# job only folds them in (a missed job costs speed, never a wrong figure).
ROLLUP_EVENT_PREFIXES = ("booking.", "payment.", "refund.")


async def refresh_analytics_rollup_job(tenant_id: str, rebuild: bool = False) -> str:
    async with job_runtime() as runtime:
        return await refresh_tenant_rollup(runtime, uuid.UUID(tenant_id), rebuild=rebuild)


async def refresh_tenant_rollup(runtime: Runtime, tenant_id: uuid.UUID, *,
                                rebuild: bool = False) -> str:
    if runtime.database.is_sqlite:
        return "no rollup on SQLite"
    async with runtime.database.transaction(tenant_id, write=True) as db:
        days = await refresh_rollup(db, tenant_id, rebuild=rebuild)
    return "rebuilt" if days < 0 else f"{days} days refreshed"


async def enqueue_rollup_refresh(
    runtime: Runtime, tenant_id: uuid.UUID, job_id: str | None
) -> None:
    await runtime.jobs.enqueue(refresh_analytics_rollup_job, str(tenant_id), queue=QUEUE,
                               retry=ROLLUP_RETRY, job_id=job_id)


async def refresh_dirty_rollups(runtime: Runtime) -> int:
    """Refresh every tenant that has dirty days; how many tenants."""
    if runtime.database.is_sqlite:
        return 0
    async with runtime.database.transaction(all_tenants=True) as db:
        tenants = await tenants_with_dirty_days(db)
    for tenant_id in tenants:
        await refresh_tenant_rollup(runtime, tenant_id)
    return len(tenants)
