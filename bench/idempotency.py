"""Benchmark: what an Idempotency-Key costs `createBooking` (issue 11, item 1).

    .venv/bin/python -m bench idempotency       (PostgreSQL, Redis)

One throwaway database (Boka's app role, so row level security binds) with a tenant of 3 staff
who work around the clock, one uvicorn process of Boka as deployed (PostgreSQL + Redis). A
client books distinct free slots as new guests, one request at a time over one keep-alive
connection (so the figure is the per-request cost, not contention): requests alternate
between no key and a fresh key, and the median latency of each is compared in the same run. A third figure: a retry with a used key (the stored response replayed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from bench.harness import REDIS, BenchDatabase, bench_env, serve, throwaway_database
from bench.salon import open_salon
from bench.table import Row
from boka.db import Database, create_engine

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REQUESTS = int(os.environ.get("BENCH_IDEMPOTENCY_REQUESTS", "150"))  # per round and kind
STAFF = 3
CREATE = ("mutation Book($input: CreateBookingInput!) { createBooking(input: $input) "
          "{ booking { id startTime staff { id } } errors { code message } } }")
# A key may cost at most this share of createBooking's speed (median latency ratio).
MINIMUM_RATIO = 0.7


async def _seed(database: BenchDatabase) -> str:
    """The tenant, written as the owner; returns the service's global id."""
    engine = Database(create_engine(database.settings(database_url=database.owner_url)))
    try:
        async with engine.transaction(write=True) as db:
            service = (await open_salon(db, staff_count=STAFF)).service
        return base64.b64encode(f"Service:{service.id}".encode()).decode()
    finally:
        await engine.dispose()


class Bookings:
    """Bodies for distinct free slots (consecutive requests on different days), new guests."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.first = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                                     microsecond=0)
        self.count = 0

    def next(self) -> bytes:
        n = self.count
        self.count += 1
        start = self.first + timedelta(days=n % 600, minutes=30 * (n // 600))
        return json.dumps({"query": CREATE, "variables": {"input": {
            "serviceId": self.service, "start": start.isoformat(),
            "customer": {"email": f"g{n}@bench.test", "firstName": "Guest", "lastName": "Bench"},
        }}}).encode()


def _timed(client: httpx.Client, body: bytes, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.post("/graphql", content=body, headers=headers)
    elapsed = time.perf_counter() - started
    payload = response.json()
    if response.status_code != 200 or payload.get("errors") or payload["data"]["createBooking"]["errors"]:
        raise RuntimeError(f"createBooking failed: {response.status_code} {payload}")
    return elapsed


def measure() -> list[Row]:
    with throwaway_database() as database:
        service = asyncio.run(_seed(database))
        return _measure(database, service)


def _measure(database: BenchDatabase, service: str) -> list[Row]:
    env = bench_env(database_url=database.app_url, redis_url=REDIS, relay_in_app="false",
                    rate_limit_api_per_hour="100000000")
    headers = {"Content-Type": "application/json", "X-Tenant": "bench"}
    bookings = Bookings(service)
    plain: list[float] = []
    keyed: list[float] = []
    replayed: list[float] = []
    with serve(env) as base, httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(20):  # warm up: connections, caches, the document cache
            _timed(client, bookings.next(), headers)
        for _ in range(ROUNDS):
            used: list[tuple[bytes, str]] = []
            for _ in range(REQUESTS):  # pairs, so a shift in the machine's load hits both
                plain.append(_timed(client, bookings.next(), headers))
                body, key = bookings.next(), str(uuid.uuid4())
                keyed.append(_timed(client, body, {**headers, "Idempotency-Key": key}))
                used.append((body, key))
            for body, key in used[:REQUESTS // 3]:
                replayed.append(_timed(client, body, {**headers, "Idempotency-Key": key}))
    without, with_key = statistics.median(plain), statistics.median(keyed)
    replay = statistics.median(replayed)
    ratio = without / with_key
    return [
        Row("idempotency key", f"createBooking with a new key: median {with_key * 1000:.2f} ms "
            f"(+{(with_key - without) * 1000:.2f} ms)",
            f"without a key: median {without * 1000:.2f} ms", ratio, f">= {MINIMUM_RATIO:g}x",
            ratio >= MINIMUM_RATIO),
        Row("idempotency replay", f"a retry with a used key: median {replay * 1000:.2f} ms",
            f"createBooking without a key {without * 1000:.2f} ms", without / replay, "-", None),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(measure()))
