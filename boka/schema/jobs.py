"""GraphQL types of the dead-letter view: failed background jobs (superadmins only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from boka.jobs.failed import FailedJob
from boka.schema.errors import UserError


@strawberry.type(name="FailedJob", description="A background job whose retries ran out.")
class FailedJobType:
    id: strawberry.ID
    queue: str
    function: str
    arguments: list[str] = strawberry.field(description="The job's arguments (ids), as text.")
    failed_at: datetime | None
    error: str = strawberry.field(description="The last line of the job's traceback.")

    @classmethod
    def from_job(cls, job: FailedJob) -> FailedJobType:
        return cls(
            id=strawberry.ID(job.id), queue=job.queue, function=job.function,
            arguments=[str(arg) for arg in job.args], failed_at=job.failed_at, error=job.error,
        )


@strawberry.input
class RequeueFailedJobInput:
    id: strawberry.ID


@strawberry.type
class RequeueFailedJobPayload:
    requeued: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
