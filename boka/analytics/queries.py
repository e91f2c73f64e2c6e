"""The SQL behind analytics: a few aggregates over the bookings that start in the period, each
an indexed range scan (tenant, start time) or (staff member, start time), so the cost follows
the period, not the history. SQLAlchemy core; the same statements run on PostgreSQL and SQLite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from boka.analytics.periods import Period, as_date, bucket_expression
from boka.booking.availability import TimeRange
from boka.models.bookings import Booking, BookingStatus
from boka.models.payments import Payment, PaymentStatus, Refund, RefundStatus

CANCELLED = BookingStatus.CANCELLED
# A class session's bookings share a slot_key with a colon ('session:<id>', or group_slot_key's),
# a private booking's is its id. Written as the partial index ix_bookings_class_sessions says, so PostgreSQL can use it.
IN_CLASS_SESSION = Booking.slot_key.like(sa.literal_column("'%:%'"))
# Cancelled and no-show bookings bring in what was collected, not their price.
COLLECTED_ONLY = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)


@dataclass(frozen=True)
class Reach:
    """Whose bookings: the tenant's, or only those of some staff members (a staff member's own)."""

    tenant_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...] | None = None  # None: every staff member's


@dataclass(frozen=True)
class BookingGroup:
    """Bookings of one status and currency and of one bucket, service or staff member, or of
    one of each (None: all of them)."""

    bucket: date | None
    service_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    status: BookingStatus
    currency: str
    count: int
    list_cents: int
    charged_cents: int
    private_seconds: float  # appointments' length; group sessions are counted apart
    lead_seconds: float  # the sum of (start - booked at)


@dataclass(frozen=True)
class MoneyGroup:
    """Money collected on cancelled and no-show bookings, and refunds, of one bucket, service,
    staff member and currency (the rollup's: of one of the three, None for the others)."""

    bucket: date | None
    service_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    currency: str
    collected_cents: int
    refunded_cents: int


def _in_period(reach: Reach, period: Period, table: Any = Booking,
               windows: list[TimeRange] | None = None) -> sa.ColumnElement[bool]:
    """The reach's bookings that start in the period, or (``windows``) in some parts of it
    (a slot hold nobody booked is no booking: boka/booking/holds.py)."""
    ranges = [period.window] if windows is None else windows
    clauses = [table.tenant_id == reach.tenant_id, table.customer_id.is_not(None), sa.or_(*(
        sa.and_(table.start_time >= window.start, table.start_time < window.end)
        for window in ranges))]
    if reach.staff_ids is not None:
        clauses.append(table.staff_id.in_(reach.staff_ids))
    return sa.and_(*clauses)


def duration(later: Any, earlier: Any, dialect: str) -> sa.ColumnElement[Any]:
    """``later - earlier``: an interval on PostgreSQL (summing intervals is cheaper than
    summing their epochs), seconds on SQLite; ``seconds`` reads either."""
    if dialect == "postgresql":
        return later - earlier
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def seconds(value: timedelta | float | None) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _dialect(db: AsyncSession) -> str:
    return db.bind.dialect.name


async def booking_groups(db: AsyncSession, reach: Reach, period: Period,
                         windows: list[TimeRange] | None = None) -> list[BookingGroup]:
    dialect = _dialect(db)
    private = sa.not_(IN_CLASS_SESSION)
    rows = sa.select(
        bucket_expression(Booking.start_time, period, dialect).label("bucket"),
        Booking.service_id, Booking.staff_id, Booking.status, Booking.currency,
        sa.func.coalesce(Booking.list_price_cents, Booking.price_cents).label("list_cents"),
        Booking.price_cents.label("charged_cents"),
        sa.case((private, duration(Booking.end_time, Booking.start_time, dialect)),
                else_=None).label("private_seconds"),
        duration(Booking.start_time, Booking.created_at, dialect).label("lead_seconds"),
    ).where(_in_period(reach, period, windows=windows)).subquery()
    # Grouped outside: PostgreSQL would not match the bucket expression's parameters twice.
    # On PostgreSQL by bucket, by service and by staff member apart (grouping sets): a year by
    # day is some thousand groups, not every combination of the three.
    keys = (rows.c.status, rows.c.currency)
    if dialect == "postgresql":
        grouping = sa.func.grouping_sets(
            sa.tuple_(rows.c.bucket, *keys), sa.tuple_(rows.c.service_id, *keys),
            sa.tuple_(rows.c.staff_id, *keys))
        statement = sa.select(
            rows.c.bucket, rows.c.service_id, rows.c.staff_id, *keys, *_booking_sums(rows)
        ).group_by(grouping)
    else:
        statement = sa.select(
            rows.c.bucket, rows.c.service_id, rows.c.staff_id, *keys, *_booking_sums(rows)
        ).group_by(rows.c.bucket, rows.c.service_id, rows.c.staff_id, *keys)
    return [
        BookingGroup(None if bucket is None else as_date(bucket), service_id, staff_id,
                     BookingStatus(status), currency,
                     count, int(listed or 0), int(charged or 0), seconds(private),
                     seconds(lead))
        for bucket, service_id, staff_id, status, currency, count, listed, charged, private, lead
        in await db.execute(statement)
    ]


def _booking_sums(rows: Any) -> list[sa.ColumnElement[Any]]:
    return [sa.func.count(), sa.func.sum(rows.c.list_cents), sa.func.sum(rows.c.charged_cents),
            sa.func.sum(rows.c.private_seconds), sa.func.sum(rows.c.lead_seconds)]


async def money_groups(db: AsyncSession, reach: Reach, period: Period,
                         windows: list[TimeRange] | None = None) -> list[MoneyGroup]:
    """Payments collected on cancelled and no-show bookings (what they bring in), and refunds
    (not failed) of every booking, in one statement."""
    bucket = bucket_expression(Booking.start_time, period, _dialect(db)).label("bucket")
    collected = (
        sa.select(bucket, Booking.service_id, Booking.staff_id, Payment.currency,
                  Payment.amount_cents.label("collected"), sa.literal(0).label("refunded"))
        .join(Payment, Payment.booking_id == Booking.id)
        .where(_in_period(reach, period, windows=windows), Booking.status.in_(COLLECTED_ONLY),
               Payment.status == PaymentStatus.SUCCEEDED.value)
    )
    refunded = (
        sa.select(bucket, Booking.service_id, Booking.staff_id, Refund.currency,
                  sa.literal(0), Refund.amount_cents)
        .join(Refund, Refund.booking_id == Booking.id)
        .where(_in_period(reach, period, windows=windows),
               Refund.status != RefundStatus.FAILED.value)
    )
    rows = sa.union_all(collected, refunded).subquery()
    statement = sa.select(
        rows.c.bucket, rows.c.service_id, rows.c.staff_id, rows.c.currency,
        sa.func.sum(rows.c.collected), sa.func.sum(rows.c.refunded),
    ).group_by(rows.c.bucket, rows.c.service_id, rows.c.staff_id, rows.c.currency)
    return [
        MoneyGroup(as_date(b), service_id, staff_id, currency, int(c or 0), int(r or 0))
        for b, service_id, staff_id, currency, c, r in await db.execute(statement)
    ]


async def session_seconds_by_staff(
    db: AsyncSession, reach: Reach, period: Period, windows: list[TimeRange] | None = None
) -> dict[uuid.UUID, float]:
    """The length of the group-class sessions (each once, however many booked seats) each
    staff member gives in the period."""
    sessions = (
        sa.select(Booking.staff_id, Booking.slot_key,
                  duration(Booking.end_time, Booking.start_time, _dialect(db)).label("s"))
        .where(_in_period(reach, period, windows=windows), Booking.status != CANCELLED,
               IN_CLASS_SESSION)
        .distinct()
        .subquery()
    )
    statement = sa.select(sessions.c.staff_id, sa.func.sum(sessions.c.s)).group_by(
        sessions.c.staff_id)
    return {staff_id: seconds(total) for staff_id, total in await db.execute(statement)}


async def new_and_returning_customers(
    db: AsyncSession, reach: Reach, period: Period,
    customers: list[uuid.UUID] | None = None,
) -> tuple[int, int]:
    """Customers with a booking (not cancelled) in the period: those whose first such booking
    is in it (new), and those who had one before (returning). One index probe per customer.
    ``customers``: only these ones (PostgreSQL only)."""
    if customers is not None and not customers:
        return 0, 0
    seen = sa.select(Booking.customer_id).where(
        _in_period(reach, period), Booking.status != CANCELLED)
    if customers is not None:  # one array parameter (PostgreSQL): there may be thousands
        seen = seen.where(Booking.customer_id == sa.any_(sa.bindparam(
            "customers", customers, type_=postgresql.ARRAY(sa.Uuid()))))
    seen = seen.distinct().subquery()
    earlier = aliased(Booking)
    before = sa.exists().where(
        earlier.customer_id == seen.c.customer_id,
        earlier.start_time < period.window.start,
        earlier.status != CANCELLED,
    )
    statement = sa.select(sa.func.count(), sa.func.sum(sa.case((before, 1), else_=0))).select_from(seen)
    total, returning = (await db.execute(statement)).one()
    returning = int(returning or 0)
    return int(total) - returning, returning
