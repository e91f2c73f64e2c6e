"""Benchmark (issue 10, goals 6 and 7): background job throughput and the worker's idle memory.

    .venv/bin/python -m bench jobs        (needs PostgreSQL and Redis: BOKA_BENCH_REDIS_URL)

Boka: two ``python worker.py`` processes (each with its lanes, scheduler and relay child, as
deployed) drain N payment-receipt jobs, ``send_payment_message_job``: through the worker's job runtime,
each re-reads the booking, composes the message from the tenant's wording, claims its dedupe
key in ``notification_log``, sends the email over SMTP to a local aiosmtpd (a process of its
own) and marks the row sent. Every job has its own ledger reference, so every one sends.

Also through the same workers, a small job: one tenant-scoped read through the job runtime
(``read_booking_job``), for the worker's own cost apart from the notification code's.

Baseline, in the same run: two plain RQ SimpleWorkers (``rq worker -w rq.SimpleWorker``) drain
the same number of jobs of a trivial function: RQ's own cost per job, the floor under any job.

Workers start first and wait idle; the clock runs from the enqueue (one pipeline) to the last
job's end, so process start-up is not counted. Rounds alternate baseline and Boka; each figure
is the median round. Then one idle worker's memory: the resident set of all its processes
(worker, RQ scheduler, relay), read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from bench.harness import REDIS, BenchDatabase, bench_env, free_port, throwaway_database
from bench.table import Row
from boka.config import Settings
from boka.db import Database, create_engine
from boka.jobs.context import job_runtime
from boka.jobs.notifications import MESSAGE_RETRY, send_payment_message_job
from boka.jobs.queues import JOB_TIMEOUT_SECONDS
from boka.migrations import PROJECT_ROOT
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.identity import User
from boka.models.tenancy import Tenant
from boka.notifications.facts import load_booking_facts

JOBS = int(os.environ.get("BOKA_BENCH_JOBS", "3000"))
ROUNDS = int(os.environ.get("BOKA_BENCH_JOB_ROUNDS", "2"))
WORKERS = 2
LANES = Settings.model_fields["worker_concurrency"].default  # jobs in flight per worker process
JOBS_PER_SECOND_GOAL = 500
IDLE_MEMORY_GOAL_MIB = 200
QUEUE = "default"
DRAIN_TIMEOUT_SECONDS = 600


def baseline_job(number: int) -> int:
    """The baseline's job: nothing but RQ's own bookkeeping around it."""
    return number


def measure() -> list[Row]:
    redis = Redis.from_url(REDIS)
    with throwaway_database() as database, smtp_sink() as smtp_port:
        tenant_id, booking_id = asyncio.run(_seed(database))
        boka_env = bench_env(
            database_url=database.app_url, redis_url=REDIS, smtp_host="127.0.0.1",
            smtp_port=str(smtp_port), smtp_security="none",
            email_from="Bench Salon <bookings@bench.example>",
        )

        def boka_jobs(round_number: int) -> list[tuple]:
            return [(tenant_id, booking_id, "payment_receipt", f"bench-{round_number}-{n}", 5000, "EUR")
                    for n in range(JOBS)]

        rates: dict[str, list[float]] = {"baseline": [], "receipt": [], "read": []}
        for round_number in range(ROUNDS):
            redis.flushdb()
            with workers([_rq_simple_worker_command()] * WORKERS, bench_env(), "rq"):
                rates["baseline"].append(_drain(redis, baseline_job, [(n,) for n in range(JOBS)]))
            redis.flushdb()
            with workers([_boka_worker_command()] * WORKERS, boka_env, "boka", LANES):
                rates["receipt"].append(_drain(redis, send_payment_message_job, boka_jobs(round_number)))
                rates["read"].append(_drain(redis, read_booking_job, [(tenant_id, booking_id)] * JOBS))
            print(f"   round {round_number + 1}: RQ SimpleWorker {rates['baseline'][-1]:,.0f} jobs/s, "
                  f"Boka receipts {rates['receipt'][-1]:,.0f} jobs/s, reads {rates['read'][-1]:,.0f} jobs/s",
                  file=sys.stderr, flush=True)
        sent = asyncio.run(_count_sent(database))

        redis.flushdb()
        with workers([_boka_worker_command()], boka_env, "boka-idle", LANES) as [worker]:
            _drain(redis, send_payment_message_job, boka_jobs(ROUNDS)[:200])  # warm: pools open
            time.sleep(3)
            idle = tree_memory(worker.pid)
        redis.flushdb()

    receipt, read, baseline = (statistics.median(rates[name]) for name in ("receipt", "read", "baseline"))
    workers_described = f"{WORKERS} workers x {LANES} lanes"
    baseline_described = f"RQ SimpleWorker x{WORKERS}, trivial job: {baseline:,.0f} jobs/s"
    return [
        Row("6 jobs", f"Boka {receipt:,.0f} jobs/s: {JOBS:,} payment receipts over SMTP, "
            f"{workers_described} ({sent:,} sent in {ROUNDS} rounds)", baseline_described,
            receipt / baseline, f">= {JOBS_PER_SECOND_GOAL} jobs/s", receipt >= JOBS_PER_SECOND_GOAL),
        Row("6 jobs", f"Boka {read:,.0f} jobs/s: a booking read through the job runtime, "
            f"{workers_described}", baseline_described, read / baseline, "- (the worker's own cost)",
            None),
        Row("7 memory", f"idle worker {idle.pss_mib:.0f} MiB PSS ({idle.rss_mib:.0f} MiB summed RSS, "
            f"which counts forked pages once per process); {idle.processes} processes: worker, "
            "scheduler, relay", "-", None, f"<= {IDLE_MEMORY_GOAL_MIB} MiB PSS",
            idle.pss_mib <= IDLE_MEMORY_GOAL_MIB),
    ]


async def read_booking_job(tenant_id: str, booking_id: str) -> bool:
    """A small job through the worker's job runtime: one tenant-scoped transaction that reads a
    booking with its customer, service, staff member and tenant. What a job costs beyond RQ
    when it does little (the receipts job does this, then writes, composes and sends)."""
    async with job_runtime() as runtime, runtime.database.transaction(uuid.UUID(tenant_id)) as db:
        return await load_booking_facts(db, uuid.UUID(booking_id)) is not None


# --- the data and the mail server ------------------------------------------------------------

async def _seed(database: BenchDatabase) -> tuple[str, str]:
    """A salon with one confirmed booking (as the owner: setup bypasses row level security)."""
    owner = Database(create_engine(database.settings(database_url=database.owner_url)))
    try:
        async with owner.transaction(write=True) as db:
            tenant = Tenant(name="Bench Salon", slug="bench-salon", time_zone="Europe/Berlin")
            db.add(tenant)
            await db.flush()
            user = User(email="sam@bench.example")
            service = Service(tenant_id=tenant.id, name="Haircut", duration_minutes=45,
                              price_cents=5000, currency="EUR")
            db.add_all([user, service])
            await db.flush()
            staff = StaffMember(tenant_id=tenant.id, user_id=user.id, display_name="Sam",
                                time_zone="Europe/Berlin")
            customer = Customer(tenant_id=tenant.id, email="carl@bench.example", first_name="Carl")
            db.add_all([staff, customer])
            await db.flush()
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            end = start + timedelta(minutes=45)
            booking = Booking(
                tenant_id=tenant.id, customer_id=customer.id, service_id=service.id,
                staff_id=staff.id, status=BookingStatus.CONFIRMED, start_time=start, end_time=end,
                block_start=start, block_end=end, slot_key="bench", price_cents=5000, currency="EUR",
            )
            db.add(booking)
            await db.flush()
            return str(tenant.id), str(booking.id)
    finally:
        await owner.dispose()


async def _count_sent(database: BenchDatabase) -> int:
    owner = Database(create_engine(database.settings(database_url=database.owner_url)))
    try:
        async with owner.transaction(all_tenants=True) as db:
            result = await db.execute(sa.text("SELECT count(*) FROM notification_log WHERE status = 'sent'"))
            return int(result.scalar_one())
    finally:
        await owner.dispose()


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd in a process of its own, accepting and discarding every message."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _accepts(port), "aiosmtpd to listen", 30)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- workers -----------------------------------------------------------------------------------

def _boka_worker_command() -> list[str]:
    return [sys.executable, "worker.py"]


def _rq_simple_worker_command() -> list[str]:
    return [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.SimpleWorker", "-u", REDIS,
            "--logging_level", "WARNING", QUEUE]


@contextmanager
def workers(commands: list[list[str]], env: dict[str, str], name: str,
            lanes: int = 1) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start the worker processes and wait until each listens on the queues (``lanes`` RQ
    workers each); stop them after."""
    redis = Redis.from_url(REDIS)
    with ExitStack() as stack:
        processes = []
        for command in commands:
            log = stack.enter_context(tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log",
                                                                  delete=False))
            process_env = {**env, "BOKA_WORKER_METRICS_PORT": str(free_port())}
            processes.append(subprocess.Popen(command, cwd=PROJECT_ROOT, env=process_env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        try:
            def listening() -> bool:
                for process in processes:
                    if process.poll() is not None:
                        raise RuntimeError(f"a {name} worker exited with {process.returncode}")
                registered = Worker.all(connection=redis)
                if len(registered) > len(processes) * lanes:
                    raise RuntimeError(f"{len(registered)} workers on {REDIS}: stray ones would take jobs")
                return sum(w.get_state() == "idle" for w in registered) == len(processes) * lanes

            _wait(listening, f"{len(processes)} {name} workers to listen", 60)
            yield processes
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait()


def _drain(redis: Redis, function: Callable[..., object], arguments: list[tuple]) -> float:
    """Enqueue one job per argument tuple in one pipeline (as Boka's queue does: retry policy,
    timeout, failure TTL), wait until every one has finished; jobs per second."""
    queue = Queue(QUEUE, connection=redis)
    finished, failed = FinishedJobRegistry(queue=queue), FailedJobRegistry(queue=queue)
    data = [Queue.prepare_data(function, args, timeout=JOB_TIMEOUT_SECONDS, retry=MESSAGE_RETRY.as_rq(),
                               failure_ttl=3600) for args in arguments]
    already_finished, already_failed = finished.count, failed.count
    started = time.monotonic()
    with redis.pipeline() as pipeline:
        queue.enqueue_many(data, pipeline=pipeline)
        pipeline.execute()

    def drained() -> bool:
        if failed.count > already_failed:
            raise RuntimeError(f"{failed.count - already_failed} jobs failed, e.g. {failed.get_job_ids()[:1]}")
        return finished.count >= already_finished + len(arguments)

    _wait(drained, f"{len(arguments)} jobs to finish", DRAIN_TIMEOUT_SECONDS, poll=0.02)
    return len(arguments) / (time.monotonic() - started)


def _wait(condition: Callable[[], bool], what: str, timeout: float, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(poll)


# --- memory ------------------------------------------------------------------------------------

class TreeMemory:
    def __init__(self, rss_kib: int, pss_kib: int, processes: int) -> None:
        self.rss_mib, self.pss_mib, self.processes = rss_kib / 1024, pss_kib / 1024, processes


def tree_memory(pid: int) -> TreeMemory:
    """Resident memory of ``pid`` and all its descendants, from /proc: the sum of their RSS
    (pages a forked child still shares with its parent count twice), and of their PSS (shared
    pages split between their sharers: the honest total)."""
    pids = [pid, *_descendants(pid)]
    rss = sum(_proc_kib(p, "status", "VmRSS:") for p in pids)
    pss = sum(_proc_kib(p, "smaps_rollup", "Pss:") for p in pids)
    return TreeMemory(rss, pss, len(pids))


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found += [child, *_descendants(child)]
    return found


def _proc_kib(pid: int, name: str, field: str) -> int:
    for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0
