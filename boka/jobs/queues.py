"""One way to enqueue a job, whatever runs it.

``await runtime.jobs.enqueue(send_receipt, payment_id, queue="default", job_id=..., at=...)``
puts a plain importable function (taking simple arguments such as ids) on a queue:

- with BOKA_REDIS_URL set, :class:`RQJobQueue` hands it to RQ; ``python worker.py`` runs it;
- in embedded mode, :class:`InProcessJobQueue` (boka/jobs/inprocess.py) runs the same function
  as an asyncio task in the app process, with the same retry policy.

Any string may be a job id (RQ's character rule is taken care of by ``safe_job_id``).

``job_id`` makes an enqueue idempotent: while a job with that id exists (queued, scheduled,
running, or finished and not yet expired), enqueueing it again does nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from boka.jobs.failed import FailedJob, list_failed_jobs, requeue_failed_job
from boka.jobs.retry import DEFAULT_RETRY, RetryPolicy
from boka.observability import tracing

QueueName = Literal["high", "default", "low"]
QUEUE_NAMES: tuple[QueueName, ...] = ("high", "default", "low")
# Set once the jobs kept in PostgreSQL are all in Redis; gone when Redis lost its contents.
ARMED_KEY = "boka:jobs:armed"
JOB_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class EnqueuedJob:
    id: str
    queue: str
    duplicate: bool  # a job with this id already existed; nothing new was enqueued


class JobQueue(Protocol):
    async def enqueue(
        self,
        function: Callable[..., Any],
        *args: Any,
        queue: QueueName = "default",
        job_id: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        at: datetime | None = None,
    ) -> EnqueuedJob: ...

    async def failed_jobs(self) -> list[FailedJob]: ...

    async def requeue_failed(self, job_id: str) -> bool: ...

    async def holds_everything(self) -> bool:
        """False when the store may have lost jobs since ``mark_holds_everything`` (it was
        emptied, or is new): time to re-arm them from the database (boka/jobs/rearm.py)."""
        ...

    async def mark_holds_everything(self) -> None: ...

    async def close(self) -> None: ...


def safe_job_id(job_id: str) -> str:
    """RQ accepts only letters, digits, ``_`` and ``-`` in ids; other characters (``:`` is
    handy in ids like ``refund:<uuid>``) become ``_``, with a digest of the original appended
    so two ids never meet."""
    safe = _UNSAFE.sub("_", job_id)
    if safe == job_id:
        return job_id
    return f"{safe}-{hashlib.sha256(job_id.encode()).hexdigest()[:12]}"


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def function_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _check_importable(function: Callable[..., Any]) -> None:
    if "<locals>" in function.__qualname__ or function.__module__ == "__main__":
        raise ValueError(f"{function.__qualname__}: a job must be a module-level function")


def whole_second_after(at: datetime) -> datetime:
    """``at`` rounded up to a whole second. RQ scores a scheduled job by its time truncated to
    the second, so a job for 12:00:00.95 would be due at 12:00:00 and could run almost a second
    early: a hold-expiry job then finds its hold not yet due and ends, and the hold outlives
    its time until the next sweep."""
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + timedelta(seconds=1)


def checked_job_id(function: Callable[..., Any], queue: str, job_id: str | None) -> str | None:
    """What every queue checks before enqueueing: a worker can import the function, the queue
    exists, and the id is one RQ accepts."""
    _check_importable(function)
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r}")
    return safe_job_id(job_id) if job_id is not None else None


class RQJobQueue:
    """RQ on Redis. Enqueueing is a few Redis round trips, done off the event loop."""

    def __init__(self, redis_url: str, *, failure_ttl: timedelta = timedelta(days=30)) -> None:
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self._failure_ttl = int(failure_ttl.total_seconds())

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    async def enqueue(
        self,
        function: Callable[..., Any],
        *args: Any,
        queue: QueueName = "default",
        job_id: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        at: datetime | None = None,
    ) -> EnqueuedJob:
        return await asyncio.to_thread(
            self.enqueue_now, function, *args, queue=queue, job_id=job_id, retry=retry, at=at
        )

    def enqueue_now(
        self,
        function: Callable[..., Any],
        *args: Any,
        queue: QueueName = "default",
        job_id: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        at: datetime | None = None,
    ) -> EnqueuedJob:
        """The blocking enqueue (for synchronous callers such as the CLI)."""
        job_id = checked_job_id(function, queue, job_id)
        rq_queue = self.queue(queue)
        options: dict[str, Any] = {
            "job_id": job_id,
            "retry": retry.as_rq(),
            "failure_ttl": self._failure_ttl,
            "job_timeout": JOB_TIMEOUT_SECONDS,
            "unique": job_id is not None,
        }
        if tracing.ENABLED and (traceparent := tracing.current_traceparent()) is not None:
            options["meta"] = {tracing.JOB_META_KEY: traceparent}  # the worker continues it
        try:
            if at is not None:
                job = rq_queue.enqueue_at(whole_second_after(at), function, *args, **options)
            else:
                job = rq_queue.enqueue(function, *args, **options)
        except DuplicateJobError:
            assert job_id is not None
            return EnqueuedJob(id=job_id, queue=queue, duplicate=True)
        return EnqueuedJob(id=job.id, queue=queue, duplicate=False)

    async def failed_jobs(self) -> list[FailedJob]:
        return await asyncio.to_thread(list_failed_jobs, self.connection)

    async def requeue_failed(self, job_id: str) -> bool:
        return await asyncio.to_thread(requeue_failed_job, self.connection, job_id)

    async def holds_everything(self) -> bool:
        return bool(await asyncio.to_thread(self.connection.exists, ARMED_KEY))

    async def mark_holds_everything(self) -> None:
        await asyncio.to_thread(self.connection.set, ARMED_KEY, datetime.now(UTC).isoformat())

    def depths(self) -> Iterable[tuple[str, str, int]]:
        for name in QUEUE_NAMES:
            rq_queue = self.queue(name)
            yield name, "queued", rq_queue.count
            yield name, "scheduled", ScheduledJobRegistry(queue=rq_queue).count
            yield name, "started", StartedJobRegistry(queue=rq_queue).count
            yield name, "failed", FailedJobRegistry(queue=rq_queue).count

    async def close(self) -> None:
        await asyncio.to_thread(self.connection.close)
