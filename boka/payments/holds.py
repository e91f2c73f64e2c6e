"""Expiring a slot hold, whatever it holds for (boka/booking/holds.py): a checkout nobody
booked in time, or a booking whose online payment did not arrive in time. This is the one
expiry the job (boka/jobs/holds.py) and the sweep run; here because a hold waiting for a
payment also gives up that payment (cancelled here, and at the provider after the commit).

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
from boka.models.payments import PaymentStatus
from boka.payments.ledger import booking_payment, payment_by_id

UNPAID = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)
EXPIRED_REASON = holds.UNPAID_REASON


@dataclass(frozen=True)
class Expiry:
    expired: bool
    provider: str | None = None
    provider_payment_id: str | None = None  # to cancel at the provider, after commit
    due_at: datetime | None = None  # still open but not yet due: when to look again


async def expire_slot_hold(db: AsyncSession, hold_id: uuid.UUID, *, now: datetime) -> Expiry:
    """Expire the hold if it is still open and its time has come; otherwise do nothing. A paid
    booking's hold is never expired: it ends as converted."""
    booking_id = (await db.execute(
        sa.select(SlotHold.booking_id).where(SlotHold.id == hold_id)
    )).scalar_one_or_none()
    if booking_id is None:
        return Expiry(expired=False)
    payment = await booking_payment(db, booking_id, lock=True)
    if payment is not None and payment.status == PaymentStatus.SUCCEEDED.value:
        held = await holds.locked_booking(db, booking_id)
        await holds.resolve_hold_of_booking(db, held, HoldStatus.CONVERTED, now=now)
        return Expiry(expired=False)
    expiry = await holds.expire_hold(db, hold_id, now=now)
    if not expiry.expired:
        return Expiry(expired=False, due_at=expiry.due_at)
    if payment is None or payment.status not in UNPAID:
        return Expiry(expired=True)
    payment.status = PaymentStatus.CANCELED.value
    payment.updated_at = now
    await announce_payment(db, payment)
    await db.flush()
    return Expiry(True, payment.provider, payment.provider_payment_id)


async def hold_of_payment(db: AsyncSession, payment_id: uuid.UUID) -> uuid.UUID | None:
    """The hold of the payment's booking (payments made before holds had their own rows got
    theirs from migration 0023)."""
    payment = await payment_by_id(db, payment_id)
    if payment is None:
        return None
    hold = await holds.hold_of_booking(db, payment.booking_id)
    return hold.id if hold is not None else None


async def expire_hold(db: AsyncSession, payment_id: uuid.UUID, *, now: datetime) -> Expiry:
    """``expire_slot_hold`` for the hold of a payment's booking, by the payment's id (what
    the payment's expiry jobs enqueued before holds had their own rows carry)."""
    hold_id = await hold_of_payment(db, payment_id)
    if hold_id is None:
        return Expiry(expired=False)
    return await expire_slot_hold(db, hold_id, now=now)
