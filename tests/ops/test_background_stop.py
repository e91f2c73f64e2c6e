"""A shutdown always ends: stopping a background task that lost its cancellation, or that
never ends, returns (the Redis-restart test's app once waited forever on its relay)."""

from __future__ import annotations

import asyncio
import time

from boka.background import stop_task


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    passes = 0

    async def swallows_the_first_cancel() -> None:
        nonlocal passes
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # what 3.11's wait_for does when the cancel meets its inner completion
        while True:
            passes += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(swallows_the_first_cancel())
    await asyncio.sleep(0)
    started = time.monotonic()
    await stop_task(task, grace_seconds=5)
    assert task.cancelled()
    assert passes >= 1  # it did carry on after the first cancel
    assert time.monotonic() - started < 3


async def test_a_task_that_never_stops_is_left_behind_after_the_grace() -> None:
    release = asyncio.Event()

    async def ignores_every_cancel() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(ignores_every_cancel())
    await asyncio.sleep(0)
    started = time.monotonic()
    await stop_task(task, grace_seconds=1.5)
    assert 1.4 < time.monotonic() - started < 3
    assert not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=2)


async def test_a_failed_or_missing_task_stops_quietly() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.wait({task})
    await stop_task(task)
    await stop_task(None)
