"""One event loop and one Runtime for every job a worker process runs.

RQ runs an async job function with ``asyncio.run``: a new event loop per job, and so a new
Runtime per job too (its engine, pools and Redis clients belong to the loop they were made on).
A worker process instead runs one :class:`JobLoop` on its main thread for its whole life, with
the Runtime built on it once. The process's RQ workers (its lanes, threads of their own, see
boka/jobs/worker_process.py) hand each async job to it (``JobLoop.run``): the job is a task on
the loop, so the lanes' jobs wait for the database, SMTP and Redis at the same time.

Timeouts: each job's coroutine runs under an asyncio timeout of the job's own timeout, which
cancels it (its ``finally`` blocks run, its connections go back to the pool) and fails it with
RQ's JobTimeoutException. A job that *blocks* the loop (sync code inside an async job) cannot be
cancelled; the :class:`LoopWatchdog` notices the loop has not turned for
``blocked_loop_seconds`` and interrupts whatever blocks it with SIGALRM, which raises
JobTimeoutException inside the blocking code (the main thread runs the loop, so the signal
lands there), and that job fails instead of stalling every lane.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from rq.timeouts import JobTimeoutException

from boka.runtime_binding import bind_runtime
from boka.observability.logging import get_logger

if TYPE_CHECKING:
    from boka.runtime import Runtime

log = get_logger("boka.worker")


class JobLoopTimeout(JobTimeoutException):
    """A job stopped by the job loop (its timeout, or for blocking the loop)."""

    def __init__(self, message: str) -> None:  # RQ's TimerDeathPenalty rewrites its base's __init__
        Exception.__init__(self, message)


class JobLoop:
    """The worker process's event loop (its main thread's) and Runtime. ``JobLoop.installed``
    is the one the process's jobs run on, while it runs."""

    installed: ClassVar[JobLoop | None] = None
    blocked_loop_seconds: ClassVar[float] = 10.0

    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop, *, threads: int) -> None:
        self.runtime = runtime
        self._loop = loop
        # Jobs send mail and enqueue jobs through threads (asyncio.to_thread): enough for every lane.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="boka-job-io"))
        self._watchdog = LoopWatchdog(loop, self.blocked_loop_seconds)

    def __enter__(self) -> JobLoop:
        if JobLoop.installed is not None:
            raise RuntimeError("this process has a job loop already")
        JobLoop.installed = self
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._watchdog.stop()
        JobLoop.installed = None

    def run(self, coroutine: Coroutine[Any, Any, Any], *, timeout: float | None) -> Any:
        """Run one job's coroutine on the loop and wait for its end (called from a lane). It
        sees the lane's context (RQ's current job) and the Runtime."""
        future = asyncio.run_coroutine_threadsafe(self._job(coroutine, timeout), self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    async def _job(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
        bind_runtime(self.runtime)  # this task's own context
        return await run_job_coroutine(coroutine, timeout)


async def run_job_coroutine(coroutine: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
    """Await the job; past its timeout it is cancelled and fails with RQ's timeout error."""
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await coroutine
    except TimeoutError:
        if not deadline.expired():
            raise  # the job's own (a network call's, say), not ours
        raise JobLoopTimeout(f"Task exceeded maximum timeout value ({timeout} seconds)") from None


class LoopWatchdog:
    """Interrupts whatever blocks the event loop for longer than ``limit`` seconds: the loop
    notes the time every second; a thread checks, and past the limit sends the main thread
    SIGALRM, whose handler raises JobLoopTimeout there, inside the blocking code."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: float) -> None:
        self._loop = loop
        self._limit = limit
        self._last_turn = time.monotonic()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="boka-loop-watchdog", daemon=True)
        self._main = threading.main_thread().ident

    def start(self) -> None:
        signal.signal(signal.SIGALRM, self._interrupt)
        self._loop.call_soon(self._turn)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def _turn(self) -> None:
        self._last_turn = time.monotonic()
        if not self._stopped.is_set():
            self._loop.call_later(1.0, self._turn)

    def _watch(self) -> None:
        interrupted_at = 0.0
        while not self._stopped.wait(1.0):
            blocked_since = self._last_turn
            if time.monotonic() - blocked_since > self._limit and interrupted_at != blocked_since:
                interrupted_at = blocked_since  # once per blockage
                assert self._main is not None
                signal.pthread_kill(self._main, signal.SIGALRM)

    def _interrupt(self, signum: int, frame: object) -> None:
        raise JobLoopTimeout(f"a job blocked the event loop for more than {self._limit:g} s")
