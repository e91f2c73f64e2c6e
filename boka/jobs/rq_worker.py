"""The RQ worker class ``worker.py`` runs: RQ's forking Worker plus metrics and tunable
abandoned-job recovery.

When a worker dies without a word (SIGKILL, OOM, a lost host), its job stays in the queue's
StartedJobRegistry with the expiry of its last heartbeat. RQ's registry cleanup, run by every
worker at start and then each ``maintenance_interval``, treats an expired entry whose job is
still STARTED as abandoned: retried if it has retries left, else moved to the failed registry.
RQ hard-codes 60 s of grace after the heartbeat interval; ``abandoned_grace_seconds`` makes it
a setting so deployments (and tests) choose how soon a dead worker's job is recovered.
"""

from __future__ import annotations

import time

from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import Queue

from boka.jobs.metrics import record_execution

OUTCOME_BY_STATUS = {
    JobStatus.FINISHED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.SCHEDULED: "retried",
    JobStatus.QUEUED: "retried",
}


class BokaWorker(Worker):
    abandoned_grace_seconds = 60

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = job.timeout - working_time
            return int(min(remaining, self.job_monitoring_interval)) + self.abandoned_grace_seconds
        return self.job_monitoring_interval + self.abandoned_grace_seconds

    def execute_job(self, job: Job, queue: Queue) -> None:
        started = time.monotonic()
        try:
            super().execute_job(job, queue)
        finally:
            self._record(job, queue, time.monotonic() - started)

    def _record(self, job: Job, queue: Queue, seconds: float) -> None:
        try:
            status = job.get_status(refresh=True)
        except NoSuchJobError:  # result_ttl=0 jobs vanish on success
            status = JobStatus.FINISHED
        outcome = OUTCOME_BY_STATUS.get(status, "failed") if status else "failed"
        record_execution(job.func_name, queue.name, outcome, seconds)
