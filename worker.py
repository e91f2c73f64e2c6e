"""Boka's RQ worker.

``python worker.py`` drains the queues in priority order (BOKA_WORKER_QUEUES, default
high,default,low) with RQ's scheduler on (scheduled jobs and retry backoff), and serves
Prometheus metrics on BOKA_WORKER_METRICS_PORT. ``--burst`` drains and exits. Jobs run in this
process on one event loop with one Runtime built at start, BOKA_WORKER_CONCURRENCY at a time
(boka/jobs/worker_process.py).

``python worker.py failed list`` shows the jobs whose retries ran out;
``python worker.py failed requeue <job id>…`` (or ``--all``) puts them back on their queue.

It also runs the event relay (outbox → broadcast channel and consumers) in a child process, unless
``--no-relay``; several workers (or apps with BOKA_RELAY_IN_APP) are safe: one leads.
``--relay-only`` runs just the relay.

Needs BOKA_REDIS_URL; in embedded mode the app runs jobs in-process instead.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import sys

from prometheus_client import start_http_server
from redis import Redis

from boka.config import Settings, get_settings
from boka.events.relay_process import run_relay, start_relay_process
from boka.jobs.failed import list_failed_jobs, requeue_failed_job
from boka.jobs.metrics import register_queue_depth
from boka.jobs.queues import RQJobQueue
from boka.jobs.worker_process import run_worker_process
from boka.observability.logging import configure_logging, get_logger

# The modules whose functions are Boka's jobs: imported once at start, not by the first job
# (nor by every job, as when RQ forked a work horse per job).
JOB_MODULES = (
    "boka.jobs.holds", "boka.jobs.notifications", "boka.jobs.payments", "boka.jobs.scheduled",
    "boka.jobs.webhooks", "boka.jobs.waitlist",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    parser.add_argument("--no-relay", action="store_true", help="do not run the event relay")
    parser.add_argument("--relay-only", action="store_true", help="run only the event relay")
    commands = parser.add_subparsers(dest="command")
    failed = commands.add_parser("failed", help="list or requeue failed jobs")
    failed_commands = failed.add_subparsers(dest="action", required=True)
    failed_commands.add_parser("list", help="the failed jobs, one a line")
    requeue = failed_commands.add_parser("requeue", help="put failed jobs back on their queue")
    requeue.add_argument("job_ids", nargs="*")
    requeue.add_argument("--all", action="store_true", help="every failed job")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings.log_level)
    if not settings.redis_url:
        print(
            "worker.py needs BOKA_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
            "without Redis, `make run` runs jobs in-process.",
            file=sys.stderr,
        )
        return 2
    connection = Redis.from_url(settings.redis_url)
    connection.ping()  # fail fast, with Redis's own error, if it is not there
    if args.command == "failed":
        return _failed(connection, args)
    if args.relay_only:
        get_logger("boka.worker").info("relay starting")
        asyncio.run(run_relay(settings))
        return 0
    for module in JOB_MODULES:  # before the relay's fork, so that both share these pages
        importlib.import_module(module)
    gc.freeze()  # and keep them shared: the collector no longer writes to what exists now
    if not args.no_relay and not args.burst:
        start_relay_process()  # first, while this process has a single thread
    return _work(settings, connection, burst=args.burst)


def _work(settings: Settings, connection: Redis, *, burst: bool) -> int:
    log = get_logger("boka.worker")
    if not burst:
        register_queue_depth(RQJobQueue(settings.redis_url or "").depths)
        start_http_server(settings.worker_metrics_port)
    log.info("worker starting", queues=settings.queue_names, burst=burst,
             concurrency=settings.worker_concurrency)
    return 0 if run_worker_process(settings, connection, burst=burst) else 1


def _failed(connection: Redis, args: argparse.Namespace) -> int:
    if args.action == "list":
        for job in list_failed_jobs(connection):
            failed_at = job.failed_at.isoformat() if job.failed_at else "-"
            print(f"{job.id}\t{job.queue}\t{job.function}\t{failed_at}\t{job.error}")
        return 0
    job_ids = [job.id for job in list_failed_jobs(connection)] if args.all else args.job_ids
    if not job_ids:
        print("name job ids to requeue, or --all", file=sys.stderr)
        return 2
    missing = [job_id for job_id in job_ids if not requeue_failed_job(connection, job_id)]
    for job_id in missing:
        print(f"no failed job {job_id}", file=sys.stderr)
    print(f"requeued {len(job_ids) - len(missing)} job(s)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
