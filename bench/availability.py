"""Benchmark: availability for a 30-day window, 20 staff, against a growing booking history.

    .venv/bin/python -m bench.availability        (needs PostgreSQL; BOKA_TEST_DATABASE_URL)

Creates a throwaway database, measures find_slots() with no history (the baseline), then with
10,000 active bookings spread over two years around the window, and prints both and their
ratio. Cost should follow the window and the staff count, not the history: the ratio stays
close to 1 (the bookings inside the window do add real work: they remove slots).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import asyncpg
from sqlalchemy.engine import make_url

from boka.booking.availability import TimeRange, private_slot_key
from boka.booking.slots import find_slots
from boka.config import Settings
from boka.db import Database, create_engine
from boka.migrations import upgrade_to_head
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.identity import User
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Tenant

SERVER = os.environ.get("BOKA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
STAFF = 20
HISTORY = 10_000
REPEATS = 7


async def _admin(sql: str) -> None:
    dsn = make_url(SERVER).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _setup(database: Database) -> tuple[Service, list[StaffMember]]:
    async with database.transaction(write=True) as db:
        tenant = Tenant(name="Bench", slug="bench", time_zone="Europe/Berlin")
        db.add(tenant)
        await db.flush()
        service = Service(tenant_id=tenant.id, name="Cut", duration_minutes=45, price_cents=100,
                          currency="EUR", slot_interval_minutes=15, buffer_after_minutes=15,
                          max_advance_days=730)
        db.add(service)
        staff = []
        for index in range(STAFF):
            user = User(email=f"staff{index}@bench.example")
            db.add(user)
            await db.flush()
            member = StaffMember(tenant_id=tenant.id, user_id=user.id, display_name=f"S{index}",
                                 time_zone="Europe/Berlin")
            db.add(member)
            await db.flush()
            db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
            for weekday in range(6):
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                                   start_time=clock(9), end_time=clock(18)))
                db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                                   start_time=clock(12), end_time=clock(13), is_break=True))
            staff.append(member)
    return service, staff


async def _add_history(database: Database, service: Service, staff: list[StaffMember], start: datetime) -> None:
    rng = random.Random(7)
    async with database.transaction(write=True) as db:
        customer = Customer(tenant_id=service.tenant_id, email="c@bench.example")
        db.add(customer)
        await db.flush()
        taken: set[tuple[uuid.UUID, datetime]] = set()
        rows = []
        while len(rows) < HISTORY:
            member = rng.choice(staff)
            day = start + timedelta(days=rng.randrange(-365, 365))
            begin = day.replace(hour=8 + rng.randrange(8), minute=0, second=0, microsecond=0)
            if (member.id, begin) in taken:
                continue
            taken.add((member.id, begin))
            booking_id = uuid.uuid4()
            rows.append(Booking(
                id=booking_id, tenant_id=service.tenant_id, customer_id=customer.id,
                service_id=service.id, staff_id=member.id, status=BookingStatus.CONFIRMED,
                start_time=begin, end_time=begin + timedelta(minutes=45), block_start=begin,
                block_end=begin + timedelta(minutes=60), slot_key=private_slot_key(booking_id),
                price_cents=100, currency="EUR",
            ))
        db.add_all(rows)


async def _measure(database: Database, service: Service, window: TimeRange, now: datetime) -> tuple[float, int]:
    timings = []
    count = 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        async with database.transaction() as db:
            slots = await find_slots(db, service, window=window, now=now)
        timings.append(time.perf_counter() - started)
        count = len(slots)
    return statistics.median(timings), count


async def main() -> None:
    name = f"boka_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        database = Database(create_engine(Settings(database_url=url)))
        service, staff = await _setup(database)
        now = datetime(2027, 3, 1, tzinfo=UTC)
        window = TimeRange(now, now + timedelta(days=30))
        baseline, baseline_slots = await _measure(database, service, window, now)
        await _add_history(database, service, staff, now)
        loaded, loaded_slots = await _measure(database, service, window, now)
        await database.dispose()
        print(f"availability, 30-day window, {STAFF} staff (median of {REPEATS}):")
        print(f"  no bookings          {baseline * 1000:8.1f} ms  ({baseline_slots} slots)")
        print(f"  {HISTORY:,} bookings     {loaded * 1000:8.1f} ms  ({loaded_slots} slots)")
        print(f"  ratio                {loaded / baseline:8.2f}x")
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
