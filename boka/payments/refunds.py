"""Money back: a cancellation refunds what the service's policy says, a no-show may owe a fee.

A refund is first recorded in the ledger (``pending``, with an idempotency key naming why, so
it can be recorded only once), then sent to the provider by a job with that key; the job
retries transient failures with backoff and a repeated run changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.lifecycle import CancellationTerms
from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment, announce_refund
from boka.models.bookings import Booking
from boka.models.payments import Payment, PaymentKind, PaymentStatus, Refund, RefundStatus
from boka.payments.checkout import payment_idempotency_key
from boka.payments.ledger import payment_by_id, refund_by_id, refunds_of_payment, up_front_payments
from boka.payments.policies import no_show_fee, policy_for
from boka.payments.providers import ChargeRequest, PaymentProvider, PaymentUnavailable

UNPAID = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)


@dataclass(frozen=True)
class CancellationMoney:
    refunds: tuple[Refund, ...] = ()  # to send to the provider after commit
    # (provider, id) of unpaid intents given up (the booking payment's hold, an open top-up)
    cancel_provider_payments: tuple[tuple[str, str], ...] = ()
    paid_cents: int = 0  # what the customer had actually paid, less earlier refunds

    @property
    def refund_cents(self) -> int:
        """What goes back: only ever money that was paid (0 when nothing was)."""
        return sum(refund.amount_cents for refund in self.refunds)


async def net_paid(db: AsyncSession, payment: Payment) -> int:
    """A succeeded payment less what has gone back of it (refunds not failed)."""
    if payment.status != PaymentStatus.SUCCEEDED.value:
        return 0
    refunded = sum(
        refund.amount_cents for refund in await refunds_of_payment(db, payment.id)
        if refund.status != RefundStatus.FAILED.value
    )
    return max(payment.amount_cents - refunded, 0)


async def net_paid_of(db: AsyncSession, payments: list[Payment]) -> int:
    """What a booking's up-front payments (booking payment and top-ups) still hold."""
    return sum([await net_paid(db, payment) for payment in payments])


async def give_up_unpaid(
    db: AsyncSession, payments: list[Payment], *, now: datetime
) -> tuple[tuple[str, str], ...]:
    """Cancel every payment of ``payments`` the customer has not made (waiting, failed, or due
    on site); the (provider, id) of each to cancel at the provider after commit."""
    at_provider = []
    for payment in payments:
        if payment.status in UNPAID or payment.status == PaymentStatus.DUE_ON_SITE.value:
            payment.status = PaymentStatus.CANCELED.value
            payment.updated_at = now
            await db.flush()
            await announce_payment(db, payment)
            if payment.provider_payment_id:
                at_provider.append((payment.provider, payment.provider_payment_id))
    return tuple(at_provider)


async def refund_across(
    db: AsyncSession, payments: list[Payment], amount: int, *, key: Callable[[Payment], str],
    reason: str, now: datetime,
) -> tuple[Refund, ...]:
    """``amount`` back out of the succeeded ``payments``, newest first (a top-up before the
    booking payment it topped up), none refunded beyond what it still holds: a provider
    refunds a charge, never more than that charge. ``key`` names each refund's why."""
    refunds = []
    for payment in reversed(payments):
        if amount <= 0:
            break
        part = min(await net_paid(db, payment), amount)
        if part == 0:
            continue
        refund = Refund(
            tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=payment.booking_id,
            idempotency_key=key(payment), provider=payment.provider, amount_cents=part,
            currency=payment.currency, status=RefundStatus.PENDING.value, reason=reason,
            created_at=now, updated_at=now,
        )
        db.add(refund)
        await db.flush()
        await announce_refund(db, refund)
        refunds.append(refund)
        amount -= part
    return tuple(refunds)


def _cancellation_key(booking: Booking) -> Callable[[Payment], str]:
    def key(payment: Payment) -> str:
        if payment.kind == PaymentKind.BOOKING.value:
            return f"cancellation:{booking.id}"
        return f"cancellation:{booking.id}:{payment.id}"

    return key


