"""Background jobs: one enqueue API (``runtime.jobs.enqueue``) over RQ (production) or
in-process asyncio tasks (embedded mode). Job functions live in boka/jobs/<area>.py: plain
module-level (async) functions taking simple arguments (ids), opening ``job_runtime()`` and
calling the same domain services a resolver would."""

from boka.jobs.context import job_runtime
from boka.jobs.queues import EnqueuedJob, JobQueue, QueueName
from boka.jobs.retry import DEFAULT_RETRY, RetryPolicy

__all__ = ["DEFAULT_RETRY", "EnqueuedJob", "JobQueue", "QueueName", "RetryPolicy", "job_runtime"]
