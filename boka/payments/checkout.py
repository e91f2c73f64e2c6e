"""Booking a service that is paid up front: the booking holds its slot as ``pending`` while a
payment (a Stripe PaymentIntent) waits for the customer; the payment's success confirms it
(outcomes.py), and an unpaid hold expires (holds.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.changes import system_transition
from boka.booking.engine import BookingRequest, create_booking, service_of
from boka.booking.holds import (
    HoldBooking,
    book_hold,
    resolve_hold_of_booking,
    service_of_hold,
    start_payment_hold,
)
from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment
from boka.identity.principal import Principal
from boka.models.bookings import Booking, BookingStatus
from boka.models.holds import HoldStatus, SlotHold
from boka.models.payments import Payment, PaymentKind, PaymentStatus
from boka.payments.policies import amount_due_up_front, asks_up_front, policy_for
from boka.payments.providers import ChargeRequest, PaymentProvider, PaymentUnavailable


@dataclass(frozen=True)
class Checkout:
    payment: Payment
    client_secret: str | None  # for the customer's browser (Stripe.js); None when offline
    hold: SlotHold | None = None  # holds the slot until paid (online payments)


def payment_idempotency_key(booking_id: uuid.UUID, kind: PaymentKind = PaymentKind.BOOKING) -> str:
    return f"boka:{kind.value}:{booking_id}"


async def book_with_payment(
    db: AsyncSession, principal: Principal, request: BookingRequest | None, *,
    provider: PaymentProvider, hold: timedelta, now: datetime, payment_method: str | None = None,
    hold_id: str | None = None, held_booking: HoldBooking | None = None,
) -> tuple[Booking, Checkout | None]:
    """createBooking, paid up front when the service's policy says so. The PaymentIntent is
    created inside the booking's transaction, with an idempotency key derived from the
    booking id: if anything fails, nothing is booked; a PaymentIntent left behind by a
    rolled-back booking is never shown to anyone, so never paid. With ``payment_method`` the
    payment is confirmed at once and a declined card is a PAYMENT_DECLINED user error.

    With ``hold_id``, the booking is the held time (boka/booking/holds.py ``book_hold``, with
    ``held_booking``'s details); a paid one then keeps holding its slot until paid, by the same
    hold, for at least ``hold``."""
    if hold_id is not None:
        held_service = await service_of_hold(db, principal, hold_id)
        policy = await policy_for(db, held_service) if held_service else None
        online = provider.collects_online and policy is not None and asks_up_front(policy)
        booking, checkout_hold = await book_hold(
            db, principal, hold_id, replace(held_booking or HoldBooking(), hold_for_payment=online),
            now=now,
        )
    else:
        assert request is not None, "a booking names its time, or the hold that holds it"
        checkout_hold = None
        policy = await policy_for(db, request.service_id)
        online = provider.collects_online and asks_up_front(policy)
        booking = await create_booking(db, principal, replace(request, hold_for_payment=online), now=now)
    due = amount_due_up_front(policy, booking.price_cents)
    if due == 0:
        if online:  # free after discounts: nothing to wait for
            await confirm_paid_booking(db, booking, now)
        return booking, None
    payment_id = uuid.uuid4()
    try:
        result = await provider.create_payment(ChargeRequest(
            amount_cents=due,
            currency=booking.currency,
            idempotency_key=payment_idempotency_key(booking.id),
            metadata={
                "tenant_id": str(booking.tenant_id), "booking_id": str(booking.id),
                "payment_id": str(payment_id),
            },
            payment_method=payment_method if provider.collects_online else None,
        ))
    except PaymentUnavailable as error:
        raise UserInputError(
            UserErrorCode.PAYMENT_UNAVAILABLE,
            "Payments are unavailable right now; nothing was booked. Please try again.",
        ) from error
    payment = Payment(
        id=payment_id, tenant_id=booking.tenant_id, booking_id=booking.id,
        kind=PaymentKind.BOOKING.value, provider=provider.name,
        provider_payment_id=result.provider_payment_id, amount_cents=due,
        currency=booking.currency, status=result.status,
        expires_at=now + hold if provider.collects_online else None,
        created_at=now, updated_at=now,
    )
    db.add(payment)
    await db.flush()
    await announce_payment(db, payment, created=True)
    slot_hold = None
    if payment.expires_at is not None:
        slot_hold = await start_payment_hold(
            db, booking, held=checkout_hold, expires_at=payment.expires_at, now=now
        )
        payment.expires_at = slot_hold.expires_at  # the hold's: what the customer is told
    if result.status == PaymentStatus.SUCCEEDED.value:  # confirmed server-side just now
        payment.succeeded_at = now
        await announce_payment(db, payment)
        await confirm_paid_booking(db, booking, now)
    return booking, Checkout(payment=payment, client_secret=result.client_secret, hold=slot_hold)


async def confirm_paid_booking(db: AsyncSession, booking: Booking, now: datetime) -> bool:
    """Paid: the booking is confirmed, unless its service wants staff to confirm it (then it
    stays pending, paid, for them)."""
    await resolve_hold_of_booking(db, booking, HoldStatus.CONVERTED, now=now)  # paid: held no more
    if booking.status != BookingStatus.PENDING:
        return False
    service = await service_of(db, booking)
    if service.requires_confirmation:
        return False
    await system_transition(db, booking, BookingStatus.CONFIRMED, action="paid", now=now)
    return True
