"""Boka's RQ worker: ``python worker.py`` drains the queues in priority order (BOKA_WORKER_QUEUES,
default high,default,low) with RQ's scheduler on, and serves Prometheus metrics on
BOKA_WORKER_METRICS_PORT. Needs BOKA_REDIS_URL; in embedded mode jobs run in-process instead.

It also runs the event relay (outbox → broadcast channel and consumers) on a thread, unless
``--no-relay``; several workers (or apps with BOKA_RELAY_IN_APP) are safe: one leads.
``--relay-only`` runs just the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from prometheus_client import start_http_server
from redis import Redis
from rq import Queue, Worker

from boka.config import get_settings
from boka.events.relay_thread import run_relay, start_relay_thread
from boka.observability.logging import configure_logging, get_logger


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    parser.add_argument("--no-relay", action="store_true", help="do not run the event relay")
    parser.add_argument("--relay-only", action="store_true", help="run only the event relay")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings.log_level)
    log = get_logger("boka.worker")
    if not settings.redis_url:
        print(
            "worker.py needs BOKA_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
            "without Redis, `make run` runs jobs in-process.",
            file=sys.stderr,
        )
        return 2
    connection = Redis.from_url(settings.redis_url)
    connection.ping()  # fail fast, with Redis's own error, if it is not there
    if args.relay_only:
        log.info("relay starting")
        asyncio.run(run_relay(settings))
        return 0
    if not args.no_relay and not args.burst:
        start_relay_thread(settings)
    if not args.burst:
        start_http_server(settings.worker_metrics_port)
    queues = [Queue(name, connection=connection) for name in settings.queue_names]
    log.info("worker starting", queues=settings.queue_names, burst=args.burst)
    worker = Worker(queues, connection=connection)
    worker.work(burst=args.burst, with_scheduler=True, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
