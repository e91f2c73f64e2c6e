"""Failed jobs, listed and requeued over GraphQL. Jobs are not tenant-scoped (a queue serves
every tenant, and arguments name other tenants' rows), so this is for superadmins only; the
same is on the command line as ``python worker.py failed list|requeue``."""

from __future__ import annotations

import strawberry
from strawberry import relay

from boka.errors import Forbidden, UserErrorCode
from boka.resolvers.context import Info
from boka.schema.errors import UserError
from boka.schema.jobs import FailedJobType, RequeueFailedJobInput, RequeueFailedJobPayload


def _require_superadmin(info: Info) -> None:
    principal = info.context.principal
    principal.require_user()
    if not principal.is_superadmin:
        raise Forbidden("Only a superadmin may see or requeue failed jobs.")


async def failed_jobs(info: Info) -> list[FailedJobType]:
    """Jobs whose retries ran out, from every queue."""
    _require_superadmin(info)
    return [FailedJobType.from_job(job) for job in await info.context.runtime.jobs.failed_jobs()]


async def requeue_failed_job(info: Info, input: RequeueFailedJobInput) -> RequeueFailedJobPayload:
    """Put a failed job back on its queue (it runs again, once, without new retries in RQ)."""
    _require_superadmin(info)
    if await info.context.runtime.jobs.requeue_failed(_job_id(str(input.id))):
        return RequeueFailedJobPayload(requeued=True)
    return RequeueFailedJobPayload(errors=[UserError(
        field="id", code=UserErrorCode.INVALID_INPUT, message="No failed job has this id.",
    )])


def _job_id(given: str) -> str:
    """The queue's id of a job named by its global id (FailedJob.id) or by that id itself."""
    try:
        global_id = relay.GlobalID.from_id(given)
    except Exception:  # noqa: BLE001 - not a global id: the queue's own id
        return given
    return global_id.node_id if global_id.type_name == "FailedJob" else given


@strawberry.type
class JobQuery:
    failed_jobs: list[FailedJobType] = strawberry.field(resolver=failed_jobs)


@strawberry.type
class JobMutation:
    requeue_failed_job: RequeueFailedJobPayload = strawberry.field(resolver=requeue_failed_job)
