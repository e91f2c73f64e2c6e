"""``python worker.py`` runs jobs in its own process on one event loop with one Runtime: built
once, not per job; a job past its timeout is stopped and the worker goes on; a worker SIGKILLed
in the middle of an async job loses it no more than one killed in a sync job; a worker sent
SIGTERM (``docker stop``, a deploy) finishes the job it is running, then exits."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from boka.jobs.queues import RQJobQueue
from boka.jobs.retry import RetryPolicy
from tests.conftest import TEST_REDIS_URL
from tests.jobs import probe_jobs
from tests.jobs.workers import kill_hard, run_worker, wait_for, worker_env, worker_process


@pytest.fixture
def redis_db() -> Redis:
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    return connection


@pytest.fixture
def jobs(redis_db: Redis) -> RQJobQueue:
    return RQJobQueue(TEST_REDIS_URL)


def _job(redis_db: Redis, job_id: str) -> Job:
    return Job.fetch(job_id, connection=redis_db)


def test_jobs_of_one_worker_share_its_runtime(redis_db: Redis, jobs: RQJobQueue) -> None:
    first = jobs.enqueue_now(probe_jobs.runtime_identity)
    second = jobs.enqueue_now(probe_jobs.runtime_identity)

    finished = run_worker("--burst", env=worker_env(TEST_REDIS_URL))

    assert finished.returncode == 0, finished.stderr
    one, other = (_job(redis_db, job.id).return_value() for job in (first, second))
    assert one is not None and one == other  # same process, same Runtime, same engine


def test_an_async_job_past_its_timeout_is_cancelled_and_the_worker_goes_on(
    redis_db: Redis, jobs: RQJobQueue
) -> None:
    queue = jobs.queue("default")
    slow = queue.enqueue(probe_jobs.sleep_async, TEST_REDIS_URL, "slow", 60, job_timeout=1)
    after = jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "after")

    finished = run_worker("--burst", env=worker_env(TEST_REDIS_URL))

    assert finished.returncode == 0, finished.stderr
    slow_job = _job(redis_db, slow.id)
    assert slow_job.get_status() == JobStatus.FAILED
    result = slow_job.latest_result()
    assert result is not None and "JobLoopTimeout: Task exceeded maximum timeout value (1 seconds)" in (
        result.exc_string or "")
    assert redis_db.lrange("slow:ended", 0, -1) == [b"ended"]  # cancelled: its finally ran
    assert redis_db.llen("slow:done") == 0
    assert _job(redis_db, after.id).get_status() == JobStatus.FINISHED
    assert redis_db.lrange("ran", 0, -1) == [b"after"]


def test_a_job_that_blocks_the_event_loop_is_interrupted_by_the_watchdog(
    redis_db: Redis, jobs: RQJobQueue
) -> None:
    queue = jobs.queue("default")
    stuck = queue.enqueue(probe_jobs.block_the_loop, 120, job_timeout=1)
    after = jobs.enqueue_now(probe_jobs.runtime_identity)

    finished = run_worker("--burst", env=worker_env(TEST_REDIS_URL))  # 120 s would time out

    assert finished.returncode == 0, finished.stderr
    stuck_job = _job(redis_db, stuck.id)
    assert stuck_job.get_status() == JobStatus.FAILED
    result = stuck_job.latest_result()
    assert result is not None and "a job blocked the event loop for more than" in (result.exc_string or "")
    assert _job(redis_db, after.id).get_status() == JobStatus.FINISHED  # the loop still works


def test_an_async_job_whose_worker_is_killed_mid_job_runs_again_after_a_restart(
    redis_db: Redis, jobs: RQJobQueue, tmp_path: Path
) -> None:
    job = jobs.enqueue_now(
        probe_jobs.wait_for_release_async, TEST_REDIS_URL, "slow", retry=RetryPolicy(max_retries=3)
    )
    env = worker_env(TEST_REDIS_URL)
    with worker_process(env, tmp_path / "first.log") as first:
        wait_for(lambda: redis_db.get("slow:starts") == b"1", "the job to start")
        started = StartedJobRegistry("default", connection=redis_db)
        # It runs for longer than heartbeat interval + grace (3 s): the heartbeat keeps it alive.
        time.sleep(5)
        assert job.id in started.get_job_ids(cleanup=False) and job.id not in started.get_expired_job_ids()
        kill_hard(first)
    assert redis_db.llen("slow:done") == 0
    redis_db.set("slow:release", "1")
    wait_for(lambda: job.id in started.get_expired_job_ids(), "the heartbeat to lapse")

    with worker_process(env, tmp_path / "second.log"):
        wait_for(lambda: redis_db.llen("slow:done") == 1, "the job to run again", timeout=90)

    assert redis_db.get("slow:starts") == b"2"
    assert _job(redis_db, job.id).get_status() == JobStatus.FINISHED


def test_a_worker_sent_sigterm_finishes_its_running_job_then_exits(
    redis_db: Redis, jobs: RQJobQueue, tmp_path: Path
) -> None:
    job = jobs.enqueue_now(probe_jobs.wait_for_release_async, TEST_REDIS_URL, "slow")
    with worker_process(worker_env(TEST_REDIS_URL), tmp_path / "worker.log") as worker:
        wait_for(lambda: redis_db.get("slow:starts") == b"1", "the job to start")
        os.kill(worker.pid, signal.SIGTERM)  # to the main process alone, as `docker stop` sends it
        time.sleep(2)
        assert worker.poll() is None, "the worker stopped without finishing its job"
        assert redis_db.llen("slow:done") == 0
        later = jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "later")  # for the next worker

        redis_db.set("slow:release", "1")
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()[-2000:]

    assert redis_db.get("slow:starts") == b"1" and redis_db.llen("slow:done") == 1
    assert _job(redis_db, job.id).get_status() == JobStatus.FINISHED
    assert _job(redis_db, later.id).get_status() == JobStatus.QUEUED  # a stopping worker takes no new job
    assert redis_db.llen("ran") == 0
