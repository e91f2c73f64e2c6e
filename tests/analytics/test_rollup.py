"""The daily rollup (PostgreSQL) answers exactly what the raw computation answers (the oracle,
``use_rollup=False``), on random booking histories in zones with DST changes (and half-hour
and 45-minute offsets), through random changes (cancellations, reschedules across days,
refunds, failed payments, deleted bookings, another customer), with the rollup refreshed
sometimes and sometimes left with dirty days; a changed tenant zone; and row level security
on the rollup tables."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from rq import Queue

from boka.analytics.figures import Tally
from boka.analytics.periods import Granularity, Period
from boka.analytics.queries import Reach
from boka.analytics.report import AnalyticsReport, analytics_report
from boka.analytics.rollup import refresh_rollup, rollup_figures
from boka.jobs.analytics import (
    refresh_analytics_rollup_job,
    refresh_dirty_rollups,
    refresh_tenant_rollup,
)
from boka.jobs.context import bind_runtime, unbind_runtime
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.payments import Payment, Refund
from boka.models.tenancy import Role, Tenant
from boka.web.app import create_app
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, settings_for
from tests.events.support import CREATE
from tests.support import GraphQLClient, World

# (zone, a day with a DST change in 2026) — Lord Howe moves by 30 minutes, Chatham is +12:45.
ZONES = [("Europe/Berlin", date(2026, 3, 29)), ("America/New_York", date(2026, 11, 1)),
         ("Australia/Lord_Howe", date(2026, 4, 5)), ("Pacific/Chatham", date(2026, 4, 5)),
         ("Asia/Kolkata", date(2026, 6, 1))]


def snapshot(report: AnalyticsReport) -> tuple[Any, ...]:
    """Every figure of a report: counts and money exact, seconds to the microsecond."""
    def tally(t: Tally) -> tuple[Any, ...]:
        return (sorted((s.value, n) for s, n in t.by_status.items() if n),
                sorted((c, r.gross, r.discounts, r.refunds) for c, r in t.revenue.items()),
                round(t.booked_seconds, 6), round(t.lead_seconds, 6), t.lead_count)

    return (tally(report.totals), [(day, tally(t)) for day, t in report.buckets],
            [(service.id, tally(t)) for service, t in report.services],
            [(s.member.id, tally(s.tally), round(s.booked_seconds, 6), s.working_seconds)
             for s in report.staff], report.new_customers, report.returning_customers)


class History:
    """A random tenant history and random changes to it, written through the ORM."""

    def __init__(self, world: World, tenant: Tenant, rng: random.Random, around: date) -> None:
        self.world, self.tenant, self.rng, self.around = world, tenant, rng, around
        self.staff: list[uuid.UUID] = []
        self.services: list[Service] = []
        self.customers: list[uuid.UUID] = []
        self.bookings: list[uuid.UUID] = []
        self.payments: list[uuid.UUID] = []
        # booking -> (staff member, start, end, slot key): active bookings of one staff
        # member may not overlap (ex_bookings_staff_overlap) unless they share a slot; kept
        # for every booking, so that any status change stays possible.
        self.taken: dict[uuid.UUID, tuple[uuid.UUID, datetime, datetime, str]] = {}

    def free(self, staff_id: uuid.UUID, start: datetime, end: datetime, slot_key: str,
             moving: uuid.UUID | None = None) -> bool:
        return not any(
            other != moving and s == staff_id and b < end and start < e and k != slot_key
            for other, (s, b, e, k) in self.taken.items())

    def transaction(self) -> Any:
        return self.world.runtime.database.transaction(self.tenant.id, write=True)

    async def open(self) -> None:
        users = [(await self.world.person(self.tenant, Role.STAFF)).user.id for _ in range(2)]
        async with self.transaction() as db:
            services = [Service(tenant_id=self.tenant.id, name=f"S{i}", duration_minutes=d,
                                price_cents=p, currency="EUR", capacity=c)
                        for i, (d, p, c) in enumerate([(60, 5000, 1), (45, 3000, 1),
                                                       (90, 2000, 6)])]
            staff = [StaffMember(tenant_id=self.tenant.id, display_name=f"M{i}", user_id=user,
                                 time_zone=self.tenant.time_zone) for i, user in enumerate(users)]
            customers = [Customer(tenant_id=self.tenant.id, email=f"c{i}@example.com")
                         for i in range(7)]
            db.add_all([*services, *staff, *customers])
            await db.flush()
            self.services = services
            self.staff = [member.id for member in staff]
            self.customers = [customer.id for customer in customers]

    def instant(self) -> datetime:
        """A random start within ten days of the DST change, at any quarter hour (UTC)."""
        base = datetime.combine(self.around - timedelta(days=5), time(0), UTC)
        return base + timedelta(minutes=15 * self.rng.randrange(10 * 96))

    async def add_bookings(self, count: int) -> None:
        rng = self.rng
        async with self.transaction() as db:
            for _ in range(count):
                service = rng.choice(self.services)
                start = self.instant()
                booking_id = uuid.uuid4()
                group = service.capacity > 1
                slot_key = (f"{service.id}:{self.staff[0]}:{start.isoformat()}" if group
                            else str(booking_id))
                staff_id = self.staff[0] if group else rng.choice(self.staff)
                end = start + timedelta(minutes=service.duration_minutes)
                if not self.free(staff_id, start, end, slot_key):
                    continue
                self.taken[booking_id] = (staff_id, start, end, slot_key)
                listed = service.price_cents
                db.add(Booking(
                    id=booking_id, tenant_id=self.tenant.id, customer_id=rng.choice(self.customers),
                    service_id=service.id, staff_id=staff_id,
                    status=rng.choice(list(BookingStatus)), start_time=start,
                    end_time=start + timedelta(minutes=service.duration_minutes),
                    block_start=start, block_end=end,
                    slot_key=slot_key, price_cents=listed - rng.choice([0, 0, 250]),
                    list_price_cents=rng.choice([listed, listed, None]),
                    currency=rng.choice(["EUR", "EUR", "USD"]),
                    created_at=start - timedelta(seconds=rng.randrange(1, 10**6),
                                                 microseconds=rng.randrange(10**6)),
                ))
                self.bookings.append(booking_id)
            await db.flush()
            for booking_id in rng.sample(self.bookings, min(len(self.bookings), count // 3)):
                await self.add_money(db, booking_id)

    async def add_money(self, db: Any, booking_id: uuid.UUID) -> None:
        rng = self.rng
        used = (await db.execute(sa.select(Payment).where(Payment.booking_id == booking_id))
                ).scalars().all()
        kinds = [kind for kind in ("booking", "no_show_fee") if kind not in {p.kind for p in used}]
        if not kinds:  # both kinds paid: one changes its status instead
            paid = rng.choice(used)
            paid.status = "failed" if paid.status == "succeeded" else "succeeded"
            return
        payment = Payment(tenant_id=self.tenant.id, booking_id=booking_id, kind=kinds[0],
                          provider="offline", amount_cents=rng.choice([1000, 2500]),
                          currency=rng.choice(["EUR", "USD"]),
                          status=rng.choice(["succeeded", "succeeded", "failed"]))
        db.add(payment)
        await db.flush()
        self.payments.append(payment.id)
        if rng.random() < 0.5:
            db.add(Refund(tenant_id=self.tenant.id, payment_id=payment.id, booking_id=booking_id,
                          idempotency_key=uuid.uuid4().hex, provider="offline",
                          amount_cents=rng.choice([1, 500, 1000]), currency=payment.currency,
                          status=rng.choice(["manual", "succeeded", "failed"]),
                          reason="test"))

    async def change(self) -> str:
        """One random change in its own transaction; what it was."""
        rng = self.rng
        kind = rng.choice(["cancel", "reschedule", "refund", "payment", "delete", "customer",
                           "status", "add"])
        if kind == "add":
            await self.add_bookings(rng.randrange(1, 4))
            return kind
        async with self.transaction() as db:
            booking = await db.get(Booking, rng.choice(self.bookings))
            assert booking is not None
            if kind == "cancel":
                booking.status = BookingStatus.CANCELLED
            elif kind == "status":
                booking.status = rng.choice(list(BookingStatus))
            elif kind == "reschedule":  # by whole days too: to another local day
                shift = timedelta(minutes=15 * rng.randrange(-200, 200))
                moved = booking.start_time + shift
                key = (f"{booking.slot_key}:{moved.isoformat()}" if ":" in booking.slot_key
                       else booking.slot_key)  # a seat moved alone: a session of its own
                end = booking.end_time + shift
                if not self.free(booking.staff_id, moved, end, key, booking.id):
                    return "nothing"
                self.taken[booking.id] = (booking.staff_id, moved, end, key)
                booking.slot_key = key
                booking.start_time += shift
                booking.end_time += shift
                booking.block_start += shift
                booking.block_end += shift
            elif kind in ("refund", "payment"):
                await self.add_money(db, booking.id)
            elif kind == "customer":
                booking.customer_id = rng.choice(self.customers)
            else:
                await db.execute(sa.delete(Refund).where(Refund.booking_id == booking.id))
                await db.execute(sa.delete(Payment).where(Payment.booking_id == booking.id))
                await db.delete(booking)
                self.bookings.remove(booking.id)
                del self.taken[booking.id]
        return kind

    async def refresh(self, *, rebuild: bool = False) -> int:
        async with self.transaction() as db:
            return await refresh_rollup(db, self.tenant.id, rebuild=rebuild)

    def periods(self, zone: str) -> list[Period]:
        rng = self.rng
        around = self.around
        chosen = [Period.of(around - timedelta(days=6), around + timedelta(days=6), zone,
                            Granularity.DAY)]
        def month_start(day: date) -> date:
            return day.replace(day=1)

        def month_end(day: date) -> date:
            return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)

        # Whole months (the staff figures from month rows, or days where a day is dirty), and
        # a period from mid-month to a month's end.
        chosen.append(Period.of(month_start(around - timedelta(days=10)),
                                month_end(around + timedelta(days=10)), zone,
                                rng.choice(list(Granularity))))
        chosen.append(Period.of(around - timedelta(days=rng.randrange(3, 20)),
                                month_end(around + timedelta(days=10)), zone,
                                rng.choice(list(Granularity))))
        for _ in range(3):
            first = around + timedelta(days=rng.randrange(-8, 6))
            last = first + timedelta(days=rng.randrange(0, 12))
            chosen.append(Period.of(first, last, zone, rng.choice(list(Granularity))))
        return chosen

    async def check(self, *, expect_rollup: bool = True) -> None:
        """The rollup's report equals the raw computation's for random periods and reaches."""
        zone = self.tenant.time_zone
        for period in self.periods(zone):
            for reach in (Reach(self.tenant.id), Reach(self.tenant.id, (self.staff[0],))):
                async with self.transaction() as db:
                    if expect_rollup:
                        assert await rollup_figures(db, reach, period) is not None
                    rolled = await analytics_report(db, reach, period)
                    raw = await analytics_report(db, reach, period, use_rollup=False)
                assert snapshot(rolled) == snapshot(raw), (period, reach)


@pytest.mark.parametrize("seed", range(len(ZONES)))
async def test_rollup_equals_the_raw_computation(app: Any, seed: int) -> None:
    rng = random.Random(seed)
    zone, around = ZONES[seed]
    world = World(app.state.runtime)
    tenant = await world.tenant(f"rollup{seed}", time_zone=zone)
    history = History(world, tenant, rng, around)
    await history.open()
    # Not built yet: the raw computation answers.
    async with history.transaction() as db:
        period = Period.of(around, around, zone, Granularity.DAY)
        assert await rollup_figures(db, Reach(tenant.id), period) is None
    await history.add_bookings(40)
    await history.refresh()  # the first refresh builds it whole
    await history.check()
    for round_ in range(12):
        await history.change()
        if rng.random() < 0.5:
            await history.refresh()
        await history.check()
    assert await history.refresh(rebuild=True) == -1  # the repair path gives the same
    await history.check()


async def test_a_changed_zone_is_answered_raw_until_rebuilt(app: Any) -> None:
    world = World(app.state.runtime)
    tenant = await world.tenant("rollupzone", time_zone="Europe/Berlin")
    history = History(world, tenant, random.Random(7), date(2026, 3, 29))
    await history.open()
    await history.add_bookings(30)
    await history.refresh()
    async with world.runtime.database.transaction(write=True) as db:
        row = await db.get(Tenant, tenant.id)
        assert row is not None
        row.time_zone = "America/New_York"
    history.tenant.time_zone = "America/New_York"
    await history.check(expect_rollup=False)  # the rollup's days are Berlin's: not used
    assert await refresh_tenant_rollup(world.runtime, tenant.id) == "rebuilt"
    await history.check()


async def test_writes_mark_days_and_the_refresh_folds_them(app: Any) -> None:
    world = World(app.state.runtime)
    tenant = await world.tenant("rollupmarks", time_zone="Europe/Berlin")
    history = History(world, tenant, random.Random(11), date(2026, 3, 29))
    await history.open()
    await history.add_bookings(10)
    await history.refresh()
    async with history.transaction() as db:
        marks = (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))).scalar()
    assert marks == 0
    await history.change()
    async with history.transaction() as db:
        marks = (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))).scalar()
    assert marks >= 1
    assert await history.refresh() >= 3  # each UTC date marked: three local days
    await history.check()


async def test_the_rollup_tables_keep_tenants_apart(app: Any) -> None:
    world = World(app.state.runtime)
    histories = []
    for slug in ("rlsa", "rlsb"):
        tenant = await world.tenant(slug, time_zone="Europe/Berlin")
        history = History(world, tenant, random.Random(slug), date(2026, 3, 29))
        await history.open()
        await history.add_bookings(8)
        await history.refresh()
        histories.append(history)
    a, b = histories
    async with a.transaction() as db:
        for table in ("analytics_daily", "analytics_customer_visits", "analytics_rollup_state",
                      "analytics_dirty_days"):
            seen = set((await db.execute(sa.text(f"SELECT DISTINCT tenant_id FROM {table}")))
                       .scalars())
            assert seen <= {a.tenant.id}, table
        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            async with db.begin_nested():
                await db.execute(sa.text(
                    "INSERT INTO analytics_dirty_days (tenant_id, utc_day) "
                    "VALUES (:tenant, '2030-01-01')"), {"tenant": b.tenant.id})


async def test_a_write_committed_during_a_refresh_stays_marked(app: Any) -> None:
    """A refresh recomputes a marked day while a writer's booking on that day is not yet
    committed: the writer's mark (its generation bumped) outlives the refresh, so the day keeps
    being read raw, and the report stays exact."""
    world = World(app.state.runtime)
    tenant = await world.tenant("rollupraces", time_zone="Europe/Berlin")
    history = History(world, tenant, random.Random(5), date(2026, 3, 29))
    await history.open()
    await history.add_bookings(10)
    await history.refresh()
    day = datetime(2026, 3, 27, 12, tzinfo=UTC)
    await history.change()  # something marked: the refresh below has work
    async with history.transaction() as db:  # and 27 March is marked, committed
        await db.execute(sa.text(
            "INSERT INTO analytics_dirty_days (tenant_id, utc_day) VALUES (:t, '2026-03-27') "
            "ON CONFLICT DO NOTHING"), {"t": tenant.id})
    service = history.services[0]
    async with history.transaction() as writer:
        writer.add(Booking(
            tenant_id=tenant.id, customer_id=history.customers[0], service_id=service.id,
            staff_id=history.staff[1], status=BookingStatus.COMPLETED, start_time=day,
            end_time=day + timedelta(hours=1), block_start=day,
            block_end=day + timedelta(hours=1), slot_key=str(uuid.uuid4()),
            price_cents=5000, list_price_cents=5000, currency="EUR", created_at=day))
        await writer.flush()  # the trigger bumped 27 March's generation; not committed
        refresh = asyncio.create_task(history.refresh())
        await asyncio.sleep(0.5)
        assert not refresh.done()  # waiting for the writer's mark
    assert await refresh >= 3
    async with history.transaction() as db:
        marked = (await db.execute(sa.text(
            "SELECT utc_day FROM analytics_dirty_days WHERE utc_day = '2026-03-27'"))).all()
    assert len(marked) == 1
    await history.check()
    await history.refresh()
    await history.check()


async def test_the_sweep_refreshes_every_tenant_with_dirty_days(app: Any) -> None:
    world = World(app.state.runtime)
    histories = []
    for slug in ("sweepa", "sweepb"):
        tenant = await world.tenant(slug, time_zone="Europe/Berlin")
        history = History(world, tenant, random.Random(slug), date(2026, 3, 29))
        await history.open()
        await history.add_bookings(6)
        histories.append(history)
    assert await refresh_dirty_rollups(world.runtime) >= 2
    for history in histories:
        async with history.transaction() as db:
            assert (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))
                    ).scalar() == 0
        await history.check()


@pytest.fixture
async def relayed(app: Any, postgres_url: str) -> AsyncIterator[Any]:
    """An app with its relay (events reach the consumers); ``app`` empties the tables after."""
    application = create_app(settings_for(postgres_url, relay_in_app=True))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_booking_made_over_graphql_reaches_the_rollup_through_the_outbox(
    relayed: Any,
) -> None:
    """createBooking marks its day (trigger); the relay's consumer enqueues the refresh job
    for the tenant (on Redis); the job, run as a worker would, folds the day in."""
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    runtime = relayed.state.runtime
    world = World(runtime)
    tenant = await world.tenant("rollupflow", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=relayed),
                                 base_url="http://t") as client:
        booked = await GraphQLClient(client)(CREATE, {"input": {
            "serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
            "customer": {"email": "c@example.com"}}}, token=owner.token, tenant="rollupflow")
    assert booked.data["createBooking"]["errors"] == []
    async with runtime.database.transaction(tenant.id) as db:
        assert (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))
                ).scalar() == 1

    queue = Queue("low", connection=connection)

    def refresh_jobs() -> list[Any]:
        jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids if job_id.startswith("rollup-")]
        return [job for job in jobs if job is not None and job.args == (str(tenant.id),)]

    deadline = asyncio.get_running_loop().time() + 10
    while not refresh_jobs():
        assert asyncio.get_running_loop().time() < deadline, "no refresh job was enqueued"
        await asyncio.sleep(0.05)
    job = refresh_jobs()[0]
    assert job.func_name == "boka.jobs.analytics.refresh_analytics_rollup_job"
    token = bind_runtime(runtime)  # as the worker does: its jobs share its Runtime
    try:
        assert await refresh_analytics_rollup_job(*job.args) == "rebuilt"  # its first refresh
    finally:
        unbind_runtime(token)
    async with runtime.database.transaction(tenant.id) as db:
        assert (await db.execute(sa.text("SELECT count(*) FROM analytics_dirty_days"))
                ).scalar() == 0
        assert (await db.execute(sa.text(
            "SELECT sum(bookings) FROM analytics_daily WHERE grain = 'service'"))).scalar() == 1


async def test_more_dirty_customers_than_a_statement_takes_parameters(app: Any) -> None:
    """40,000 customers booked after the last refresh (a bulk import): every one of them is
    counted from the bookings, in one array parameter (asyncpg takes at most 32,767), and the
    report still equals the raw computation's."""
    world = World(app.state.runtime)
    tenant = await world.tenant("rollupbulk", time_zone="Europe/Berlin")
    history = History(world, tenant, random.Random(3), date(2026, 3, 29))
    await history.open()
    await history.add_bookings(5)
    await history.refresh()
    async with history.transaction() as db:
        await db.execute(sa.text("""
            WITH made AS (
                INSERT INTO customers (id, tenant_id, email, first_name, last_name, preferences,
                                       created_at)
                SELECT gen_random_uuid(), :tenant, 'bulk' || k || '@example.com', '', '', '{}',
                       now()
                FROM generate_series(1, 40000) AS k RETURNING id)
            INSERT INTO bookings (id, tenant_id, customer_id, service_id, staff_id, status,
                start_time, end_time, block_start, block_end, slot_key, seats, price_cents,
                list_price_cents, currency, notes, created_at, updated_at)
            SELECT b.id, :tenant, b.customer, :service, :staff, 'completed', b.t,
                   b.t + interval '1 hour', b.t, b.t + interval '1 hour', b.id::text, 1, 5000,
                   5000, 'EUR', '', b.t - interval '1 day', b.t - interval '1 day'
            FROM (SELECT gen_random_uuid() AS id, id AS customer,
                         timestamptz '2026-03-20 08:00Z'
                           + (row_number() OVER ()) % 20 * interval '1 day' AS t
                  FROM made) AS b"""),
            {"tenant": tenant.id, "service": history.services[0].id, "staff": history.staff[1]})
    period = Period.of(date(2026, 3, 1), date(2026, 4, 30), tenant.time_zone, Granularity.MONTH)
    async with history.transaction() as db:
        rolled = await analytics_report(db, Reach(tenant.id), period)
        raw = await analytics_report(db, Reach(tenant.id), period, use_rollup=False)
    assert rolled.new_customers + rolled.returning_customers > 40000
    assert snapshot(rolled) == snapshot(raw)
