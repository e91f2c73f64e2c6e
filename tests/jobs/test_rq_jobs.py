"""Jobs through RQ and ``python worker.py`` against the real Redis: priority, retry with
backoff, the failed registry and its requeue, metrics, and no job lost to a SIGKILLed worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from boka.jobs.queues import RQJobQueue, whole_second_after
from boka.jobs.retry import RetryPolicy
from tests.conftest import TEST_REDIS_URL
from tests.jobs import probe_jobs
from tests.jobs.workers import kill_hard, run_worker, wait_for, worker_env, worker_process
from tests.servers import free_port


@pytest.fixture
def redis_db() -> Redis:
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    return connection


@pytest.fixture
def jobs(redis_db: Redis) -> RQJobQueue:
    return RQJobQueue(TEST_REDIS_URL)


def test_a_burst_worker_drains_the_queues_high_priority_first(redis_db: Redis, jobs: RQJobQueue) -> None:
    jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "low", queue="low")
    jobs.enqueue_now(probe_jobs.record_async, TEST_REDIS_URL, "ran", "default", queue="default")
    jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "high", queue="high")

    # One lane: it takes the jobs in priority order, and so also ends them in that order.
    finished = run_worker("--burst", env=worker_env(TEST_REDIS_URL, worker_concurrency="1"))

    assert finished.returncode == 0, finished.stderr
    assert [v.decode() for v in redis_db.lrange("ran", 0, -1)] == ["high", "default", "low"]


def test_a_job_id_makes_enqueueing_idempotent(redis_db: Redis, jobs: RQJobQueue) -> None:
    first = jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "x", job_id="refund:1")
    again = jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "y", job_id="refund:1")
    other = jobs.enqueue_now(probe_jobs.record, TEST_REDIS_URL, "ran", "z", job_id="refund_1")

    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    run_worker("--burst", env=worker_env(TEST_REDIS_URL, worker_concurrency="1"))  # in order
    assert redis_db.lrange("ran", 0, -1) == [b"x", b"z"]


async def test_scheduled_jobs_wait_for_their_time(redis_db: Redis, jobs: RQJobQueue, tmp_path: Path) -> None:
    with worker_process(worker_env(TEST_REDIS_URL), tmp_path / "worker.log"):
        await jobs.enqueue(probe_jobs.record, TEST_REDIS_URL, "ready", "yes")
        wait_for(lambda: redis_db.lrange("ready", 0, -1), "the worker")
        # Due at .95 of a second: RQ keeps whole seconds, and rounding down would let it run up
        # to a second early (a hold-expiry job then found its hold not yet due, and the hold
        # outlived its time).
        due = datetime.now(UTC).replace(microsecond=950_000) + timedelta(seconds=2)
        later = await jobs.enqueue(probe_jobs.record_time, TEST_REDIS_URL, "ran", at=due)
        assert Job.fetch(later.id, connection=redis_db).get_status() == JobStatus.SCHEDULED
        wait_for(lambda: redis_db.lrange("ran", 0, -1), "the scheduled job")
    [ran_at] = redis_db.lrange("ran", 0, -1)
    assert float(ran_at) >= due.timestamp()


def test_a_job_is_never_scheduled_before_its_time() -> None:
    at = datetime(2026, 1, 1, 12, 0, 0, 950_000, tzinfo=UTC)
    assert whole_second_after(at) == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)
    assert whole_second_after(at.replace(microsecond=0)) == at.replace(microsecond=0)


def test_a_failing_job_is_retried_with_backoff_until_it_succeeds_and_metrics_count_it(
    redis_db: Redis, jobs: RQJobQueue, tmp_path: Path
) -> None:
    job = jobs.enqueue_now(
        probe_jobs.flaky, TEST_REDIS_URL, "flaky-runs", 2,
        queue="high", retry=RetryPolicy(max_retries=3, intervals=(1, 2)),
    )
    port = free_port()
    env = worker_env(TEST_REDIS_URL, worker_metrics_port=str(port))
    with worker_process(env, tmp_path / "worker.log"):
        rq_job = Job.fetch(job.id, connection=redis_db)
        wait_for(lambda: rq_job.get_status(refresh=True) == JobStatus.FINISHED, "the third run")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text

    assert redis_db.get("flaky-runs") == b"3"
    assert rq_job.return_value() == "succeeded on run 3"
    function = "tests.jobs.probe_jobs.flaky"
    assert f'boka_jobs_processed_total{{function="{function}",outcome="retried",queue="high"}} 2.0' in metrics
    assert f'boka_jobs_processed_total{{function="{function}",outcome="succeeded",queue="high"}} 1.0' in metrics
    assert 'boka_job_queue_depth{queue="high",state="failed"} 0.0' in metrics
    assert f'boka_job_duration_seconds_count{{function="{function}",outcome="succeeded"}} 1.0' in metrics


def test_an_exhausted_job_lands_in_the_failed_registry_and_can_be_requeued(
    redis_db: Redis, jobs: RQJobQueue
) -> None:
    env = worker_env(TEST_REDIS_URL)
    job = jobs.enqueue_now(
        probe_jobs.flaky, TEST_REDIS_URL, "doomed-runs", 2, retry=RetryPolicy(max_retries=1)
    )
    run_worker("--burst", env=env)  # run 1 fails, the retry (no backoff) fails too

    listed = run_worker("failed", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    job_id, queue, function, _failed_at, error = line.split("\t")
    assert (job_id, queue, function) == (job.id, "default", "tests.jobs.probe_jobs.flaky")
    assert "run 2 of doomed-runs fails on purpose" in error

    assert run_worker("failed", "requeue", "no-such-job", env=env).returncode == 1
    requeued = run_worker("failed", "requeue", job.id, env=env)
    assert requeued.returncode == 0, requeued.stderr
    run_worker("--burst", env=env)

    assert Job.fetch(job.id, connection=redis_db).get_status() == JobStatus.FINISHED
    assert run_worker("failed", "list", env=env).stdout == ""


def test_a_job_whose_worker_is_killed_mid_job_runs_again_after_a_restart(
    redis_db: Redis, jobs: RQJobQueue, tmp_path: Path
) -> None:
    job = jobs.enqueue_now(
        probe_jobs.wait_for_release, TEST_REDIS_URL, "slow",
        retry=RetryPolicy(max_retries=3),  # immediate requeue: no scheduler lock to wait for
    )
    env = worker_env(TEST_REDIS_URL)
    with worker_process(env, tmp_path / "first.log") as first:
        wait_for(lambda: redis_db.get("slow:starts") == b"1", "the job to start")
        kill_hard(first)  # the worker, its work horse and its scheduler
    assert redis_db.llen("slow:done") == 0
    redis_db.set("slow:release", "1")  # the next run may finish
    started = StartedJobRegistry("default", connection=redis_db)
    wait_for(lambda: job.id in started.get_expired_job_ids(), "the heartbeat to lapse")

    with worker_process(env, tmp_path / "second.log"):
        wait_for(lambda: redis_db.llen("slow:done") == 1, "the job to run again", timeout=90)

    assert redis_db.get("slow:starts") == b"2"
    assert Job.fetch(job.id, connection=redis_db).get_status() == JobStatus.FINISHED
