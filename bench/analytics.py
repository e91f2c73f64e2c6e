"""Benchmark (issue 17, item 1): analytics of a busy tenant on PostgreSQL.

    .venv/bin/python -m bench.analytics       this benchmark's rows
    make bench BENCH_ARGS=analytics           the same, in `make bench`'s table

Needs PostgreSQL (BOKA_TEST_DATABASE_URL). One throwaway database holds one salon: 60 staff
who each take a 45-minute booking every hour from 08:00 to 18:00 every day, 5 services, 30,000
customers; 8 % of bookings cancelled, 5 % no-shows, 10 % discounted, 10 % paid up front (half
refunded when cancelled). Bookings are written as the owner with INSERT ... SELECT
generate_series (seconds for hundreds of thousands), then ANALYZE, as autovacuum would.
Boka reads as the app role under row level security; each figure is the median of interleaved
rounds of ``analytics_report()`` (every figure of the GraphQL query: its SQL and the arithmetic),
wall time and CPU time of this process.

* flat in history: November 2026 (19,800 bookings), first with ~10,000 bookings of history
  (the 15 days before it), then with a whole year of them (221,100 more); target <= 1.5x.
* the month, and the year (Dec 2025 - Nov 2026: 240,900 bookings) by day and by month, with
  the whole history; target p50 <= 200 ms.

The report comes from the daily rollup (migration 0018, boka/analytics/rollup.py). The inserts
go through its triggers (every day they touch is marked dirty); the bench then folds the marks
into the rollup with ``analytics_rollup_refresh`` (what the refresh job does after each booking
event; timed) and ANALYZEs, as autovacuum would. Each figure is compared, in the same run and
rounds, with the raw computation (``use_rollup=False``: the SQL over the bookings themselves,
the answer before the rollup) and with ``count(*)``; the reports of both must be equal.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import asyncpg
import sqlalchemy as sa

from bench.harness import BenchDatabase, asyncpg_dsn, throwaway_database
from bench.table import Row, render
from boka.analytics.figures import Tally
from boka.analytics.periods import Granularity, Period
from boka.analytics.queries import Reach
from boka.analytics.report import AnalyticsReport, analytics_report
from boka.db import Database, create_engine
from boka.models.bookings import Booking
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.identity import User
from boka.models.schedules import WeeklyHours
from boka.tenancy import create_tenant

ZONE = "Europe/Berlin"
STAFF = 60
SERVICES = 5
CUSTOMERS = 30_000
HOURS = 11  # 08:00 to 18:00 (UTC; the local hour moves with DST, which matters not here)
YEAR = (date(2025, 12, 1), date(2026, 11, 30))
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
SHORT_HISTORY_DAYS = 15  # 60 x 11 x 15 = 9,900 bookings before the month
GOAL_MS = 200
FLAT_GOAL = 1.5


@dataclass(frozen=True)
class Salon:
    tenant_id: uuid.UUID
    staff_ids: list[uuid.UUID]
    service_ids: list[uuid.UUID]
    customer_ids: list[uuid.UUID]


@dataclass
class Samples:
    """Seconds per run: wall clock, CPU of this process, CPU of the database backend that ran
    the statements (from /proc: the machine is shared, so CPU is the steadier figure)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    db_cpu: list[float] = field(default_factory=list)

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(a + b for a, b in zip(self.cpu, self.db_cpu, strict=True)) * 1000

    def describe(self) -> str:
        return (f"{self.wall_ms:.0f} ms (CPU {self.cpu_ms:.0f} ms: app "
                f"{statistics.median(self.cpu) * 1000:.0f} + PostgreSQL "
                f"{statistics.median(self.db_cpu) * 1000:.0f})")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _open_salon(bench: BenchDatabase) -> Salon:
    database = Database(create_engine(bench.settings(database_url=bench.owner_url)))
    try:
        async with database.transaction(write=True) as db:
            tenant = await create_tenant(db, name="Busy", slug="busy", time_zone=ZONE)
            services = [Service(tenant_id=tenant.id, name=f"Service {i}", duration_minutes=45,
                                price_cents=5000, currency="EUR") for i in range(SERVICES)]
            db.add_all(services)
            staff_ids = []
            for index in range(STAFF):
                user = User(email=f"staff{index}@busy.example")
                db.add(user)
                await db.flush()
                member = StaffMember(tenant_id=tenant.id, user_id=user.id,
                                     display_name=f"Staff {index:02d}", time_zone=ZONE)
                db.add(member)
                await db.flush()
                for service in services:
                    db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id,
                                        service_id=service.id))
                for weekday in range(7):
                    db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id,
                                       weekday=weekday, start_time=clock(8), end_time=clock(19)))
                staff_ids.append(member.id)
            await db.flush()
            tenant_id, service_ids = tenant.id, [service.id for service in services]
    finally:
        await database.dispose()
    connection = await asyncpg.connect(asyncpg_dsn(bench.owner_url))
    try:
        customer_ids = [row[0] for row in await connection.fetch(
            """INSERT INTO customers (id, tenant_id, email, first_name, last_name, preferences,
                                      created_at)
               SELECT gen_random_uuid(), $1, 'c' || k || '@busy.example', '', '', '{}', now()
               FROM generate_series(1, $2::int) AS k RETURNING id""", tenant_id, CUSTOMERS)]
    finally:
        await connection.close()
    return Salon(tenant_id, staff_ids, service_ids, customer_ids)


