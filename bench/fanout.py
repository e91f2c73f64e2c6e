"""Benchmark (issue 10, goal 5): commit -> live subscribers, against a bare Starlette websocket
fan-out measured in the same run.

    .venv/bin/python -m bench fanout          # one run, as a table row set of `make bench`
    .venv/bin/python -m bench.fanout --runs 20  # the loss check: 20 runs, each fresh servers

Needs PostgreSQL (BOKA_TEST_DATABASE_URL) and Redis (BOKA_BENCH_REDIS_URL: use a Redis of your
own, pub/sub channels are global to a server).

One run:
(a) baseline: ``bench.baseline_fanout`` (bare Starlette, one uvicorn process), 1,000 websocket
    clients; ``POST /trigger`` 30 times; time from sending the trigger to each client's receipt.
(b) Boka: one uvicorn process (relay in the app, Redis broadcast), 1,000 graphql-transport-ws
    clients subscribed to ``bookingEvents`` as a manager; 30 ``createBooking`` mutations over
    HTTP, one after another. "commit -> receipt" is measured from the event's ``occurredAt``
    (stamped by the server when the event is written, in the transaction that then commits, so
    a little before the commit: an upper bound) to each client's receipt. Also shown: from
    *sending* the mutation, which adds the mutation's own work before its commit (its round
    trip is printed too).
(c) Boka, two uvicorn processes (both may run the relay; one leads) with 500 clients each; the
    mutations alternate between them, so half commit in a process whose relay does not lead and
    is only found by the leader's next poll (BOKA_RELAY_POLL_SECONDS, 0.1 s).
(d) memory: the server's RSS after its clients connected and received one warm-up message,
    less its RSS before, per connection; Boka against the baseline. Boka's bounded caches of
    operations (1,024 parsed and validated documents) are filled first, so that they do not
    count as memory of the subscribers.

The clients run in another process (bench/fanout_clients.py: raw ``websockets``, one loop,
uvloop) and timestamp receipts with time.time(), the clock this process stamps sends with.
Each trigger waits until every client has it (or 5 s) before the next; a delivery that never
arrives at a subscribed client, within 10 s of the last trigger, is lost. Clients that could
not connect and subscribe are counted apart (and fail the row too).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.harness import REDIS, BenchDatabase, bench_env, rss_bytes, serve_process, throwaway_database
from bench.table import Row
from boka.db import Database, create_engine
from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.identity.sessions import DeviceInfo, start_session
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role
from boka.tenancy import create_tenant

SUBSCRIBERS = int(os.environ.get("BOKA_BENCH_FANOUT_SUBSCRIBERS", "1000"))
TRIGGERS = int(os.environ.get("BOKA_BENCH_FANOUT_TRIGGERS", "30"))
WAIT_EACH = 5.0  # seconds a trigger may take to reach every client before the next is sent
GRACE = 10.0  # seconds after the last trigger before what has not arrived counts as lost
BASELINE_MESSAGE_BYTES = 260  # about the size of Boka's bookingEvents message in this run
SLOTS_PER_DAY = 90
# A folder: py-spy records each Boka server while the triggers run (flame graphs, raw format).
PROFILE = os.environ.get("BOKA_BENCH_FANOUT_PROFILE")
VERBOSE = bool(os.environ.get("BOKA_BENCH_FANOUT_VERBOSE"))  # each trigger's first and last receipt
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code message } } }"""


@dataclass
class Fanout:
    """What one scenario measured."""

    latencies_ms: list[float] = field(default_factory=list)  # from sending the trigger
    commit_latencies_ms: list[float] = field(default_factory=list)  # from the event's occurredAt
    expected: int = 0
    lost: int = 0  # deliveries that never reached a subscribed client
    unsubscribed: int = 0  # clients that could not connect and subscribe at all
    duplicates: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    round_trips_ms: list[float] = field(default_factory=list)
    bytes_per_connection: float | None = None

    def p(self, share: float, *, sent: bool = False) -> float:
        """Percentile of commit -> receipt (Boka) or trigger -> receipt (the baseline, and
        Boka with ``sent``: from sending the mutation)."""
        values = self.latencies_ms if sent or not self.commit_latencies_ms else self.commit_latencies_ms
        if not values:
            return float("inf")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def describe(self) -> str:
        text = (f"p50 {self.p(0.5):.0f} ms, p99 {self.p(0.99):.0f} ms, max {self.p(1.0):.0f} ms; "
                f"lost {self.lost} of {self.expected}")
        if self.commit_latencies_ms:
            text += (f"; from sending the mutation p50 {self.p(0.5, sent=True):.0f} ms, "
                     f"p99 {self.p(0.99, sent=True):.0f} ms")
        if self.unsubscribed:
            text += f", {self.unsubscribed} clients could not subscribe"
        if self.duplicates:
            text += f", {self.duplicates} twice"
        if self.round_trips_ms:
            text += f"; mutation round trip p50 {statistics.median(self.round_trips_ms):.0f} ms"
        if self.ended:
            text += f"; ended: {self.ended}"
        return text


