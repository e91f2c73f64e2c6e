"""One worker process: its Runtime and event loop on the main thread (the JobLoop), and
``concurrency`` lanes, each an RQ worker in a thread of its own taking one job at a time.

Jobs wait mostly on the database (two durable commits for a notification), SMTP and Redis; a
lane waits for its job while the others' jobs go on, so one process keeps ``concurrency`` jobs
in flight on one Runtime. RQ's guarantees are per lane (boka/jobs/rq_worker.py).

SIGTERM or SIGINT asks every lane to stop: a lane with a job finishes it first, an idle one
stops within a few seconds; a second signal stops the process at once (the jobs it was running
are then recovered by RQ like a killed worker's).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq import Queue

from boka.config import Settings
from boka.jobs.job_loop import JobLoop
from boka.jobs.rq_worker import BokaWorker, JobHeartbeat
from boka.observability import tracing
from boka.observability.logging import configure_logging, get_logger

log = get_logger("boka.worker")


@dataclass
class Lanes:
    workers: list[BokaWorker]
    heartbeat: JobHeartbeat
    threads: list[threading.Thread] = field(default_factory=list)


def make_lanes(settings: Settings, connection: Redis) -> Lanes:
    heartbeat = JobHeartbeat(settings.worker_job_monitoring_seconds)
    workers = []
    for _ in range(settings.worker_concurrency):
        queues = [Queue(name, connection=connection) for name in settings.queue_names]
        worker = BokaWorker(
            queues,
            connection=connection,
            worker_ttl=settings.worker_ttl_seconds,
            maintenance_interval=settings.worker_maintenance_seconds,
            job_monitoring_interval=settings.worker_job_monitoring_seconds,
            heartbeat=heartbeat,
        )
        worker.abandoned_grace_seconds = settings.worker_abandoned_grace_seconds
        workers.append(worker)
    return Lanes(workers, heartbeat)


def run_worker_process(settings: Settings, connection: Redis, *, burst: bool) -> bool:
    """Work until the lanes stop: when asked to (SIGTERM/SIGINT), or in burst mode when the
    queues are empty. False if a lane gave up on its own (RQ quits on a Redis timeout or an
    error of its own): then the process stops whole, to be restarted whole."""
    from boka.runtime import Runtime

    # Here, not in worker.py: the exporter's thread must not exist before the relay's fork.
    traced_here = not tracing.ENABLED and tracing.configure_tracing(settings, service_name="boka-worker")
    if traced_here:
        configure_logging(settings.log_level, trace_ids=True)
    lanes = make_lanes(settings, connection)
    runtime = Runtime.from_settings(settings)
    try:
        return asyncio.run(_serve(runtime, lanes, burst=burst, log_level=settings.log_level))
    finally:
        if traced_here:
            tracing.shutdown_tracing()


async def _serve(runtime: Any, lanes: Lanes, *, burst: bool, log_level: str) -> bool:
    loop = asyncio.get_running_loop()
    all_stopped = loop.create_future()
    running = len(lanes.workers)
    gave_up: list[str] = []
    stop_requests = 0

    def lane_ended(worker: BokaWorker) -> None:
        nonlocal running
        running -= 1
        if not burst and stop_requests == 0:
            log.error("a worker lane stopped on its own: stopping the process", worker=worker.name)
            gave_up.append(worker.name)
            request_stop()
        if running == 0 and not all_stopped.done():
            all_stopped.set_result(None)

    def lane(worker: BokaWorker, with_scheduler: bool) -> None:
        try:
            worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=log_level)
        except BaseException:  # noqa: BLE001 - logged, and the process stops (lane_ended)
            log.exception("worker lane stopped with an error", worker=worker.name)
        finally:
            loop.call_soon_threadsafe(lane_ended, worker)

    def request_stop() -> None:
        nonlocal stop_requests
        stop_requests += 1
        if stop_requests > 1:
            log.warning("second stop signal: stopping now")
            scheduler = lanes.workers[0].scheduler
            if scheduler is not None and scheduler._process is not None and scheduler._process.pid:
                os.kill(scheduler._process.pid, signal.SIGTERM)
            os._exit(1)  # the running jobs are recovered as a killed worker's are
        log.info("stop requested: lanes finish their jobs")
        for worker in lanes.workers:
            worker.request_lane_stop()

    # Plain handlers (they run on this, the main, thread), not loop.add_signal_handler: its
    # wakeup socket would be shared with the scheduler process the first lane forks, and the
    # scheduler's own SIGTERM would reach this loop as a second stop request.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: request_stop())
    # The app processes watch the job store's mark too; a worker does as well, so that a
    # Redis emptied while no app runs (or before one starts) is re-armed all the same.
    from boka.jobs.rearm import RearmWatch

    rearm_watch = RearmWatch(runtime) if not burst else None
    with JobLoop(runtime, loop, threads=len(lanes.workers) + 4):
        lanes.heartbeat.start()
        if rearm_watch is not None:
            rearm_watch.start()
        try:
            for index, worker in enumerate(lanes.workers):
                # One lane runs RQ's scheduler (a process it forks), as one RQ worker would.
                thread = threading.Thread(target=lane, args=(worker, index == 0),
                                          name=f"boka-lane-{index}", daemon=True)
                lanes.threads.append(thread)
                thread.start()
            await all_stopped
        finally:
            lanes.heartbeat.stop()
            if rearm_watch is not None:
                await rearm_watch.stop()
            await runtime.close()
    return not gave_up