async def _add_bookings(bench: BenchDatabase, salon: Salon, first: date, last: date) -> int:
    """Every staff member's hourly bookings on the days first..last, with their payments and
    refunds; how many bookings."""
    days = (last - first).days + 1
    base = datetime.combine(first, clock(8), UTC)
    connection = await asyncpg.connect(asyncpg_dsn(bench.owner_url))
    try:
        async with connection.transaction():
            await connection.execute(
                """
                INSERT INTO bookings (id, tenant_id, customer_id, service_id, staff_id, status,
                    start_time, end_time, block_start, block_end, slot_key, seats, price_cents,
                    list_price_cents, currency, notes, created_at, updated_at)
                SELECT b.id, $1, ($2::uuid[])[1 + (b.n * 7919) % $3], ($4::uuid[])[1 + b.n % $5],
                       b.staff_id,
                       CASE WHEN b.n % 100 < 8 THEN 'cancelled' WHEN b.n % 100 < 13 THEN 'no_show'
                            ELSE 'completed' END,
                       b.t, b.t + interval '45 minutes', b.t, b.t + interval '45 minutes',
                       b.id::text, 1, CASE WHEN b.n % 10 = 3 THEN 4500 ELSE 5000 END, 5000, 'EUR',
                       '', b.t - (b.n % 400) * interval '1 hour',
                       b.t - (b.n % 400) * interval '1 hour'
                FROM (
                    SELECT gen_random_uuid() AS id, s.staff_id,
                           $7::timestamptz + d * interval '1 day' + h * interval '1 hour' AS t,
                           ((d * $9 + h) * 61 + s.i)::bigint AS n
                    FROM unnest($6::uuid[]) WITH ORDINALITY AS s(staff_id, i),
                         generate_series(0, $8::int - 1) AS d, generate_series(0, $9::int - 1) AS h
                ) AS b
                """,
                salon.tenant_id, salon.customer_ids, len(salon.customer_ids), salon.service_ids,
                len(salon.service_ids), salon.staff_ids, base, days, HOURS,
            )
            end = base + timedelta(days=days)
            await connection.execute(
                """
                INSERT INTO payments (id, tenant_id, booking_id, kind, provider, amount_cents,
                                      currency, status, succeeded_at, created_at, updated_at)
                SELECT gen_random_uuid(), tenant_id, id, 'booking', 'offline', price_cents,
                       currency, 'succeeded', created_at, created_at, created_at
                FROM bookings
                WHERE tenant_id = $1 AND start_time >= $2 AND start_time < $3
                  AND abs(hashtext(id::text)) % 10 = 0
                """, salon.tenant_id, base, end)
            await connection.execute(
                """
                INSERT INTO refunds (id, tenant_id, payment_id, booking_id, idempotency_key,
                                     provider, amount_cents, currency, status, reason,
                                     created_at, updated_at)
                SELECT gen_random_uuid(), p.tenant_id, p.id, p.booking_id, 'r' || p.id,
                       'offline', p.amount_cents / 2, p.currency, 'manual', 'cancelled',
                       b.start_time, b.start_time
                FROM payments p JOIN bookings b ON b.id = p.booking_id
                WHERE b.tenant_id = $1 AND b.start_time >= $2 AND b.start_time < $3
                  AND b.status = 'cancelled'
                """, salon.tenant_id, base, end)
        await connection.execute("VACUUM ANALYZE bookings, payments, refunds, customers")
    finally:
        await connection.close()
    return STAFF * HOURS * days