@dataclass(frozen=True)
class Seeded:
    token: str
    service_gid: str


class ClientProcess:
    """bench/fanout_clients.py, driven over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ready: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self.report: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.done: dict[str, asyncio.Event] = {}
        self._reading = asyncio.create_task(self._read())

    def done_event(self, key: str) -> asyncio.Event:
        return self.done.setdefault(key, asyncio.Event())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            kind, _, rest = line.decode().rstrip("\n").partition(" ")
            if kind == "READY":
                opened, failed = rest.split()
                self.ready.set_result((int(opened), int(failed)))
            elif kind == "DONE":
                self.done_event(rest).set()
            elif kind == "REPORT":
                self.report.set_result(json.loads(rest))
        for future in (self.ready, self.report):
            if not future.done():
                future.set_exception(RuntimeError("the client process ended early"))

    async def finish(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"REPORT\n")
        await self.process.stdin.drain()
        return await asyncio.wait_for(self.report, 120)


@asynccontextmanager
async def client_process(mode: str, targets: list[tuple[str, int]], *, token: str | None = None
                         ) -> AsyncIterator[ClientProcess]:
    arguments = [sys.executable, "-m", "bench.fanout_clients", "--mode", mode]
    for url, count in targets:
        arguments += ["--target", f"{url}={count}"]
    if token:
        arguments += ["--token", token, "--tenant", "bench"]
    process = await asyncio.create_subprocess_exec(
        *arguments, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), limit=2**30,
    )
    try:
        yield ClientProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _websocket_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
        return True
    except TimeoutError:
        return False


def _tally(result: Fanout, report: dict[str, Any], sent: dict[str, float], subscribers: int) -> None:
    seen: Counter[tuple[int, str]] = Counter()
    per_trigger: dict[str, list[float]] = {key: [] for key in sent}
    occurred = {key: datetime.fromisoformat(at).timestamp()
                for key, at in report.get("occurred", {}).items() if key in sent}
    for connection, key, received in report["receipts"]:
        if key not in sent:
            continue  # the warm-up
        seen[(connection, key)] += 1
        if seen[(connection, key)] == 1:
            result.latencies_ms.append((received - sent[key]) * 1000)
            per_trigger[key].append((received - sent[key]) * 1000)
            if key in occurred:
                result.commit_latencies_ms.append((received - occurred[key]) * 1000)
    if VERBOSE:
        print("   per trigger (first, last receipt, ms): " + ", ".join(
            f"{min(v):.0f}-{max(v):.0f}" for v in per_trigger.values() if v), file=sys.stderr)
    result.unsubscribed = report["failed"]
    result.expected = len(sent) * (subscribers - result.unsubscribed)
    result.lost = result.expected - len(seen)
    result.duplicates = sum(count - 1 for count in seen.values())
    result.ended = report["ended"]


# --- (a) the baseline ---------------------------------------------------------------------

async def _baseline(base: str, pid: int) -> Fanout:
    result = Fanout()
    async with httpx.AsyncClient(timeout=30) as http:
        async with connect(_websocket_url(base, "/ws"), compression=None) as warm:  # lazy imports
            await http.post(f"{base}/trigger", json={"key": "warm", "size": BASELINE_MESSAGE_BYTES})
            await warm.recv()
        await asyncio.sleep(0.5)
        before = rss_bytes(pid)
        async with client_process("bare", [(_websocket_url(base, "/ws"), SUBSCRIBERS)]) as clients:
            await _opened(clients)
            await http.post(f"{base}/trigger", json={"key": "warm-up", "size": BASELINE_MESSAGE_BYTES})
            await _wait(clients.done_event("warm-up"), 30)
            await asyncio.sleep(1)
            result.bytes_per_connection = (rss_bytes(pid) - before) / SUBSCRIBERS
            sent: dict[str, float] = {}
            for index in range(TRIGGERS):
                key = f"t{index}"
                sent[key] = time.time()
                await http.post(f"{base}/trigger", json={"key": key, "size": BASELINE_MESSAGE_BYTES})
                await _wait(clients.done_event(key), WAIT_EACH)
                await asyncio.sleep(0.05)
            await _all_done(clients, sent)
            _tally(result, await clients.finish(), sent, SUBSCRIBERS)
    return result


async def _opened(clients: ClientProcess) -> None:
    opened, failed = await asyncio.wait_for(clients.ready, 600)
    if failed:
        print(f"   {failed} clients could not connect ({opened} did)", file=sys.stderr)


async def _all_done(clients: ClientProcess, sent: dict[str, float]) -> None:
    deadline = time.monotonic() + GRACE
    for key in sent:
        await _wait(clients.done_event(key), max(0.0, deadline - time.monotonic()))


# --- (b), (c) Boka ------------------------------------------------------------------------

class Bookings:
    """createBooking through the HTTP API, each in a slot of its own."""

    def __init__(self, seeded: Seeded) -> None:
        self.seeded = seeded
        self.made = 0
        self.first_day = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0)

    async def book(self, http: httpx.AsyncClient, base: str) -> str:
        index = self.made
        self.made += 1
        start = self.first_day + timedelta(days=index // SLOTS_PER_DAY, minutes=15 * (index % SLOTS_PER_DAY))
        response = await http.post(f"{base}/graphql", headers={
            "Authorization": f"Bearer {self.seeded.token}", "X-Tenant": "bench"},
            json={"query": CREATE, "variables": {"input": {
                "serviceId": self.seeded.service_gid, "start": start.isoformat(),
                "customer": {"email": f"c{index}@bench.example"}}}})
        payload = response.json()["data"]["createBooking"]
        if payload["errors"]:
            raise RuntimeError(f"createBooking failed: {payload['errors']}")
        return payload["booking"]["id"]


async def _warm_socket(base: str, token: str, bookings: Bookings, http: httpx.AsyncClient) -> None:
    """One subscriber and one booking, so that what the first use imports is not counted."""
    async with connect(_websocket_url(base, "/graphql"), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                       compression=None) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}", "tenant": "bench"}}))
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {
            "query": "subscription { bookingEvents { eventId type booking { id status startTime } } }"}}))
        await asyncio.sleep(0.3)
        await bookings.book(http, base)
        await asyncio.wait_for(ws.recv(), 30)


CACHE_FILL = 1100  # operations: more than the parser and validation caches hold (1,024)


async def _fill_bounded_caches(http: httpx.AsyncClient, base: str, token: str) -> None:
    """Fill the server's bounded per-operation caches first, so that the memory measured per
    subscriber is what each one adds in a server that has been up a while, not the growth of
    a cache that is full after its first thousand operations anyway."""
    gate = asyncio.Semaphore(8)

    async def one() -> None:
        async with gate:
            await http.post(f"{base}/graphql", json={"query": "{ __typename }"},
                            headers={"Authorization": f"Bearer {token}", "X-Tenant": "bench"})

    await asyncio.gather(*(one() for _ in range(CACHE_FILL)))


async def _boka(servers: list[tuple[str, int]], bookings: Bookings, *, measure_memory: bool) -> Fanout:
    result = Fanout()
    per_server = SUBSCRIBERS // len(servers)
    token = bookings.seeded.token
    async with httpx.AsyncClient(timeout=60) as http:
        for base, _ in servers:
            await _warm_socket(base, token, bookings, http)
            if measure_memory:
                await _fill_bounded_caches(http, base, token)
        await asyncio.sleep(0.5)
        before = [rss_bytes(pid) for _, pid in servers]
        targets = [(_websocket_url(base, "/graphql"), per_server) for base, _ in servers]
        async with client_process("graphql", targets, token=token) as clients:
            await _opened(clients)
            await asyncio.sleep(0.5)
            warm_up = await bookings.book(http, servers[0][0])  # every subscription is in place
            if not await _wait(clients.done_event(warm_up), 60):
                print("   the warm-up event did not reach every subscriber", file=sys.stderr)
            await asyncio.sleep(1)
            if measure_memory:
                grown = sum(rss_bytes(pid) for _, pid in servers) - sum(before)
                result.bytes_per_connection = grown / (per_server * len(servers))
            sent: dict[str, float] = {}
            profilers = _profile([pid for _, pid in servers])
            for index in range(TRIGGERS):
                base = servers[index % len(servers)][0]
                started = time.time()
                key = await bookings.book(http, base)
                result.round_trips_ms.append((time.time() - started) * 1000)
                sent[key] = started
                await _wait(clients.done_event(key), WAIT_EACH)
                await asyncio.sleep(0.05)
            await _all_done(clients, sent)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait()
            _tally(result, await clients.finish(), sent, per_server * len(servers))
    return result


def _profile(pids: list[int]) -> list[subprocess.Popen[bytes]]:
    if not PROFILE:
        return []
    os.makedirs(PROFILE, exist_ok=True)
    return [subprocess.Popen(["py-spy", "record", "-r", "200", "-f", "raw", "-o",
                              os.path.join(PROFILE, f"boka-{len(pids)}-{pid}.txt"), "--pid", str(pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


async def _seed(bench: BenchDatabase) -> Seeded:
    database = Database(create_engine(bench.settings(database_url=bench.owner_url)))
    try:
        async with database.transaction(write=True) as db:
            tenant = await create_tenant(db, name="Bench", slug="bench", domain=None, time_zone="UTC")
            user = await register_user(db, email="manager@bench.example", password="bench-password-123",
                                       full_name="M")
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=Role.MANAGER)
            issued = await start_session(db, user, tenant_id=tenant.id,
                                         device=DeviceInfo(ip_address="127.0.0.1", user_agent="bench"),
                                         ttl=timedelta(hours=24))
            service = Service(tenant_id=tenant.id, name="Cut", duration_minutes=15, price_cents=100,
                              currency="EUR", slot_interval_minutes=15, max_advance_days=365)
            db.add(service)
            member = StaffMember(tenant_id=tenant.id, user_id=user.id, display_name="M", time_zone="UTC")
            db.add(member)
            await db.flush()
            db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
            for weekday in range(7):
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                                   start_time=clock(0), end_time=clock(23, 45)))
        gid = base64.b64encode(f"Service:{service.id}".encode()).decode()
        return Seeded(issued.token, gid)
    finally:
        await database.dispose()


# --- one run, and the table ---------------------------------------------------------------

@dataclass
class Run:
    baseline: Fanout
    one: Fanout
    two: Fanout


def _boka_env(bench: BenchDatabase) -> dict[str, str]:
    return bench_env(database_url=bench.app_url, redis_url=REDIS, relay_in_app="true",
                     rate_limits_enabled="false")


def run_once(bench: BenchDatabase, bookings: Bookings) -> Run:
    with serve_process(bench_env(), "bench.baseline_fanout:app") as served:
        baseline = asyncio.run(_baseline(served.base, served.pid))
    print(f"   baseline: {baseline.describe()}", file=sys.stderr, flush=True)
    with serve_process(_boka_env(bench)) as served:
        one = asyncio.run(_boka([(served.base, served.pid)], bookings, measure_memory=True))
    print(f"   Boka, one process: {one.describe()}", file=sys.stderr, flush=True)
    with ExitStack() as stack:
        first = stack.enter_context(serve_process(_boka_env(bench)))
        second = stack.enter_context(serve_process(_boka_env(bench)))
        two = asyncio.run(_boka([(first.base, first.pid), (second.base, second.pid)], bookings,
                                measure_memory=False))
    print(f"   Boka, two processes: {two.describe()}", file=sys.stderr, flush=True)
    return Run(baseline, one, two)


def _no_loss(run: Run) -> bool:
    return not (run.one.lost or run.two.lost or run.one.unsubscribed or run.two.unsubscribed)


def _unsubscribed(run: Run) -> str:
    failed = run.one.unsubscribed + run.two.unsubscribed
    return f"; {failed} clients could not subscribe" if failed else ""


def rows(run: Run) -> list[Row]:
    base_p99 = run.baseline.p(0.99)
    one_p99, two_p99 = run.one.p(0.99), run.two.p(0.99)
    out = [
        Row("5 fan-out, 1 process", f"Boka {SUBSCRIBERS:,} subscribers, commit -> receipt p99 "
            f"{one_p99:.0f} ms (p50 {run.one.p(0.5):.0f}; from sending the mutation p99 "
            f"{run.one.p(0.99, sent=True):.0f})", f"bare Starlette p99 {base_p99:.0f} ms (p50 "
            f"{run.baseline.p(0.5):.0f})", base_p99 / one_p99, "p99 <= 250 ms", one_p99 <= 250),
        Row("5 fan-out, 2 processes", f"Boka 2 x {SUBSCRIBERS // 2:,} via Redis, commit -> receipt p99 "
            f"{two_p99:.0f} ms (p50 {run.two.p(0.5):.0f}; from sending p99 "
            f"{run.two.p(0.99, sent=True):.0f})", f"bare Starlette p99 {base_p99:.0f} ms",
            base_p99 / two_p99, "p99 <= 300 ms", two_p99 <= 300),
        Row("5 lost deliveries", f"Boka lost {run.one.lost} of {run.one.expected:,} (1 process), "
            f"{run.two.lost} of {run.two.expected:,} (2)" + _unsubscribed(run),
            f"bare lost {run.baseline.lost}", None, "0", _no_loss(run)),
    ]
    boka_bytes, bare_bytes = run.one.bytes_per_connection, run.baseline.bytes_per_connection
    if boka_bytes and bare_bytes:
        out.append(Row("5 memory/subscriber", f"Boka {boka_bytes / 1024:.0f} kB "
                       f"({boka_bytes / bare_bytes:.2f}x bare)", f"bare websocket {bare_bytes / 1024:.0f} kB",
                       bare_bytes / boka_bytes, ">= 0.77x (Boka <= 1.3x bare)",
                       boka_bytes <= 1.3 * bare_bytes))
    return out


def measure() -> list[Row]:
    with throwaway_database() as bench:
        bookings = Bookings(asyncio.run(_seed(bench)))
        return rows(run_once(bench, bookings))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="consecutive runs (the loss check: 20)")
    args = parser.parse_args(argv)
    from bench.table import render

    runs: list[Run] = []
    with throwaway_database() as bench:
        bookings = Bookings(asyncio.run(_seed(bench)))
        for number in range(1, args.runs + 1):
            print(f"== run {number} of {args.runs}", file=sys.stderr, flush=True)
            runs.append(run_once(bench, bookings))
            print(render(rows(runs[-1])), flush=True)
    if args.runs > 1:
        print(summary(runs), flush=True)
        return 1 if any(not _no_loss(run) for run in runs) else 0
    return 0


def summary(runs: list[Run]) -> str:
    """The loss check over consecutive runs, with the spread of the other figures."""
    lossy = [i + 1 for i, run in enumerate(runs) if not _no_loss(run)]
    lost = sum(run.one.lost + run.two.lost for run in runs)
    expected = sum(run.one.expected + run.two.expected for run in runs)
    p99s = [run.one.p(0.99) for run in runs]
    two_p99s = [run.two.p(0.99) for run in runs]
    base_p99s = [run.baseline.p(0.99) for run in runs]
    memory = [run.one.bytes_per_connection / run.baseline.bytes_per_connection for run in runs
              if run.one.bytes_per_connection and run.baseline.bytes_per_connection]
    text = (f"\n{len(runs)} runs: runs with a lost delivery or a client that could not subscribe: "
            f"{lossy or 'none'} ({lost} of {expected:,} deliveries lost); "
            f"one-process p99 {min(p99s):.0f}-{max(p99s):.0f} ms (median {statistics.median(p99s):.0f}, "
            f"{sum(p <= 250 for p in p99s)} of {len(runs)} <= 250); two-process p99 "
            f"{min(two_p99s):.0f}-{max(two_p99s):.0f} ms (median {statistics.median(two_p99s):.0f}, "
            f"{sum(p <= 300 for p in two_p99s)} of {len(runs)} <= 300); bare p99 median "
            f"{statistics.median(base_p99s):.0f} ms")
    if memory:
        text += (f"; memory per subscriber vs bare {min(memory):.2f}-{max(memory):.2f}x "
                 f"(median {statistics.median(memory):.2f}, goal <= 1.3)")
    return text + f"; load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
