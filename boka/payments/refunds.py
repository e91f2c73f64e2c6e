"""Money back: a cancellation refunds what the service's policy says, a no-show may owe a fee.

A refund is first recorded in the ledger (``pending``, with an idempotency key naming why, so
it can be recorded only once), then sent to the provider by a job with that key; the job
retries transient failures with backoff and a repeated run changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.lifecycle import CancellationTerms
from boka.errors import UserErrorCode, UserInputError
from boka.events.payments import announce_payment, announce_refund
from boka.models.bookings import Booking
from boka.models.payments import Payment, PaymentKind, PaymentStatus, Refund, RefundStatus
from boka.payments.checkout import payment_idempotency_key
from boka.payments.ledger import booking_payment, payment_by_id, refund_by_id, refunds_of_payment
from boka.payments.policies import no_show_fee, policy_for
from boka.payments.providers import ChargeRequest, PaymentProvider, PaymentUnavailable

UNPAID = (PaymentStatus.PENDING.value, PaymentStatus.FAILED.value)


@dataclass(frozen=True)
class CancellationMoney:
    refund: Refund | None = None  # to send to the provider after commit
    cancel_provider_payment: tuple[str, str] | None = None  # (provider, id) of an unpaid intent
    paid_cents: int = 0  # what the customer had actually paid, less earlier refunds

    @property
    def refund_cents(self) -> int:
        """What goes back: only ever money that was paid (0 when nothing was)."""
        return self.refund.amount_cents if self.refund is not None else 0


async def net_paid(db: AsyncSession, payment: Payment) -> int:
    """A succeeded payment less what has gone back of it (refunds not failed)."""
    if payment.status != PaymentStatus.SUCCEEDED.value:
        return 0
    refunded = sum(
        refund.amount_cents for refund in await refunds_of_payment(db, payment.id)
        if refund.status != RefundStatus.FAILED.value
    )
    return max(payment.amount_cents - refunded, 0)


async def settle_cancellation(
    db: AsyncSession, booking: Booking, terms: CancellationTerms, *, now: datetime
) -> CancellationMoney:
    """In the cancellation's transaction: refund the policy's share of what was paid, or give
    up the payment the customer never made."""
    payment = await booking_payment(db, booking.id, lock=True)
    if payment is None:
        return CancellationMoney()
    if payment.status in UNPAID or payment.status == PaymentStatus.DUE_ON_SITE.value:
        payment.status = PaymentStatus.CANCELED.value
        payment.updated_at = now
        await db.flush()
        await announce_payment(db, payment)
        if payment.provider_payment_id:
            return CancellationMoney(cancel_provider_payment=(payment.provider, payment.provider_payment_id))
        return CancellationMoney()
    paid = await net_paid(db, payment)
    amount = terms.refund_of(paid)
    if amount == 0:
        return CancellationMoney(paid_cents=paid)
    refund = Refund(
        tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=booking.id,
        idempotency_key=f"cancellation:{booking.id}", provider=payment.provider,
        amount_cents=amount, currency=payment.currency, status=RefundStatus.PENDING.value,
        reason=f"cancellation ({terms.refund_percent}% under the policy)",
        created_at=now, updated_at=now,
    )
    db.add(refund)
    await db.flush()
    await announce_refund(db, refund)
    return CancellationMoney(refund=refund, paid_cents=paid)


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
    paid = await booking_payment(db, booking.id)
    already = paid.amount_cents if paid and paid.status == PaymentStatus.SUCCEEDED.value else 0
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