async def _refresh_rollup(bench: BenchDatabase, salon: Salon) -> float:
    """Fold the dirty days the inserts marked into the rollup, as the refresh job does; seconds."""
    connection = await asyncpg.connect(asyncpg_dsn(bench.owner_url))
    try:
        started = time.perf_counter()
        await connection.execute("SELECT analytics_rollup_refresh($1)", salon.tenant_id)
        took = time.perf_counter() - started
        await connection.execute("ANALYZE analytics_daily, analytics_customer_visits")
    finally:
        await connection.close()
    return took


async def _measure(database: Database, salon: Salon, periods: dict[str, Period],
                   *, rounds: int = 7) -> tuple[dict[str, Samples], dict[str, AnalyticsReport]]:
    """Each period's report, and the floor: counting the period's bookings (one index range
    scan, nothing computed), in turns."""
    names = [*periods, *(f"{name}: raw" for name in periods),
             *(f"{name}: count" for name in periods)]
    samples = {name: Samples() for name in names}
    reports: dict[str, AnalyticsReport] = {}
    reach = Reach(salon.tenant_id)

    async def run(name: str, samples: Samples | None) -> None:
        period = periods[name.removesuffix(": count").removesuffix(": raw")]
        async with database.transaction(salon.tenant_id) as db:
            backend = (await db.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            wall, cpu, db_cpu = time.perf_counter(), time.process_time(), _cpu_of(backend)
            if name.endswith(": count"):
                window = period.window
                await db.execute(sa.select(sa.func.count()).select_from(Booking).where(
                    Booking.tenant_id == salon.tenant_id, Booking.start_time >= window.start,
                    Booking.start_time < window.end))
            else:
                reports[name] = await analytics_report(db, reach, period,
                                                       use_rollup=not name.endswith(": raw"))
            if samples is not None:
                samples.wall.append(time.perf_counter() - wall)
                samples.cpu.append(time.process_time() - cpu)
                samples.db_cpu.append(_cpu_of(backend) - db_cpu)

    for name in names:  # warm up
        await run(name, None)
    for _ in range(rounds):
        for name in names:
            await run(name, samples[name])
    return samples, reports


def _period(span: tuple[date, date], granularity: Granularity) -> Period:
    return Period.of(span[0], span[1], ZONE, granularity)


async def _run(bench: BenchDatabase) -> list[Row]:
    salon = await _open_salon(bench)
    month_bookings = await _add_bookings(bench, salon, *MONTH)
    short = await _add_bookings(bench, salon, MONTH[0] - timedelta(days=SHORT_HISTORY_DAYS),
                                MONTH[0] - timedelta(days=1))
    await _refresh_rollup(bench, salon)
    database = Database(create_engine(bench.settings()))
    try:
        month = {"month": _period(MONTH, Granularity.DAY)}
        before, reports = await _measure(database, salon, month)
        started = time.perf_counter()
        rest = await _add_bookings(bench, salon, YEAR[0], MONTH[0] - timedelta(
            days=SHORT_HISTORY_DAYS + 1))
        insert_seconds = time.perf_counter() - started
        refresh_seconds = await _refresh_rollup(bench, salon)
        periods = {
            "month": _period(MONTH, Granularity.DAY),
            "year by day": _period(YEAR, Granularity.DAY),
            "year by month": _period(YEAR, Granularity.MONTH),
        }
        after, reports_after = await _measure(database, salon, periods)
    finally:
        await database.dispose()
    history = short + rest
    if reports["month"].totals.total != month_bookings or (
            reports_after["month"].totals.total != month_bookings):
        raise RuntimeError("the month's bookings are not what was written")
    year = reports_after["year by day"]
    if year.totals.total != month_bookings + history:
        raise RuntimeError(f"the year holds {year.totals.total:,} bookings, "
                           f"not {month_bookings + history:,}")
    for name in periods:
        if _figures(reports_after[name]) != _figures(reports_after[f"{name}: raw"]):
            raise RuntimeError(f"{name}: the rollup's report differs from the raw computation's")
    small, big = before["month"], after["month"]
    net = year.totals.revenue["EUR"].net / 100

    def against_count(name: str) -> tuple[str, float]:
        raw, floor = after[f"{name}: raw"], after[f"{name}: count"]
        return (f"raw computation (no rollup): {raw.describe()}; count(*) of its bookings: "
                f"{floor.describe()}", raw.wall_ms / after[name].wall_ms)

    return [
        Row("17 analytics, history",
            f"Nov 2026 ({month_bookings:,} bookings) with {history:,} of history: "
            f"p50 {big.describe()}",
            f"with {short:,} of history: {small.describe()}", small.wall_ms / big.wall_ms,
            f">= {1 / FLAT_GOAL:.2f}x ({FLAT_GOAL}x at most)",
            big.wall_ms <= FLAT_GOAL * small.wall_ms),
        Row("17 analytics, month",
            f"Nov 2026 by day, every figure: p50 {big.describe()}", *against_count("month"),
            f"p50 <= {GOAL_MS} ms", big.wall_ms <= GOAL_MS),
        Row("17 analytics, year",
            f"Dec 2025-Nov 2026 by day ({year.totals.total:,} bookings, net {net:,.0f} EUR): "
            f"p50 {after['year by day'].describe()}", *against_count("year by day"),
            f"p50 <= {GOAL_MS} ms", after["year by day"].wall_ms <= GOAL_MS),
        Row("17 analytics, year",
            f"the same by month: p50 {after['year by month'].describe()}",
            *against_count("year by month"), f"p50 <= {GOAL_MS} ms",
            after["year by month"].wall_ms <= GOAL_MS),
        Row("17 analytics, setup",
            f"{rest:,} bookings with payments and refunds inserted in {insert_seconds:.0f} s "
            f"(rollup triggers marking their days included); the rollup refresh of those "
            f"{(YEAR[1] - YEAR[0]).days + 1 - 30 - SHORT_HISTORY_DAYS} dirty days: "
            f"{refresh_seconds:.1f} s", "-", None, "-", None),
    ]


def _figures(report: AnalyticsReport) -> tuple[object, ...]:
    """Every figure of a report, to compare the rollup's with the raw computation's."""
    def tally(t: Tally) -> tuple[object, ...]:
        return (sorted(t.by_status.items()), sorted(
            (c, r.gross, r.discounts, r.refunds) for c, r in t.revenue.items()),
            round(t.booked_seconds, 3), round(t.lead_seconds, 3), t.lead_count)

    return (tally(report.totals), [(day, tally(t)) for day, t in report.buckets],
            [(service.id, tally(t)) for service, t in report.services],
            [(s.member.id, tally(s.tally), round(s.booked_seconds, 3), s.working_seconds)
             for s in report.staff], report.new_customers, report.returning_customers)


def measure() -> list[Row]:
    with throwaway_database() as bench:
        return asyncio.run(_run(bench))


if __name__ == "__main__":
    print(render(measure()))
