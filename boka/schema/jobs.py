"""GraphQL types of the dead-letter view: failed background jobs (superadmins only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.jobs.failed import FailedJob
from boka.schema.errors import UserError


@strawberry.type(name="FailedJob", description="A background job whose retries ran out.")
class FailedJobType(relay.Node):
    id: relay.NodeID[str]
    database_id: str = strawberry.field(
        description="The job's own id in its queue, as `python worker.py failed` shows it."
    )
    queue: str
    function: str
    arguments: list[str] = strawberry.field(description="The job's arguments (ids), as text.")
    failed_at: datetime | None
    error: str = strawberry.field(description="The last line of the job's traceback.")

    @classmethod
    def from_job(cls, job: FailedJob) -> FailedJobType:
        return cls(
            id=job.id, database_id=job.id, queue=job.queue, function=job.function,
            arguments=[str(arg) for arg in job.args], failed_at=job.failed_at, error=job.error,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[FailedJobType | None]:
        """Superadmins only, as failedJobs; null for everyone else."""
        wanted = list(node_ids)
        principal = info.context.principal
        if principal.user is None or not principal.is_superadmin:
            return [None for _ in wanted]
        failed = {job.id: job for job in await info.context.runtime.jobs.failed_jobs()}
        return [cls.from_job(failed[i]) if i in failed else None for i in wanted]


@strawberry.input(description="Which failed job to run again.")
class RequeueFailedJobInput:
    id: strawberry.ID = strawberry.field(
        description="The job's `id` (its global id) or its `databaseId` (the queue's id)."
    )


@strawberry.type
class RequeueFailedJobPayload:
    requeued: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
