"""Benchmark: createBooking commit → live subscriber receipt, with 100 subscribers.

    .venv/bin/python -m bench.live_latency      (needs PostgreSQL and Redis:
                                                 BOKA_TEST_DATABASE_URL, BOKA_TEST_REDIS_URL)

Creates a throwaway database, starts one real uvicorn process (relay in the app, Redis
broadcast), connects 100 graphql-transport-ws clients as a manager subscribed to
``bookingEvents``, then makes 30 bookings one after another through the HTTP API. For each
booking and subscriber it records the time from sending the mutation to receiving the event
(an upper bound of commit → receipt, since the commit happens inside the mutation), and the
mutation's own round trip; prints p50/p95/max.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import asyncpg
import httpx
from httpx_ws import aconnect_ws
from sqlalchemy.engine import make_url

from boka.config import Settings
from boka.db import Database, create_engine
from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.identity.sessions import DeviceInfo, start_session
from boka.migrations import upgrade_to_head
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role
from boka.tenancy import create_tenant

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import clean_env, uvicorn_server  # noqa: E402

SERVER = os.environ.get("BOKA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BOKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SUBSCRIBERS = 100
BOOKINGS = 30
SUBSCRIBE = "subscription { bookingEvents { type booking { id } } }"
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code message } } }"""


async def _admin(sql: str) -> None:
    dsn = make_url(SERVER).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _seed(url: str) -> tuple[str, uuid.UUID]:
    database = Database(create_engine(Settings(database_url=url, secret_key="bench-secret")))
    try:
        async with database.transaction(write=True) as db:
            tenant = await create_tenant(db, name="Bench", slug="bench", domain=None, time_zone="UTC")
            user = await register_user(db, email="manager@bench.test", password="bench-password-123", full_name="M")
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=Role.MANAGER)
            issued = await start_session(db, user, tenant_id=tenant.id,
                                         device=DeviceInfo(ip_address="127.0.0.1", user_agent="bench"),
                                         ttl=timedelta(hours=2))
            service = Service(tenant_id=tenant.id, name="Cut", duration_minutes=30, price_cents=100,
                              currency="EUR", slot_interval_minutes=30)
            db.add(service)
            member = StaffMember(tenant_id=tenant.id, user_id=user.id, display_name="M", time_zone="UTC")
            db.add(member)
            await db.flush()
            db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
            for weekday in range(7):
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                                   start_time=clock(0), end_time=clock(23, 30)))
        return issued.token, service.id
    finally:
        await database.dispose()


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _run(base: str, token: str, service_id: uuid.UUID) -> None:
    import base64

    service_gid = base64.b64encode(f"Service:{service_id}".encode()).decode()
    receipts: dict[str, list[float]] = {}
    ready = asyncio.Event()
    connected = 0

    async def subscriber(index: int) -> None:
        nonlocal connected
        async with httpx.AsyncClient(timeout=60) as client:
            async with aconnect_ws(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send_json({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {token}", "tenant": "bench"}})
                await ws.receive_json(timeout=30)
                await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIBE}})
                connected += 1
                if connected == SUBSCRIBERS:
                    ready.set()
                while True:
                    message = await ws.receive_json(timeout=120)
                    if message["type"] == "ping":
                        await ws.send_json({"type": "pong"})
                        continue
                    now = time.perf_counter()
                    booking_id = message["payload"]["data"]["bookingEvents"]["booking"]["id"]
                    receipts.setdefault(booking_id, []).append(now)

    tasks = [asyncio.create_task(subscriber(i)) for i in range(SUBSCRIBERS)]
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(1)
    latencies: list[float] = []
    round_trips: list[float] = []
    day = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    missing = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for index in range(BOOKINGS):
            start = day + timedelta(minutes=30 * index)
            sent = time.perf_counter()
            response = await client.post(f"{base}/graphql", headers={
                "Authorization": f"Bearer {token}", "X-Tenant": "bench"},
                json={"query": CREATE, "variables": {"input": {
                    "serviceId": service_gid, "start": start.isoformat(),
                    "customer": {"email": f"c{index}@bench.test"}}}})
            round_trips.append(time.perf_counter() - sent)
            booking_id = response.json()["data"]["createBooking"]["booking"]["id"]
            for _ in range(200):
                if len(receipts.get(booking_id, [])) >= SUBSCRIBERS:
                    break
                await asyncio.sleep(0.01)
            got = receipts.get(booking_id, [])
            missing += SUBSCRIBERS - len(got)
            latencies.extend(t - sent for t in got)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ms = [v * 1000 for v in latencies]
    trips = [v * 1000 for v in round_trips]
    print(f"{SUBSCRIBERS} subscribers x {BOOKINGS} bookings: {len(ms)} deliveries, {missing} missing")
    print(f"send createBooking -> event received: p50 {statistics.median(ms):.1f} ms, "
          f"p95 {_pct(ms, 0.95):.1f} ms, max {max(ms):.1f} ms")
    print(f"createBooking round trip alone:        p50 {statistics.median(trips):.1f} ms, "
          f"p95 {_pct(trips, 0.95):.1f} ms, max {max(trips):.1f} ms")


async def main() -> None:
    name = f"boka_bench_live_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        token, service_id = await _seed(url)
        env = clean_env(database_url=url, redis_url=REDIS, log_level="WARNING", relay_in_app="true",
                        rate_limits_enabled="false")
        with tempfile.TemporaryDirectory() as tmp, uvicorn_server(env, Path(tmp) / "server.log") as base:
            await _run(base, token, service_id)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
