"""Stopping a process's long-lived background tasks (the relay, the live hub, listeners,
watchers) so that a shutdown always ends.

Cancelling a task and awaiting it can wait forever: on Python 3.11 ``asyncio.wait_for``
loses a cancellation that arrives as its inner wait completes, and the task carries on (found
by the Redis-restart test: its app's shutdown waited on a relay that had swallowed the cancel
and gone on to its next pass). ``stop_task`` cancels again until the task ends, and after a
grace period leaves it behind with a warning rather than hang the process's exit.
"""

from __future__ import annotations

import asyncio
import contextlib

from boka.observability.logging import get_logger

log = get_logger("boka.background")

STOP_GRACE_SECONDS = 5.0
# A task gets this long to finish its cleanup after the first cancel, then is cancelled again
# at this interval (in case it lost the first).
_RECANCEL_SECONDS = 1.0


async def stop_task(task: asyncio.Task[object] | None, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """Cancel ``task`` (None: nothing to stop) and wait for it to end, at most ``grace_seconds``.
    Its own error, if it failed, is logged by nobody: it is stopping."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_seconds
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("background task did not stop in time; left behind", task=task.get_name())
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(_RECANCEL_SECONDS, remaining))
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()  # retrieved, so asyncio does not report it as never retrieved
