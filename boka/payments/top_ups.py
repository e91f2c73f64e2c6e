"""Top-ups: when a move makes a prepaid booking dearer, the difference between what the service
now asks up front and what was paid is asked as a payment of its own (kind ``top_up``), through
the same provider and lifecycle as the booking payment: a PaymentIntent whose client secret the
reschedule answers, confirmed by the provider's webhook (outcomes.py), refunded with the rest
on cancellation (refunds.py).

A top-up never puts the booking at risk: the booking stays confirmed whether or not it is paid.
It can be paid online until the appointment starts (its ``expires_at``); then the hold-expiry
job cancels it (at the provider too) and the difference is collected on site with the rest of
the price. A later move replaces an open top-up by one for the new difference."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment
from boka.models.bookings import Booking
from boka.models.payments import Payment, PaymentKind, PaymentStatus
from boka.payments.checkout import Checkout
from boka.payments.providers import ChargeRequest, PaymentProvider, PaymentUnavailable


def top_up_idempotency_key(payment_id: uuid.UUID) -> str:
    """One per top-up row: a booking may have several over its moves."""
    return f"boka:{PaymentKind.TOP_UP.value}:{payment_id}"


async def ask_top_up(
    db: AsyncSession, booking: Booking, amount_cents: int, *, provider: PaymentProvider,
    now: datetime, payment_method: str | None = None,
) -> Checkout:
    """In the move's transaction: a payment of ``amount_cents`` for ``booking``. Created at the
    provider first (with a key derived from the new row's id), so an unavailable provider
    refuses the move and nothing changes; an intent left behind by a rolled-back move is never
    shown to anyone, so never paid. With ``payment_method`` it is confirmed at once and a
    declined card refuses the move (PAYMENT_DECLINED)."""
    payment_id = uuid.uuid4()
    try:
        result = await provider.create_payment(ChargeRequest(
            amount_cents=amount_cents, currency=booking.currency,
            idempotency_key=top_up_idempotency_key(payment_id),
            metadata={
                "tenant_id": str(booking.tenant_id), "booking_id": str(booking.id),
                "payment_id": str(payment_id), "kind": PaymentKind.TOP_UP.value,
            },
            payment_method=payment_method if provider.collects_online else None,
        ))
    except PaymentUnavailable as error:
        raise UserInputError(
            UserErrorCode.PAYMENT_UNAVAILABLE,
            "Payments are unavailable right now, so the difference of the new price cannot be "
            "asked; the booking was not moved. Please try again.",
        ) from error
    payment = Payment(
        id=payment_id, tenant_id=booking.tenant_id, booking_id=booking.id,
        kind=PaymentKind.TOP_UP.value, provider=provider.name,
        provider_payment_id=result.provider_payment_id, amount_cents=amount_cents,
        currency=booking.currency, status=result.status,
        expires_at=booking.start_time if provider.collects_online else None,
        created_at=now, updated_at=now,
    )
    db.add(payment)
    await db.flush()
    await announce_payment(db, payment, created=True)
    if result.status == PaymentStatus.SUCCEEDED.value:
        payment.succeeded_at = now
        await announce_payment(db, payment)
    return Checkout(payment=payment, client_secret=result.client_secret)
