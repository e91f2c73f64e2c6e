"""Money when a booking moves: its price was quoted again at the new time (plus any late
fee), and what was paid up front is settled against it through the ledger.

- Paid more than the service now asks up front: the difference is refunded (pending refunds
  in the ledger, newest payment first, sent to the provider by the refund job after commit,
  like a cancellation's).
- Paid less (paid online, and the new price asks more up front): the difference is asked as a
  top-up payment (top_ups.py): a PaymentIntent the customer pays like the first one. Unpaid,
  it stays part of the balance due and is collected on site; the booking is never lost for it.
  An open top-up of an earlier move is replaced by one for the new difference.
- Nothing up front (paid on site): the whole new price is the balance due.
- Not paid yet (an online hold waiting for the customer): the payment asks a fixed amount,
  so a move that changes it is refused until the payment is made or the hold ends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment
from boka.models.bookings import Booking
from boka.models.payments import Payment, PaymentKind, PaymentStatus, Refund
from boka.payments.checkout import Checkout
from boka.payments.ledger import up_front_payments
from boka.payments.policies import amount_due_up_front, policy_for
from boka.payments.providers import PaymentProvider
from boka.payments.refunds import UNPAID, give_up_unpaid, net_paid_of, refund_across
from boka.payments.top_ups import ask_top_up


@dataclass(frozen=True)
class RescheduleMoney:
    refunds: tuple[Refund, ...] = ()  # to send to the provider after commit
    top_up: Checkout | None = None  # the difference asked online (its expiry job after commit)
    # (provider, id) of open top-ups of earlier moves this one replaced: cancel after commit
    cancel_provider_payments: tuple[tuple[str, str], ...] = ()
    paid_cents: int = 0  # paid up front, less refunds, after this settlement
    balance_due_cents: int = 0  # the new price less what was paid (an unpaid top-up included)

    @property
    def refund_cents(self) -> int:
        return sum(refund.amount_cents for refund in self.refunds)


async def settle_reschedule(
    db: AsyncSession, booking: Booking, *, provider: PaymentProvider, now: datetime,
    payment_method: str | None = None,
) -> RescheduleMoney:
    """In the reschedule's transaction, after the booking's price changed."""
    payments = await up_front_payments(db, booking.id, lock=True)
    first = next((p for p in payments if p.kind == PaymentKind.BOOKING.value), None)
    if first is None:
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    due_up_front = amount_due_up_front(await policy_for(db, booking.service_id), booking.price_cents)
    if first.status in UNPAID:
        if due_up_front != first.amount_cents:
            raise UserInputError(
                UserErrorCode.INVALID_TRANSITION,
                "This booking is waiting for its payment, which is for its old price: pay it "
                "first, then move the booking.",
                "start",
            )
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    if first.status == PaymentStatus.DUE_ON_SITE.value:
        if due_up_front > 0 and due_up_front != first.amount_cents:
            first.amount_cents = due_up_front  # nothing collected yet: ask the new amount
            first.updated_at = now
            await db.flush()
            await announce_payment(db, first)
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    if first.status == PaymentStatus.CANCELED.value:  # given up (e.g. a staff-confirmed hold)
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    # Paid up front: an open top-up of an earlier move asks an old difference; it goes, and
    # the difference is worked out afresh from what is actually paid.
    replaced = await give_up_unpaid(db, _open_top_ups(payments), now=now)
    paid = await net_paid_of(db, payments)
    if paid > due_up_front:
        refunds = await refund_across(
            db, payments, paid - due_up_front,
            key=lambda payment: f"reschedule:{booking.id}:{payment.id}:{uuid.uuid4()}",
            reason="rescheduled to a lower price", now=now,
        )
        return RescheduleMoney(
            refunds=refunds, cancel_provider_payments=replaced, paid_cents=due_up_front,
            balance_due_cents=max(booking.price_cents - due_up_front, 0),
        )
    top_up = None
    if paid < due_up_front:
        top_up = await ask_top_up(
            db, booking, due_up_front - paid, provider=provider, now=now,
            payment_method=payment_method,
        )
        if top_up.payment.status == PaymentStatus.SUCCEEDED.value:
            paid = due_up_front
    return RescheduleMoney(
        top_up=top_up, cancel_provider_payments=replaced, paid_cents=paid,
        balance_due_cents=max(booking.price_cents - paid, 0),
    )


def _open_top_ups(payments: list[Payment]) -> list[Payment]:
    return [p for p in payments if p.kind == PaymentKind.TOP_UP.value and p.status in UNPAID]


async def settle_session_move(
    db: AsyncSession, booking: Booking, previous_price_cents: int, *, provider: PaymentProvider,
    now: datetime,
) -> RescheduleMoney:
    """A booking whose class session the business moved (its price re-quoted, never dearer):
    settled as a reschedule, except that a booking still waiting for its online payment keeps
    its old price (the payment asks for it; the move is the business's, not the customer's,
    so it is not refused for it)."""
    payments = await up_front_payments(db, booking.id, lock=True)
    first = next((p for p in payments if p.kind == PaymentKind.BOOKING.value), None)
    if first is not None and first.status in UNPAID and booking.price_cents != previous_price_cents:
        booking.price_cents = previous_price_cents
        booking.updated_at = now
        await db.flush()
        return RescheduleMoney(balance_due_cents=booking.price_cents)
    return await settle_reschedule(db, booking, provider=provider, now=now)
