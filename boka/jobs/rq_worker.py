"""The RQ worker class of ``worker.py``'s lanes: RQ's SimpleWorker (no fork per job), run in a
thread of the worker process, handing async jobs to the process's
:class:`~boka.jobs.job_loop.JobLoop`; plus metrics and tunable abandoned-job recovery.

Each lane is a whole RQ worker (its own name, registration, heartbeats and job executions), so
RQ's guarantees hold per lane as for any worker:

- **A killed worker loses no job.** A running job sits in its queue's StartedJobRegistry with
  the expiry of its last heartbeat. ``JobHeartbeat`` refreshes it from a thread of its own every
  ``job_monitoring_interval`` for as long as the process lives (even while a job blocks the
  loop); when the process dies (SIGKILL, OOM, a lost host) the heartbeats stop, and RQ's
  registry cleanup, run by every worker at start and then each ``maintenance_interval``, treats
  the lapsed entry as abandoned: retried if it has retries left, else moved to the failed
  registry. RQ hard-codes 60 s of grace after the heartbeat interval;
  ``abandoned_grace_seconds`` makes it a setting so deployments (and tests) choose how soon a
  dead worker's job is recovered.
- **A stuck job is stopped.** Async jobs (all of Boka's): by the job loop (an asyncio timeout,
  and SIGALRM for one that blocks the loop). A sync job function runs in its lane under RQ's
  TimerDeathPenalty (an exception raised in the lane thread at the timeout; like any thread
  timeout it cannot break into a blocking C call).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.client import Pipeline
from rq import SimpleWorker
from rq.exceptions import NoSuchJobError, StopRequested
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.timeouts import BaseDeathPenalty, JobTimeoutException, TimerDeathPenalty
from rq.worker import WorkerStatus

from boka.jobs.job_loop import JobLoop
from boka.jobs.metrics import record_execution
from boka.observability import tracing
from boka.observability.logging import get_logger

log = get_logger("boka.worker")

OUTCOME_BY_STATUS = {
    JobStatus.FINISHED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.SCHEDULED: "retried",
    JobStatus.QUEUED: "retried",
}
STOP_CHECK_SECONDS = 5  # an idle lane waits for a job in slices this long, to see a stop request


class SyncJobTimeout(JobTimeoutException):
    """A sync job past its timeout (RQ's TimerDeathPenalty sets this class's message)."""


class LoopJob(Job):
    """A job whose coroutine runs on the process's JobLoop instead of a fresh ``asyncio.run``."""

    def _execute(self) -> Any:
        if tracing.ENABLED:
            with tracing.entry_span(
                f"job {self.func_name}", kind="consumer",
                traceparent=(self.meta or {}).get(tracing.JOB_META_KEY),
                attributes={"boka.job.id": self.id, "boka.job.queue": self.origin},
            ):
                return self._execute_now()
        return self._execute_now()

    def _execute_now(self) -> Any:
        loop = JobLoop.installed
        if loop is None:  # not in a worker process (a test calling perform()): RQ's asyncio.run
            return super()._execute()
        if not self.func:
            raise ValueError("Cannot execute job: function is None")
        timeout = None if self.timeout == -1 else (self.timeout or Queue.DEFAULT_TIMEOUT)
        if asyncio.iscoroutinefunction(self.func):
            return loop.run(self.func(*self.args, **self.kwargs), timeout=timeout)
        with TimerDeathPenalty(timeout or -1, SyncJobTimeout, job_id=self.id):
            result = self.func(*self.args, **self.kwargs)
        if asyncio.iscoroutine(result):  # a sync callable that returned a coroutine
            return loop.run(result, timeout=timeout)
        return result


class NoDeathPenalty(BaseDeathPenalty):
    """RQ arms its death penalty around every job; a lane's jobs get theirs from LoopJob."""

    def setup_death_penalty(self) -> None:
        pass

    def cancel_death_penalty(self) -> None:
        pass


class JobHeartbeat:
    """Keeps the running jobs' registry entries alive from one daemon thread, every
    ``interval`` seconds, while they run (so only jobs longer than that cost a write)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._running: dict[BokaWorker, tuple[Job, Execution]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="boka-job-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    @contextmanager
    def watching(self, lane: BokaWorker, job: Job, execution: Execution) -> Iterator[None]:
        with self._lock:
            self._running[lane] = (job, execution)
        try:
            yield
        finally:
            self.forget(lane)

    def forget(self, lane: BokaWorker) -> None:
        """The lane's job is over: after this returns, no heartbeat for it is sent."""
        with self._lock:
            self._running.pop(lane, None)

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                for lane, (job, execution) in self._running.items():
                    try:
                        lane.maintain_heartbeats(job, execution)
                    except Exception as error:  # noqa: BLE001 - Redis away for a moment: next time
                        log.warning("job heartbeat failed", job_id=job.id, error=repr(error))


class BokaWorker(SimpleWorker):
    """One lane. The process (boka/jobs/worker_process.py) handles the signals and asks its
    lanes to stop with ``request_lane_stop``; a lane finishes its job first."""

    job_class = LoopJob
    death_penalty_class = NoDeathPenalty
    abandoned_grace_seconds = 60

    def __init__(self, *args: Any, heartbeat: JobHeartbeat | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heartbeat = heartbeat or JobHeartbeat(self.job_monitoring_interval)
        self._own_heartbeat = heartbeat is None

    def work(self, *args: Any, **kwargs: Any) -> bool:
        if self._own_heartbeat:
            self._heartbeat.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            if self._own_heartbeat:
                self._heartbeat.stop()

    def _install_signal_handlers(self) -> None:
        pass  # a thread cannot; the process forwards SIGTERM/SIGINT as request_lane_stop()

    def request_lane_stop(self) -> None:
        self._stop_requested = True

    @property
    def dequeue_timeout(self) -> int:
        return min(super().dequeue_timeout, STOP_CHECK_SECONDS)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        # Called (without a pipeline) between jobs and before each wait for one: where an idle
        # lane sees that it should stop.
        if pipeline is None and self._stop_requested and self.get_state() != WorkerStatus.BUSY:
            raise StopRequested()
        super().heartbeat(timeout, pipeline)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = job.timeout - working_time
            return int(min(remaining, self.job_monitoring_interval)) + self.abandoned_grace_seconds
        return self.job_monitoring_interval + self.abandoned_grace_seconds

    def execute_job(self, job: Job, queue: Queue) -> None:
        started = time.monotonic()
        try:
            execution = self.prepare_execution(job)
            with self._heartbeat.watching(self, job, execution):
                self.perform_job(job, queue, execution)
            self.set_state(WorkerStatus.IDLE)
        finally:
            self._record(job, queue, time.monotonic() - started)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # The job is over: no heartbeat may bring its registry entry back from here on.
        self._heartbeat.forget(self)
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def _record(self, job: Job, queue: Queue, seconds: float) -> None:
        try:
            status = job.get_status(refresh=True)
        except NoSuchJobError:  # result_ttl=0 jobs vanish on success
            status = JobStatus.FINISHED
        outcome = OUTCOME_BY_STATUS.get(status, "failed") if status else "failed"
        record_execution(job.func_name, queue.name, outcome, seconds)
