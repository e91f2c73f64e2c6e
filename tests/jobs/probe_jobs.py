"""Job functions the job tests enqueue. They leave their traces in the test Redis database (the
worker runs them in other processes), so a test can see what ran, how often and in what order."""

from __future__ import annotations

import asyncio
import time

from redis import Redis


def record(redis_url: str, key: str, value: str) -> None:
    Redis.from_url(redis_url).rpush(key, value)


def record_time(redis_url: str, key: str) -> None:
    Redis.from_url(redis_url).rpush(key, repr(time.time()))


async def record_async(redis_url: str, key: str, value: str) -> None:
    await asyncio.sleep(0)
    Redis.from_url(redis_url).rpush(key, value)


class ProbeFailure(RuntimeError):
    pass


def flaky(redis_url: str, key: str, failures: int) -> str:
    """Fails on its first ``failures`` runs, then succeeds. Counts every run in ``key``."""
    runs = Redis.from_url(redis_url).incr(key)
    if runs <= failures:
        raise ProbeFailure(f"run {runs} of {key} fails on purpose")
    return f"succeeded on run {runs}"


def wait_for_release(redis_url: str, key: str) -> None:
    """Counts its start in ``key:starts``, then works until ``key:release`` exists."""
    connection = Redis.from_url(redis_url)
    connection.incr(f"{key}:starts")
    while not connection.exists(f"{key}:release"):
        connection.blpop([f"{key}:wake"], timeout=1)
    connection.rpush(f"{key}:done", "done")


async def runtime_identity() -> str:
    """Which process, Runtime and engine ran this job."""
    import os

    from boka.jobs.context import job_runtime

    async with job_runtime() as runtime:
        return f"{os.getpid()}:{id(runtime)}:{id(runtime.database.engine)}"


async def sleep_async(redis_url: str, key: str, seconds: float) -> None:
    """Counts its start in ``key:starts``, then awaits ``seconds``; ``key:done`` if it ends."""
    connection = Redis.from_url(redis_url)
    connection.incr(f"{key}:starts")
    try:
        await asyncio.sleep(seconds)
    finally:
        connection.rpush(f"{key}:ended", "ended")  # cancelled or not, its finally runs
    connection.rpush(f"{key}:done", "done")


async def block_the_loop(seconds: float) -> None:
    """An async job that never awaits: it holds the event loop for ``seconds``."""
    import time

    time.sleep(seconds)


async def wait_for_release_async(redis_url: str, key: str) -> None:
    """``wait_for_release`` as an async job: it awaits until ``key:release`` exists."""
    connection = Redis.from_url(redis_url)
    connection.incr(f"{key}:starts")
    while not connection.exists(f"{key}:release"):
        await asyncio.sleep(0.2)
    connection.rpush(f"{key}:done", "done")
