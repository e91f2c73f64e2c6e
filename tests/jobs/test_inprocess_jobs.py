"""Embedded mode: the same job functions run as asyncio tasks inside the app process, with the
same retry policy, idempotent job ids and scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from redis import Redis

from boka.config import Settings
from boka.jobs.inprocess import InProcessJobQueue
from boka.jobs.retry import RetryPolicy
from boka.runtime import Runtime
from tests.conftest import TEST_REDIS_URL, TEST_SECRET_KEY
from tests.jobs import probe_jobs


def _redis() -> Redis:
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    return connection


def test_without_redis_the_runtime_runs_jobs_in_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/boka.db", secret_key=TEST_SECRET_KEY)
    assert isinstance(Runtime.from_settings(settings).jobs, InProcessJobQueue)


async def test_a_failing_job_is_retried_until_it_succeeds() -> None:
    redis_db = _redis()
    jobs = InProcessJobQueue()
    before = REGISTRY.get_sample_value(
        "boka_jobs_processed_total",
        {"function": "tests.jobs.probe_jobs.flaky", "queue": "high", "outcome": "retried"},
    ) or 0.0

    await jobs.enqueue(probe_jobs.flaky, TEST_REDIS_URL, "runs", 2, queue="high",
                       retry=RetryPolicy(max_retries=3, intervals=(0,)))
    await jobs.drain()

    assert redis_db.get("runs") == b"3"
    assert jobs.failed == []
    assert REGISTRY.get_sample_value(
        "boka_jobs_processed_total",
        {"function": "tests.jobs.probe_jobs.flaky", "queue": "high", "outcome": "retried"},
    ) == before + 2


async def test_an_exhausted_job_is_kept_as_failed() -> None:
    redis_db = _redis()
    jobs = InProcessJobQueue()

    await jobs.enqueue(probe_jobs.flaky, TEST_REDIS_URL, "runs", 5, job_id="doomed",
                       retry=RetryPolicy(max_retries=1, intervals=(0,)))
    await jobs.drain()

    assert redis_db.get("runs") == b"2"
    [failed] = jobs.failed
    assert (failed.id, failed.function) == ("doomed", "tests.jobs.probe_jobs.flaky")
    assert "run 2 of runs fails on purpose" in failed.error


async def test_a_job_id_runs_once_and_at_waits_for_its_time() -> None:
    redis_db = _redis()
    jobs = InProcessJobQueue()
    soon = datetime.now(UTC) + timedelta(milliseconds=300)

    await jobs.enqueue(probe_jobs.record_async, TEST_REDIS_URL, "ran", "later", at=soon)
    first = await jobs.enqueue(probe_jobs.record, TEST_REDIS_URL, "ran", "once", job_id="k")
    again = await jobs.enqueue(probe_jobs.record, TEST_REDIS_URL, "ran", "twice", job_id="k")
    await jobs.drain()

    assert (first.duplicate, again.duplicate) == (False, True)
    assert redis_db.lrange("ran", 0, -1) == [b"once", b"later"]
    assert datetime.now(UTC) >= soon


async def test_a_failed_in_process_job_can_be_requeued() -> None:
    redis_db = _redis()
    jobs = InProcessJobQueue()
    await jobs.enqueue(probe_jobs.flaky, TEST_REDIS_URL, "runs", 1, job_id="again",
                       retry=RetryPolicy.none())
    await jobs.drain()
    [failed] = await jobs.failed_jobs()

    assert await jobs.requeue_failed(failed.id)
    await jobs.drain()

    assert redis_db.get("runs") == b"2"
    assert await jobs.failed_jobs() == []
    assert not await jobs.requeue_failed("again")
