"""worker.py: an RQ worker process against the real Redis."""

from __future__ import annotations

import os
import subprocess
import sys

from redis import Redis
from rq import Queue, Worker

from boka.migrations import PROJECT_ROOT
from tests.conftest import TEST_REDIS_URL


def _run_worker(*args: str, redis_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOKA_")}
    if redis_url:
        env["BOKA_REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "worker.py", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_worker_drains_the_priority_queues_and_exits_in_burst_mode() -> None:
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    for name in ("high", "default", "low"):
        Queue(name, connection=connection)

    finished = _run_worker("--burst", redis_url=TEST_REDIS_URL)

    assert finished.returncode == 0, finished.stderr
    assert "Listening on high, default, low" in finished.stdout
    assert Worker.all(connection=connection) == []  # it registered, worked, and left cleanly


def test_worker_without_redis_says_what_it_needs() -> None:
    finished = _run_worker(redis_url=None)
    assert finished.returncode == 2
    assert "BOKA_REDIS_URL" in finished.stderr