async def settle_cancellation(
    db: AsyncSession, booking: Booking, terms: CancellationTerms, *, now: datetime
) -> CancellationMoney:
    """In the cancellation's transaction: refund the policy's share of what was paid (the
    booking payment and any top-ups of its moves), and give up the payments the customer
    never made."""
    payments = await up_front_payments(db, booking.id, lock=True)
    if not payments:
        return CancellationMoney()
    at_provider = await give_up_unpaid(db, payments, now=now)
    paid = await net_paid_of(db, payments)
    refunds = await refund_across(
        db, payments, terms.refund_of(paid), key=_cancellation_key(booking),
        reason=f"cancellation ({terms.refund_percent}% under the policy)", now=now,
    )
    return CancellationMoney(refunds=refunds, cancel_provider_payments=at_provider, paid_cents=paid)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: uuid.UUID
    provider_payment_id: str | None
    amount_cents: int
    metadata: dict[str, str]


async def refund_to_send(db: AsyncSession, refund_id: uuid.UUID) -> RefundRequest | None:
    """What to ask the provider, or None when the refund is no longer pending."""
    refund = await refund_by_id(db, refund_id)
    if refund is None or refund.status != RefundStatus.PENDING.value:
        return None
    payment = await payment_by_id(db, refund.payment_id)
    assert payment is not None
    return RefundRequest(
        refund_id=refund.id, provider_payment_id=payment.provider_payment_id,
        amount_cents=refund.amount_cents,
        metadata={"tenant_id": str(refund.tenant_id), "booking_id": str(refund.booking_id),
                  "refund_id": str(refund.id)},
    )


def refund_idempotency_key(refund_id: uuid.UUID) -> str:
    return f"boka:refund:{refund_id}"


async def record_refund_result(
    db: AsyncSession, refund_id: uuid.UUID, *, provider_refund_id: str | None, status: str,
    failure: str | None = None, now: datetime,
) -> None:
    refund = await refund_by_id(db, refund_id, lock=True)
    if refund is None or refund.status != RefundStatus.PENDING.value:
        return
    refund.provider_refund_id = provider_refund_id
    refund.status = status
    refund.failure_message = failure[:500] if failure else None
    refund.updated_at = now
    await db.flush()
    await announce_refund(db, refund)


async def charge_no_show_fee(
    db: AsyncSession, booking: Booking, provider: PaymentProvider, *, now: datetime
) -> Payment | None:
    """A no-show owes the policy's share of the price, less what was paid up front. The fee is
    a payment of its own in the ledger: a PaymentIntent the customer is asked to pay (or a sum
    due on site with the offline provider)."""
    policy = await policy_for(db, booking.service_id)
    already = await net_paid_of(db, await up_front_payments(db, booking.id))
    fee = no_show_fee(policy, booking.price_cents, already)
    if fee == 0:
        return None
    payment_id = uuid.uuid4()
    try:
        result = await provider.create_payment(ChargeRequest(
            amount_cents=fee, currency=booking.currency,
            idempotency_key=payment_idempotency_key(booking.id, PaymentKind.NO_SHOW_FEE),
            metadata={"tenant_id": str(booking.tenant_id), "booking_id": str(booking.id),
                      "payment_id": str(payment_id)},
        ))
    except PaymentUnavailable as error:
        raise UserInputError(
            UserErrorCode.PAYMENT_UNAVAILABLE,
            "Payments are unavailable right now, so the no-show fee cannot be asked; "
            "nothing was changed. Please try again.",
        ) from error
    payment = Payment(
        id=payment_id, tenant_id=booking.tenant_id, booking_id=booking.id,
        kind=PaymentKind.NO_SHOW_FEE.value, provider=provider.name,
        provider_payment_id=result.provider_payment_id, amount_cents=fee,
        currency=booking.currency, status=result.status, created_at=now, updated_at=now,
    )
    db.add(payment)
    await db.flush()
    await announce_payment(db, payment, created=True)
    return payment
