"""Unpaid holds: a booking waiting for its online payment holds its slot until the payment's
``expires_at``; then it is cancelled, its time freed, and the provider's payment cancelled.
An unpaid top-up (top_ups.py) expires at the appointment's start the same way, but only the
payment goes: the booking stays, the difference due on site."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import system_transition
from boka.events.payments import announce_payment
from boka.models.bookings import BookingStatus
from boka.models.payments import Payment, PaymentKind, PaymentStatus
from boka.payments.ledger import UP_FRONT, locked_booking, payment_by_id

UNPAID = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)
EXPIRED_REASON = "Not paid in time."


@dataclass(frozen=True)
class Expiry:
    expired: bool
    provider: str | None = None
    provider_payment_id: str | None = None  # to cancel at the provider, after commit
    due_at: datetime | None = None  # still unpaid but not yet due: when to look again


async def expire_hold(db: AsyncSession, payment_id: uuid.UUID, *, now: datetime) -> Expiry:
    """Expire the hold if it is still unpaid and its time has come; otherwise do nothing
    (paid meanwhile, already expired, or not yet due)."""
    payment = await payment_by_id(db, payment_id, lock=True)
    if payment is None or payment.status not in UNPAID or payment.expires_at is None:
        return Expiry(expired=False)
    if payment.expires_at > now:  # early (another host's clock runs ahead of this one's)
        return Expiry(expired=False, due_at=payment.expires_at)
    booking = await locked_booking(db, payment.booking_id)
    payment.status = PaymentStatus.CANCELED.value
    payment.updated_at = now
    await announce_payment(db, payment)
    if payment.kind == PaymentKind.TOP_UP.value:  # the booking stays; the difference is due on site
        await db.flush()
        return Expiry(True, payment.provider, payment.provider_payment_id)
    if booking.status == BookingStatus.PENDING:
        await system_transition(
            db, booking, BookingStatus.CANCELLED, action="expired", now=now,
            reason=EXPIRED_REASON, details={"payment_id": str(payment.id)},
        )
    await db.flush()
    return Expiry(True, payment.provider, payment.provider_payment_id)


async def open_holds(db: AsyncSession, *, limit: int = 10_000) -> list[tuple[uuid.UUID, datetime]]:
    """(payment id, expiry) of every unpaid booking payment (or top-up) still open, each of
    which has an expiry job (re-armed from here when the job store lost them)."""
    rows = await db.execute(
        sa.select(Payment.id, Payment.expires_at)
        .where(
            Payment.kind.in_(UP_FRONT),
            Payment.status.in_(UNPAID),
            Payment.expires_at.is_not(None),
        )
        .order_by(Payment.expires_at)
        .limit(limit)
    )
    return [(payment_id, expires_at) for payment_id, expires_at in rows.all()]


async def overdue_holds(db: AsyncSession, *, now: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, payment id) of unpaid booking payments and top-ups past their expiry,
    oldest first."""
    rows = await db.execute(
        sa.select(Payment.tenant_id, Payment.id)
        .where(
            Payment.kind.in_(UP_FRONT),
            Payment.status.in_(UNPAID),
            Payment.expires_at <= now,
        )
        .order_by(Payment.expires_at)
        .limit(limit)
    )
    return [(tenant_id, payment_id) for tenant_id, payment_id in rows.all()]
