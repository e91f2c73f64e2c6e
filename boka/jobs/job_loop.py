"""One event loop and one Runtime for every job a worker process runs.

RQ runs an async job function with ``asyncio.run``: a new event loop per job, and so a new
Runtime per job too (its engine, pools and Redis clients belong to the loop they were made on).
A worker process instead makes a :class:`JobLoop` once, at start: one loop for its whole life,
the Runtime built on it once and bound for ``job_runtime()``. Each async job is a task on that
loop, with the job's timeout as an asyncio timeout (see :func:`run_job_coroutine`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from rq.timeouts import JobTimeoutException

from boka.jobs.context import bind_runtime, unbind_runtime

if TYPE_CHECKING:
    from boka.config import Settings
    from boka.runtime import Runtime


class JobLoop:
    """The worker process's event loop and Runtime. ``JobLoop.installed`` is the one jobs run
    on (one per process: a worker runs one job at a time, on its main thread)."""

    installed: ClassVar[JobLoop | None] = None

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._runner = asyncio.Runner()
        self._token = bind_runtime(runtime)  # the main thread's context, which each job copies

    @classmethod
    def install(cls, settings: Settings) -> JobLoop:
        from boka.runtime import Runtime

        if cls.installed is not None:
            raise RuntimeError("this process has a job loop already")
        cls.installed = cls(Runtime.from_settings(settings))
        return cls.installed

    def run(self, coroutine: Coroutine[Any, Any, Any], *, timeout: float | None) -> Any:
        """Run one job's coroutine to its end, or raise JobTimeoutException after ``timeout``
        seconds (None: no limit). It sees the caller's context: the bound Runtime, and RQ's
        current job."""
        return self._runner.run(
            run_job_coroutine(coroutine, timeout), context=contextvars.copy_context()
        )

    def close(self) -> None:
        try:
            self._runner.run(self.runtime.close())
        finally:
            self._runner.close()  # cancels whatever a job left running
            unbind_runtime(self._token)
            if JobLoop.installed is self:
                JobLoop.installed = None


async def run_job_coroutine(coroutine: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
    """Await the job; past its timeout it is cancelled (so its ``finally`` blocks and context
    managers run: transactions roll back, connections go back to the pool) and the job fails
    with RQ's own timeout error."""
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await coroutine
    except TimeoutError:
        if not deadline.expired():
            raise  # the job's own (a network call's, say), not ours
        raise JobTimeoutException(f"Task exceeded maximum timeout value ({timeout} seconds)") from None
