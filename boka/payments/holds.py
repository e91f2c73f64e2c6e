"""Expiring what waits for an online payment.

- A slot hold, whatever it holds for (boka/booking/holds.py): a checkout nobody booked in time,
  or a booking whose online payment did not arrive in time. This is the one expiry the hold job
  (boka/jobs/holds.py) and the sweep run; here because a hold waiting for a payment also gives
  up that payment (cancelled here, and at the provider after the commit).
- A top-up (top_ups.py), payable until the appointment starts: then only the payment goes; the
  booking stays, the difference due on site. It holds no time, so it is no slot hold: its
  expiry runs from the payment-expiry job (boka/jobs/payments.py) and the same sweep.

Locks in the order the payment webhook takes them: the payment, then the booking, then the
hold; so a payment arriving as its hold expires is either in time (the booking is confirmed and
the hold converted) or too late (refunded, boka/payments/outcomes.py), never both."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking import holds
from boka.events.payments import announce_payment
from boka.models.holds import HoldStatus, SlotHold
from boka.models.payments import Payment, PaymentKind, PaymentStatus
from boka.payments.ledger import payment_by_id, up_front_payments

UNPAID = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)
EXPIRED_REASON = holds.UNPAID_REASON


@dataclass(frozen=True)
class Expiry:
    expired: bool
    provider: str | None = None
    provider_payment_id: str | None = None  # to cancel at the provider, after commit
    due_at: datetime | None = None  # still open but not yet due: when to look again


async def _booking_payment(db: AsyncSession, booking_id: uuid.UUID) -> Payment | None:
    """The booking's own payment (not a top-up of a later move), locked."""
    payments = await up_front_payments(db, booking_id, lock=True)
    return next((p for p in payments if p.kind == PaymentKind.BOOKING.value), None)


async def _give_up(db: AsyncSession, payment: Payment, now: datetime) -> Expiry:
    payment.status = PaymentStatus.CANCELED.value
    payment.updated_at = now
    await announce_payment(db, payment)
    await db.flush()
    return Expiry(True, payment.provider, payment.provider_payment_id)


async def expire_slot_hold(db: AsyncSession, hold_id: uuid.UUID, *, now: datetime) -> Expiry:
    """Expire the hold if it is still open and its time has come; otherwise do nothing. A paid
    booking's hold is never expired: it ends as converted."""
    booking_id = (await db.execute(
        sa.select(SlotHold.booking_id).where(SlotHold.id == hold_id)
    )).scalar_one_or_none()
    if booking_id is None:
        return Expiry(expired=False)
    payment = await _booking_payment(db, booking_id)
    if payment is not None and payment.status == PaymentStatus.SUCCEEDED.value:
        held = await holds.locked_booking(db, booking_id)
        await holds.resolve_hold_of_booking(db, held, HoldStatus.CONVERTED, now=now)
        return Expiry(expired=False)
    expiry = await holds.expire_hold(db, hold_id, now=now)
    if not expiry.expired:
        return Expiry(expired=False, due_at=expiry.due_at)
    if payment is None or payment.status not in UNPAID:
        return Expiry(expired=True)
    return await _give_up(db, payment, now)


async def expire_top_up(db: AsyncSession, payment: Payment, *, now: datetime) -> Expiry:
    """An unpaid top-up whose time has come (the appointment's start) is cancelled; the booking
    stays, and the difference is due on site. ``payment`` is locked by the caller."""
    if payment.status not in UNPAID or payment.expires_at is None:
        return Expiry(expired=False)
    if payment.expires_at > now:
        return Expiry(expired=False, due_at=payment.expires_at)
    return await _give_up(db, payment, now)


async def hold_of_payment(db: AsyncSession, payment_id: uuid.UUID) -> uuid.UUID | None:
    """The hold of the payment's booking (payments made before holds had their own rows got
    theirs from migration 0024)."""
    payment = await payment_by_id(db, payment_id)
    if payment is None:
        return None
    hold = await holds.hold_of_booking(db, payment.booking_id)
    return hold.id if hold is not None else None


async def expire_payment(db: AsyncSession, payment_id: uuid.UUID, *, now: datetime) -> Expiry:
    """The expiry of what waits for this payment, by the payment's id: a top-up's own, or the
    hold of a booking payment's booking (what payment-expiry jobs enqueued before holds had
    their own rows carry)."""
    payment = await payment_by_id(db, payment_id, lock=True)
    if payment is None:
        return Expiry(expired=False)
    if payment.kind == PaymentKind.TOP_UP.value:
        return await expire_top_up(db, payment, now=now)
    hold = await holds.hold_of_booking(db, payment.booking_id)
    if hold is None:
        return Expiry(expired=False)
    return await expire_slot_hold(db, hold.id, now=now)


async def open_top_ups(db: AsyncSession, *, limit: int = 10_000) -> list[tuple[uuid.UUID, datetime]]:
    """(payment id, expiry) of every unpaid top-up still open, each of which has an expiry job
    (re-armed from here when the job store lost them)."""
    rows = await db.execute(
        sa.select(Payment.id, Payment.expires_at)
        .where(Payment.kind == PaymentKind.TOP_UP.value, Payment.status.in_(UNPAID),
               Payment.expires_at.is_not(None))
        .order_by(Payment.expires_at)
        .limit(limit)
    )
    return [(payment_id, expires_at) for payment_id, expires_at in rows.all()]


async def overdue_top_ups(db: AsyncSession, *, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Unpaid top-ups past their expiry, oldest first (for the sweep)."""
    rows = await db.execute(
        sa.select(Payment.id)
        .where(Payment.kind == PaymentKind.TOP_UP.value, Payment.status.in_(UNPAID),
               Payment.expires_at <= now)
        .order_by(Payment.expires_at)
        .limit(limit)
    )
    return list(rows.scalars())
