"""The events of the money ledger: ``payment.<status>`` when a payment is recorded or changes
state, ``refund.<status>`` for its refunds. Aggregate: the payment (its refunds are numbered in
the same stream, so a refund never overtakes the payment it returns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.outbox import record_event
from boka.events.types import PAYMENT
from boka.models.payments import Payment, Refund


def _money(row: Payment | Refund) -> dict[str, Any]:
    return {
        "booking_id": str(row.booking_id), "amount_cents": row.amount_cents,
        "currency": row.currency, "status": row.status, "provider": row.provider,
    }


async def announce_payment(db: AsyncSession, payment: Payment, *, created: bool = False) -> None:
    """``payment.created`` for a new ledger entry, else ``payment.<its new status>``."""
    await record_event(
        db, tenant_id=payment.tenant_id, aggregate_type=PAYMENT, aggregate_id=payment.id,
        type="payment.created" if created else f"payment.{payment.status}",
        payload={"payment_id": str(payment.id), "kind": payment.kind, **_money(payment)},
    )


async def announce_refund(db: AsyncSession, refund: Refund) -> None:
    """``refund.<status>``: recorded (pending), succeeded, failed, or manual (on site)."""
    await record_event(
        db, tenant_id=refund.tenant_id, aggregate_type=PAYMENT, aggregate_id=refund.payment_id,
        type=f"refund.{refund.status}",
        payload={"refund_id": str(refund.id), "payment_id": str(refund.payment_id), **_money(refund)},
    )
