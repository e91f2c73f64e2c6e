"""Benchmark: what tracing costs `createBooking` in-process (issue 17, item 6).

    .venv/bin/python -m bench tracing       (PostgreSQL, Redis)

One throwaway database (Boka's app role, so row level security binds) with a tenant of 3 staff
who work around the clock. The app runs in this process, driven through httpx's ASGI transport
(no network, no server: the figure is the app's own cost per request). A client books distinct
free slots as new guests, one request at a time. Rounds alternate between an app with tracing
off (no endpoint: nothing installed) and one with tracing on (spans to an in-memory exporter,
every span kept); the median latency of each is reported. Run on the commit before tracing
(the script only measures "off" when ``create_app`` takes no ``span_exporter``) to compare
"off" with no tracing code at all.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.harness import REDIS, BenchDatabase, throwaway_database
from bench.salon import open_salon
from bench.table import Row
from boka.db import Database, create_engine
from boka.web.app import create_app

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
REQUESTS = int(os.environ.get("BENCH_TRACING_REQUESTS", "150"))  # per round
REDIS_URL = os.environ.get("BENCH_REDIS_URL", REDIS)
CREATE = ("mutation Book($input: CreateBookingInput!) { createBooking(input: $input) "
          "{ booking { id startTime staff { id } } errors { code message } } }")
# "on" rounds need the tracing code; BENCH_TRACING_ON=0 measures "off" alone (as on the
# commit before tracing, for a like-for-like comparison).
TRACING_CODE = ("span_exporter" in inspect.signature(create_app).parameters
                and os.environ.get("BENCH_TRACING_ON", "1") != "0")


async def _seed(database: BenchDatabase) -> str:
    engine = Database(create_engine(database.settings(database_url=database.owner_url)))
    try:
        async with engine.transaction(write=True) as db:
            service = (await open_salon(db, staff_count=3)).service
        return base64.b64encode(f"Service:{service.id}".encode()).decode()
    finally:
        await engine.dispose()


class Bookings:
    def __init__(self, service: str) -> None:
        self.service = service
        self.first = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                                     microsecond=0)
        self.count = 0

    def next(self) -> dict[str, Any]:
        n = self.count
        self.count += 1
        start = self.first + timedelta(days=n % 600, minutes=30 * (n // 600))
        return {"query": CREATE, "variables": {"input": {
            "serviceId": self.service, "start": start.isoformat(),
            "customer": {"email": f"g{n}-{uuid.uuid4().hex[:6]}@bench.test", "firstName": "G"},
        }}}


async def _round(database: BenchDatabase, bookings: Bookings, traced: bool) -> tuple[list[float], int, float]:
    settings = database.settings(redis_url=REDIS_URL, relay_in_app=False, log_level="WARNING",
                                 rate_limit_api_per_hour=100_000_000, otlp_endpoint=None)
    exporter = None
    if traced:
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter) if exporter is not None else create_app(settings)
    times: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"X-Tenant": "bench"}
            cpu = 0.0
            for index in range(20 + REQUESTS):  # the first 20 warm up
                if index == 20:
                    cpu = time.process_time()
                started = time.perf_counter()
                response = await client.post("/graphql", json=bookings.next(), headers=headers)
                elapsed = time.perf_counter() - started
                payload = response.json()
                if payload.get("errors") or payload["data"]["createBooking"]["errors"]:
                    raise RuntimeError(f"createBooking failed: {payload}")
                if index >= 20:
                    times.append(elapsed)
            cpu = time.process_time() - cpu  # this process's CPU for the measured requests
    spans = len(exporter.get_finished_spans()) if exporter is not None else 0
    return times, spans, cpu / REQUESTS


async def _measure(database: BenchDatabase, service: str) -> list[Row]:
    bookings = Bookings(service)
    off: list[float] = []
    on: list[float] = []
    off_cpu: list[float] = []
    on_cpu: list[float] = []
    spans = 0
    for _ in range(ROUNDS):
        times, _, cpu = await _round(database, bookings, False)
        off.extend(times)
        off_cpu.append(cpu)
        if TRACING_CODE:
            times, count, cpu = await _round(database, bookings, True)
            on.extend(times)
            on_cpu.append(cpu)
            spans += count
    without = statistics.median(off)
    rows = [Row("tracing off", f"createBooking in-process: median {without * 1000:.2f} ms, "
                f"CPU {statistics.median(off_cpu) * 1000:.2f} ms a request", "-", None, "-", None)]
    if on:
        with_tracing = statistics.median(on)
        rows.append(Row(
            "tracing on", f"createBooking in-process: median {with_tracing * 1000:.2f} ms, "
            f"CPU {statistics.median(on_cpu) * 1000:.2f} ms a request "
            f"({spans / (ROUNDS * (REQUESTS + 20)):.1f} spans a request)",
            f"tracing off {without * 1000:.2f} ms", without / with_tracing, "-", None))
    return rows


def measure() -> list[Row]:
    with throwaway_database() as database:
        service = asyncio.run(_seed(database))
        return asyncio.run(_measure(database, service))


if __name__ == "__main__":
    from bench.table import render

    print(render(measure()))
