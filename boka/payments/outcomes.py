"""What a payment provider tells us (webhook events), applied to the ledger and the booking.

Events may come twice and in any order; each handler looks at where the payment stands
now and does only what is still to do:
- a success confirms the pending booking; if the hold had already expired (or the booking was
  cancelled), the money is refunded in full instead; a top-up's success confirms nothing (the
  booking already is), and one paid after a later move replaced it (or after it expired at the
  appointment's start) is refunded in full too: the money that booking asks is the newer one;
- a failure after a success changes nothing; the customer may retry until the hold expires;
- a refund made at the provider (e.g. in Stripe's dashboard) enters the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.payments import announce_payment, announce_refund
from boka.models.bookings import BookingStatus
from boka.models.payments import PaymentKind, PaymentStatus, Refund, RefundStatus
from boka.payments.checkout import confirm_paid_booking
from boka.payments.ledger import (
    locked_booking,
    payment_by_provider_id,
    refunds_of_payment,
)


class PaymentNotRecordedYet(Exception):
    """An event for one of our payments (its metadata says so) that is not in the ledger yet:
    the booking's transaction may still be committing. Raised so the job retries later."""


def _ours(metadata: dict[str, Any] | None) -> bool:
    return bool(metadata and metadata.get("payment_id") and metadata.get("booking_id"))


@dataclass(frozen=True)
class Outcome:
    summary: str
    refund_id: uuid.UUID | None = None  # a refund to send to the provider, after commit


async def payment_succeeded(
    db: AsyncSession, provider: str, provider_payment_id: str, *, now: datetime,
    metadata: dict[str, Any] | None = None,
) -> Outcome:
    payment = await payment_by_provider_id(db, provider, provider_payment_id, lock=True)
    if payment is None:
        if _ours(metadata):
            raise PaymentNotRecordedYet(provider_payment_id)
        return Outcome("unknown payment")
    if payment.status == PaymentStatus.SUCCEEDED.value:
        return Outcome("already succeeded")
    given_up = payment.status == PaymentStatus.CANCELED.value
    payment.status = PaymentStatus.SUCCEEDED.value
    payment.succeeded_at = now
    payment.failure_code = payment.failure_message = None
    payment.updated_at = now
    await announce_payment(db, payment)
    booking = await locked_booking(db, payment.booking_id)
    top_up = payment.kind == PaymentKind.TOP_UP.value
    if top_up and given_up and booking.status != BookingStatus.CANCELLED:
        reason = "paid after the top-up was replaced by a later move, or had expired"
    elif booking.status != BookingStatus.CANCELLED:
        confirmed = not top_up and await confirm_paid_booking(db, booking, now)
        await db.flush()
        return Outcome("booking confirmed" if confirmed else "paid")
    else:
        reason = f"paid after the booking was {booking.status.value}"
    refund = Refund(
        tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=booking.id,
        idempotency_key=f"paid-after-release:{payment.id}", provider=payment.provider,
        amount_cents=payment.amount_cents, currency=payment.currency,
        status=RefundStatus.PENDING.value, reason=reason, created_at=now, updated_at=now,
    )
    db.add(refund)
    await db.flush()
    await announce_refund(db, refund)
    return Outcome("paid after release: refunding", refund_id=refund.id)


async def payment_failed(
    db: AsyncSession, provider: str, provider_payment_id: str, error: dict[str, Any] | None,
    *, now: datetime, metadata: dict[str, Any] | None = None,
) -> Outcome:
    payment = await payment_by_provider_id(db, provider, provider_payment_id, lock=True)
    if payment is None:
        if _ours(metadata):
            raise PaymentNotRecordedYet(provider_payment_id)
        return Outcome("unknown payment")
    if payment.status != PaymentStatus.PENDING.value and payment.status != PaymentStatus.FAILED.value:
        return Outcome(f"ignored: payment already {payment.status}")
    payment.status = PaymentStatus.FAILED.value
    payment.failure_code = str((error or {}).get("code") or "")[:100] or None
    payment.failure_message = str((error or {}).get("message") or "")[:500] or None
    payment.updated_at = now
    await db.flush()
    await announce_payment(db, payment)
    return Outcome("payment failed")


async def refunds_reported(
    db: AsyncSession, provider: str, provider_payment_id: str, refunds: list[dict[str, Any]],
    *, now: datetime,
) -> Outcome:
    """``charge.refunded``: every refund the provider lists for the payment is in the ledger
    with the provider's status, whoever started it."""
    payment = await payment_by_provider_id(db, provider, provider_payment_id, lock=True)
    if payment is None:
        return Outcome("unknown payment")
    known = {refund.provider_refund_id: refund for refund in await refunds_of_payment(db, payment.id)}
    added = 0
    for reported in refunds:
        status = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
                  "canceled": RefundStatus.FAILED}.get(reported.get("status", ""), RefundStatus.PENDING)
        refund = known.get(reported["id"])
        if refund is None:
            refund = Refund(
                tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=payment.booking_id,
                idempotency_key=f"{provider}:{reported['id']}", provider=provider,
                provider_refund_id=reported["id"], amount_cents=int(reported["amount"]),
                currency=str(reported.get("currency", payment.currency)).upper(),
                status=status.value, reason="refunded at the provider",
                created_at=now, updated_at=now,
            )
            db.add(refund)
            await db.flush()
            await announce_refund(db, refund)
            added += 1
        elif refund.status != status.value:
            refund.status = status.value
            refund.updated_at = now
            await announce_refund(db, refund)
    await db.flush()
    return Outcome(f"refunds reconciled ({added} new)")
