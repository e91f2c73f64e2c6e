"""The SQL behind analytics: a few aggregates over the bookings that start in the period, each
an indexed range scan (tenant, start time) or (staff member, start time), so the cost follows
the period, not the history. SQLAlchemy core; the same statements run on PostgreSQL and SQLite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from boka.analytics.periods import Period, as_date, bucket_expression
from boka.models.bookings import Booking, BookingStatus
from boka.models.payments import Payment, PaymentStatus, Refund, RefundStatus

CANCELLED = BookingStatus.CANCELLED
# Cancelled and no-show bookings bring in what was collected, not their price.
COLLECTED_ONLY = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)


@dataclass(frozen=True)
class Reach:
    """Whose bookings: the tenant's, or only those of some staff members (a staff member's own)."""

    tenant_id: uuid.UUID
    staff_ids: tuple[uuid.UUID, ...] | None = None  # None: every staff member's


@dataclass(frozen=True)
class BookingGroup:
    """Bookings of one bucket, service, staff member, status and currency."""

    bucket: date
    service_id: uuid.UUID
    staff_id: uuid.UUID
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
    staff member and currency."""

    bucket: date
    service_id: uuid.UUID
    staff_id: uuid.UUID
    currency: str
    collected_cents: int
    refunded_cents: int


def _in_period(reach: Reach, period: Period, table: Any = Booking) -> sa.ColumnElement[bool]:
    window = period.window
    clauses = [table.tenant_id == reach.tenant_id, table.start_time >= window.start,
               table.start_time < window.end]
    if reach.staff_ids is not None:
        clauses.append(table.staff_id.in_(reach.staff_ids))
    return sa.and_(*clauses)


def seconds_between(later: Any, earlier: Any, dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _dialect(db: AsyncSession) -> str:
    return db.bind.dialect.name


async def booking_groups(db: AsyncSession, reach: Reach, period: Period) -> list[BookingGroup]:
    dialect = _dialect(db)
    private = sa.not_(Booking.slot_key.contains(":"))  # a class session's key holds colons
    rows = sa.select(
        bucket_expression(Booking.start_time, period, dialect).label("bucket"),
        Booking.service_id, Booking.staff_id, Booking.status, Booking.currency,
        sa.func.coalesce(Booking.list_price_cents, Booking.price_cents).label("list_cents"),
        Booking.price_cents.label("charged_cents"),
        sa.case((private, seconds_between(Booking.end_time, Booking.start_time, dialect)),
                else_=0).label("private_seconds"),
        seconds_between(Booking.start_time, Booking.created_at, dialect).label("lead_seconds"),
    ).where(_in_period(reach, period)).subquery()
    # Grouped outside: PostgreSQL would not match the bucket expression's parameters twice.
    statement = sa.select(
        rows.c.bucket, rows.c.service_id, rows.c.staff_id, rows.c.status, rows.c.currency,
        sa.func.count(), sa.func.sum(rows.c.list_cents), sa.func.sum(rows.c.charged_cents),
        sa.func.sum(rows.c.private_seconds), sa.func.sum(rows.c.lead_seconds),
    ).group_by(rows.c.bucket, rows.c.service_id, rows.c.staff_id, rows.c.status, rows.c.currency)
    return [
        BookingGroup(as_date(bucket), service_id, staff_id, BookingStatus(status), currency,
                     count, int(listed or 0), int(charged or 0), float(private or 0),
                     float(lead or 0))
        for bucket, service_id, staff_id, status, currency, count, listed, charged, private, lead
        in await db.execute(statement)
    ]


async def money_groups(db: AsyncSession, reach: Reach, period: Period) -> list[MoneyGroup]:
    """Payments collected on cancelled and no-show bookings (what they bring in), and refunds
    (not failed) of every booking, in one statement."""
    bucket = bucket_expression(Booking.start_time, period, _dialect(db)).label("bucket")
    collected = (
        sa.select(bucket, Booking.service_id, Booking.staff_id, Payment.currency,
                  Payment.amount_cents.label("collected"), sa.literal(0).label("refunded"))
        .join(Payment, Payment.booking_id == Booking.id)
        .where(_in_period(reach, period), Booking.status.in_(COLLECTED_ONLY),
               Payment.status == PaymentStatus.SUCCEEDED.value)
    )
    refunded = (
        sa.select(bucket, Booking.service_id, Booking.staff_id, Refund.currency,
                  sa.literal(0), Refund.amount_cents)
        .join(Refund, Refund.booking_id == Booking.id)
        .where(_in_period(reach, period), Refund.status != RefundStatus.FAILED.value)
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
    db: AsyncSession, reach: Reach, period: Period
) -> dict[uuid.UUID, float]:
    """The length of the group-class sessions (each once, however many booked seats) each
    staff member gives in the period."""
    sessions = (
        sa.select(Booking.staff_id, Booking.slot_key,
                  seconds_between(Booking.end_time, Booking.start_time, _dialect(db)).label("s"))
        .where(_in_period(reach, period), Booking.status != CANCELLED,
               Booking.slot_key.contains(":"))
        .distinct()
        .subquery()
    )
    statement = sa.select(sessions.c.staff_id, sa.func.sum(sessions.c.s)).group_by(
        sessions.c.staff_id)
    return {staff_id: float(seconds or 0) for staff_id, seconds in await db.execute(statement)}


async def new_and_returning_customers(
    db: AsyncSession, reach: Reach, period: Period
) -> tuple[int, int]:
    """Customers with a booking (not cancelled) in the period: those whose first such booking
    is in it (new), and those who had one before (returning). One index probe per customer."""
    seen = (
        sa.select(Booking.customer_id)
        .where(_in_period(reach, period), Booking.status != CANCELLED)
        .distinct()
        .subquery()
    )
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
