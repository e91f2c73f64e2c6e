"""Money when a booking moves: its price was quoted again at the new time (plus any late
fee), and what was paid up front is settled against it through the ledger.

- Paid more than the service now asks up front: the difference is refunded (a pending refund
  in the ledger, sent to the provider by the refund job after commit, like a cancellation's).
- Paid less: the difference stays due; the payload and the history say how much (it is
  collected with the rest of the price, on site).
- Not paid yet (an online hold waiting for the customer): the payment asks a fixed amount,
  so a move that changes it is refused until the payment is made or the hold ends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment, announce_refund
from boka.models.bookings import Booking
from boka.models.payments import PaymentStatus, Refund, RefundStatus
from boka.payments.ledger import booking_payment
from boka.payments.policies import amount_due_up_front, policy_for
from boka.payments.refunds import UNPAID, net_paid


@dataclass(frozen=True)
class RescheduleMoney:
    refund: Refund | None = None  # to send to the provider after commit
    paid_cents: int = 0  # paid up front, less refunds, after this settlement
    balance_due_cents: int = 0  # the new price less what was paid


async def settle_reschedule(db: AsyncSession, booking: Booking, *, now: datetime) -> RescheduleMoney:
    """In the reschedule's transaction, after the booking's price changed."""
    payment = await booking_payment(db, booking.id, lock=True)
    if payment is None:
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    due_up_front = amount_due_up_front(await policy_for(db, booking.service_id), booking.price_cents)
    if payment.status in UNPAID:
        if due_up_front != payment.amount_cents:
            raise UserInputError(
                UserErrorCode.INVALID_TRANSITION,
                "This booking is waiting for its payment, which is for its old price: pay it "
                "first, then move the booking.",
                "start",
            )
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    if payment.status == PaymentStatus.DUE_ON_SITE.value:
        if due_up_front > 0 and due_up_front != payment.amount_cents:
            payment.amount_cents = due_up_front  # nothing collected yet: ask the new amount
            payment.updated_at = now
            await db.flush()
            await announce_payment(db, payment)
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    paid = await net_paid(db, payment)
    if paid <= due_up_front:
        return RescheduleMoney(paid_cents=paid, balance_due_cents=max(booking.price_cents - paid, 0))
    refund = Refund(
        tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=booking.id,
        idempotency_key=f"reschedule:{booking.id}:{uuid.uuid4()}", provider=payment.provider,
        amount_cents=paid - due_up_front, currency=payment.currency,
        status=RefundStatus.PENDING.value, reason="rescheduled to a lower price",
        created_at=now, updated_at=now,
    )
    db.add(refund)
    await db.flush()
    await announce_refund(db, refund)
    return RescheduleMoney(
        refund=refund, paid_cents=due_up_front,
        balance_due_cents=max(booking.price_cents - due_up_front, 0),
    )
