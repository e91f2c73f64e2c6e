"""The relay outside the app: ``python worker.py`` runs it in a child process of its own.

Not a task on the worker's event loop: the relay's deliveries (live subscriptions, webhooks)
must not wait behind the worker's jobs for the loop or the GIL. The worker forks it first
thing, while the worker still has a single thread (a fork taken while another thread holds a
lock, logging's or a connection pool's, leaves the child waiting on it forever: found by test
when RQ forked a work horse per job next to a relay thread), so the two share the pages of
everything imported until then instead of each holding its own copy. The child exits when the
worker that started it is gone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from multiprocessing.process import BaseProcess

from boka.config import Settings, get_settings
from boka.events.broadcast import make_broadcast
from boka.events.consumers import load_consumer_modules
from boka.events.live import build_relay
from boka.runtime_binding import bind_runtime
from boka.observability import tracing
from boka.observability.logging import configure_logging

PARENT_CHECK_SECONDS = 1.0


async def run_relay(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Connect, then publish until cancelled (or until ``parent_pid`` is gone). Consumers
    reach this process's Runtime (its database and job queue) through ``job_runtime()``."""
    from boka.runtime import Runtime

    traced_here = not tracing.ENABLED and tracing.configure_tracing(settings, service_name="boka-relay")
    if traced_here:
        configure_logging(settings.log_level, trace_ids=True)
    runtime = Runtime.from_settings(settings)
    bind_runtime(runtime)
    broadcast = make_broadcast(settings.redis_url)
    await broadcast.connect()
    load_consumer_modules()
    relay = asyncio.create_task(build_relay(settings, runtime.database, broadcast).run())
    try:
        while parent_pid is None or os.getppid() == parent_pid:
            done, _ = await asyncio.wait({relay}, timeout=PARENT_CHECK_SECONDS)
            if done:
                relay.result()
                return
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        await broadcast.disconnect()
        await runtime.close()
        if traced_here:
            tracing.shutdown_tracing()


def _relay_process_main(parent_pid: int) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run_relay(settings, parent_pid=parent_pid))


def start_relay_process() -> BaseProcess:
    """Fork the relay. Call it before the process starts any thread."""
    if threading.active_count() > 1:
        raise RuntimeError("fork the relay before starting threads: a thread's held lock would hang it")
    process = multiprocessing.get_context("fork").Process(
        target=_relay_process_main, args=(os.getpid(),), name="boka-relay", daemon=True
    )
    process.start()
    return process
