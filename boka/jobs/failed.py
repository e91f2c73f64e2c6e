"""The dead letters: jobs whose retries ran out, kept in RQ's failed registries, listed and
requeued by an operator (``python worker.py failed list|requeue``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str
    args: tuple
    failed_at: datetime | None
    error: str  # the last line of the traceback


def list_failed_jobs(connection: Redis, queues: tuple[str, ...] = ("high", "default", "low")) -> list[FailedJob]:
    failed: list[FailedJob] = []
    for name in queues:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        for job in Job.fetch_many(registry.get_job_ids(), connection=connection):
            if job is None:
                continue
            failed.append(FailedJob(
                id=job.id,
                queue=name,
                function=job.func_name,
                args=tuple(job.args),
                failed_at=job.ended_at,
                error=_last_line(_exc_string(job)),
            ))
    return failed


def requeue_failed_job(connection: Redis, job_id: str) -> bool:
    """Put a failed job back on its queue. False if no failed job has that id."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    registry = FailedJobRegistry(queue=Queue(job.origin, connection=connection))
    try:
        registry.requeue(job)
    except InvalidJobOperation:
        return False
    return True


def _exc_string(job: Job) -> str | None:
    result = job.latest_result()
    return result.exc_string if result is not None else None


def _last_line(exc_info: str | None) -> str:
    lines = [line for line in (exc_info or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
