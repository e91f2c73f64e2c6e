"""The RQ worker class ``worker.py`` runs: RQ's SimpleWorker (no fork per job) on the process's
:class:`~boka.jobs.job_loop.JobLoop`, plus metrics and tunable abandoned-job recovery.

Jobs run one at a time in the worker process itself, async ones as tasks on its one long-lived
event loop, with the Runtime built once (``LoopJob``). What RQ's forking worker got from its
work horse, this one gets otherwise:

- **A killed worker loses no job.** A running job sits in its queue's StartedJobRegistry with
  the expiry of its last heartbeat. ``JobHeartbeat`` refreshes it from a thread of its own every
  ``job_monitoring_interval`` for as long as the process lives (even while a job blocks the
  loop); when the process dies (SIGKILL, OOM, a lost host) the heartbeats stop, and RQ's
  registry cleanup, run by every worker at start and then each ``maintenance_interval``, treats
  the lapsed entry as abandoned: retried if it has retries left, else moved to the failed
  registry. RQ hard-codes 60 s of grace after the heartbeat interval;
  ``abandoned_grace_seconds`` makes it a setting so deployments (and tests) choose how soon a
  dead worker's job is recovered.
- **A stuck job is stopped by its timeout**, in two steps. An async job that waits too long is
  cancelled by an asyncio timeout at the job's timeout (its ``finally`` blocks run, the loop
  and the Runtime stay usable) and fails with JobTimeoutException. A job that *blocks* the loop
  (sync code that never returns) is interrupted by SIGALRM ``BackstopDeathPenalty.grace_seconds``
  later, inside the blocking code, and fails the same way.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rq import SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.timeouts import UnixSignalDeathPenalty
from rq.worker import WorkerStatus

from boka.jobs.job_loop import JobLoop
from boka.jobs.metrics import record_execution
from boka.observability.logging import get_logger

log = get_logger("boka.worker")

OUTCOME_BY_STATUS = {
    JobStatus.FINISHED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.SCHEDULED: "retried",
    JobStatus.QUEUED: "retried",
}


class LoopJob(Job):
    """A job whose coroutine runs on the worker's JobLoop instead of a fresh ``asyncio.run``."""

    def _execute(self) -> Any:
        loop = JobLoop.installed
        if loop is None:  # not in a worker (a test calling perform()): RQ's asyncio.run
            return super()._execute()
        if not self.func:
            raise ValueError("Cannot execute job: function is None")
        result = self.func(*self.args, **self.kwargs)
        if not asyncio.iscoroutine(result):
            return result
        timeout = None if self.timeout == -1 else (self.timeout or Queue.DEFAULT_TIMEOUT)
        return loop.run(result, timeout=timeout)


class BackstopDeathPenalty(UnixSignalDeathPenalty):
    """RQ's SIGALRM timeout, ``grace_seconds`` after the job's own: the asyncio timeout stops
    an async job first and cleanly; this one interrupts a job that blocks the event loop."""

    grace_seconds = 10

    def setup_death_penalty(self) -> None:
        if self._timeout <= 0:
            return
        signal.signal(signal.SIGALRM, self.handle_death_penalty)
        signal.alarm(int(self._timeout) + self.grace_seconds)


class JobHeartbeat:
    """Keeps the running job's registry entries alive from a daemon thread, every
    ``interval`` seconds, while the job runs (so only jobs longer than that cost a write)."""

    def __init__(self, worker: BokaWorker, interval: float) -> None:
        self._worker = worker
        self._interval = interval
        self._lock = threading.Lock()
        self._running: tuple[Job, Execution] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="boka-job-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    @contextmanager
    def watching(self, job: Job, execution: Execution) -> Iterator[None]:
        with self._lock:
            self._running = (job, execution)
        try:
            yield
        finally:
            self.forget()

    def forget(self) -> None:
        """No job runs (any more): after this returns, no heartbeat for it is sent."""
        with self._lock:
            self._running = None

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                if self._running is None:
                    continue
                job, execution = self._running
                try:
                    self._worker.maintain_heartbeats(job, execution)
                except Exception as error:  # noqa: BLE001 - Redis away for a moment: try again
                    log.warning("job heartbeat failed", job_id=job.id, error=repr(error))


class BokaWorker(SimpleWorker):
    job_class = LoopJob
    death_penalty_class = BackstopDeathPenalty
    abandoned_grace_seconds = 60

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heartbeat = JobHeartbeat(self, self.job_monitoring_interval)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self._heartbeat.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._heartbeat.stop()

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = job.timeout - working_time
            return int(min(remaining, self.job_monitoring_interval)) + self.abandoned_grace_seconds
        return self.job_monitoring_interval + self.abandoned_grace_seconds

    def execute_job(self, job: Job, queue: Queue) -> None:
        started = time.monotonic()
        try:
            execution = self.prepare_execution(job)
            with self._heartbeat.watching(job, execution):
                self.perform_job(job, queue, execution)
            self.set_state(WorkerStatus.IDLE)
        finally:
            self._record(job, queue, time.monotonic() - started)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # The job is over: no heartbeat may bring its registry entry back from here on.
        self._heartbeat.forget()
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def _record(self, job: Job, queue: Queue, seconds: float) -> None:
        try:
            status = job.get_status(refresh=True)
        except NoSuchJobError:  # result_ttl=0 jobs vanish on success
            status = JobStatus.FINISHED
        outcome = OUTCOME_BY_STATUS.get(status, "failed") if status else "failed"
        record_execution(job.func_name, queue.name, outcome, seconds)
