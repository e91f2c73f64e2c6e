"""Embedded mode's job runner: the same job functions, run as asyncio tasks in the app process
with the same retry policy. Jobs live in memory, so a restart forgets queued ones; the
production stack (RQ) is the durable one."""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boka.runtime_binding import bind_runtime
from boka.jobs.failed import FailedJob
from boka.jobs.metrics import record_execution
from boka.jobs.queues import (
    QUEUE_NAMES,
    EnqueuedJob,
    QueueName,
    checked_job_id,
    function_name,
)
from boka.jobs.retry import DEFAULT_RETRY, RetryPolicy
from boka.observability import tracing
from boka.observability.logging import get_logger

log = get_logger("boka.jobs")
REMEMBERED_JOB_IDS = 10_000


@dataclass
class FailedInProcessJob:
    id: str
    function: str
    queue: str
    args: tuple[Any, ...]
    error: str
    failed_at: datetime
    callable: Callable[..., Any]
    retry: RetryPolicy


async def _traced(function: Callable[..., Any], args: tuple[Any, ...], job_id: str, queue: str,
                  name: str) -> None:
    with tracing.entry_span(f"job {name}", kind="consumer",
                            attributes={"boka.job.id": job_id, "boka.job.queue": queue}) as span:
        try:
            result = function(*args)
            if asyncio.iscoroutine(result):
                await result
        except Exception as error:
            tracing.set_error(span, repr(error))
            raise


class InProcessJobQueue:
    def __init__(self) -> None:
        self._runtime: object | None = None  # the Runtime its jobs see (boka/runtime_binding.py)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: OrderedDict[str, None] = OrderedDict()  # ids seen, for idempotent enqueues
        self._state: dict[str, tuple[str, str]] = {}  # job id -> (queue, state)
        self._not_before: dict[str, datetime] = {}  # job id -> when a scheduled job is due
        self.failed: list[FailedInProcessJob] = []
        self._armed = False  # jobs live in memory: a new process holds none of them yet

    def bind(self, runtime: object) -> None:
        self._runtime = runtime

    async def enqueue(
        self,
        function: Callable[..., Any],
        *args: Any,
        queue: QueueName = "default",
        job_id: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        at: datetime | None = None,
    ) -> EnqueuedJob:
        job_id = checked_job_id(function, queue, job_id)
        if job_id is not None and (job_id in self._tasks or job_id in self._done):
            return EnqueuedJob(id=job_id, queue=queue, duplicate=True)
        job_id = job_id or uuid.uuid4().hex
        self._state[job_id] = (queue, "scheduled" if at else "queued")
        if at is not None:
            self._not_before[job_id] = at
        task = asyncio.get_running_loop().create_task(
            self._run(job_id, function, args, queue, retry, at), name=f"job:{job_id}"
        )
        self._tasks[job_id] = task
        return EnqueuedJob(id=job_id, queue=queue, duplicate=False)

    async def _run(
        self,
        job_id: str,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        queue: str,
        retry: RetryPolicy,
        at: datetime | None,
    ) -> None:
        if self._runtime is not None:
            bind_runtime(self._runtime)  # this task's own context
        name = function_name(function)
        try:
            if at is not None:
                await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))
            attempt = 0
            while True:
                self._state[job_id] = (queue, "started")
                started = time.monotonic()
                try:
                    if tracing.ENABLED:  # the task inherited the enqueuer's context: its trace
                        await _traced(function, args, job_id, queue, name)
                    else:
                        result = function(*args)
                        if asyncio.iscoroutine(result):
                            await result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    attempt += 1
                    if attempt <= retry.max_retries:
                        record_execution(name, queue, "retried", time.monotonic() - started)
                        delay = retry.interval_before(attempt)
                        log.warning("job failed, will retry", job_id=job_id, function=name,
                                    error=repr(exc), retry_in_seconds=delay)
                        self._state[job_id] = (queue, "scheduled")
                        await asyncio.sleep(delay)
                        continue
                    record_execution(name, queue, "failed", time.monotonic() - started)
                    log.error("job failed, retries exhausted", job_id=job_id, function=name,
                              error=repr(exc))
                    self.failed.append(FailedInProcessJob(
                        id=job_id, function=name, queue=queue, args=args,
                        error="".join(traceback.format_exception(exc)),
                        failed_at=datetime.now(UTC), callable=function, retry=retry,
                    ))
                    self._state[job_id] = (queue, "failed")
                    return
                record_execution(name, queue, "succeeded", time.monotonic() - started)
                self._state.pop(job_id, None)
                return
        finally:
            self._tasks.pop(job_id, None)
            self._not_before.pop(job_id, None)
            self._done[job_id] = None
            while len(self._done) > REMEMBERED_JOB_IDS:
                self._done.popitem(last=False)

    async def drain(self, timeout: float = 30) -> None:
        """Wait until no job is queued or running (tests, shutdown), nor scheduled to start
        within ``timeout``: the recurring chains' next runs are minutes away and not waited
        for. Jobs may enqueue jobs."""
        deadline = datetime.now(UTC).timestamp() + timeout
        async with asyncio.timeout(timeout):
            while True:
                due = [
                    task for job_id, task in list(self._tasks.items())
                    if job_id not in self._not_before or self._not_before[job_id].timestamp() <= deadline
                ]
                if not due:
                    return
                await asyncio.gather(*due, return_exceptions=True)

    async def failed_jobs(self) -> list[FailedJob]:
        return [
            FailedJob(id=job.id, queue=job.queue, function=job.function, args=job.args,
                      failed_at=job.failed_at, error=job.error.strip().splitlines()[-1])
            for job in self.failed
        ]

    async def requeue_failed(self, job_id: str) -> bool:
        for job in self.failed:
            if job.id == job_id:
                self.failed.remove(job)
                self._done.pop(job_id, None)
                self._state.pop(job_id, None)
                await self.enqueue(job.callable, *job.args, queue=job.queue,  # type: ignore[arg-type]
                                   job_id=job_id, retry=job.retry)
                return True
        return False

    async def holds_everything(self) -> bool:
        return self._armed

    async def mark_holds_everything(self) -> None:
        self._armed = True

    def depths(self) -> Iterable[tuple[str, str, int]]:
        counts = {(queue, state): 0 for queue in QUEUE_NAMES
                  for state in ("queued", "scheduled", "started", "failed")}
        for queue, state in self._state.values():
            counts[(queue, state)] += 1
        for (queue, state), count in counts.items():
            yield queue, state, count

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
