"""Stripe's webhooks: verified, stored once by event id, then processed by a job.

``receive_stripe_event`` runs in the request: it checks the signature with the endpoint
secret and inserts the event (its id is unique, so a redelivery inserts nothing).
``process_event`` runs in the job, applying the event through outcomes.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.models.payments import PaymentEvent
from boka.payments import outcomes
from boka.payments.outcomes import Outcome

HANDLED_TYPES = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
})


class InvalidWebhook(Exception):
    pass


@dataclass(frozen=True)
class StoredEvent:
    id: uuid.UUID
    event_id: str
    needs_processing: bool  # False: already processed, or a type we do not handle


async def receive_stripe_event(
    database: Database, payload: bytes, signature: str, secret: str, *, now: datetime
) -> StoredEvent:
    import stripe  # loaded when Stripe first calls, not by every app process at start

    from boka.payments.stripe_provider import verify_webhook

    try:
        event = verify_webhook(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidWebhook(str(error)) from error
    data = event.to_dict()
    async with database.transaction(write=True, all_tenants=True) as db:
        existing = await _stored(db, event.id)
        if existing is None:
            try:
                async with db.begin_nested():
                    row = PaymentEvent(
                        provider="stripe", event_id=event.id, type=event.type, payload=data,
                        received_at=now,
                        processed_at=None if event.type in HANDLED_TYPES else now,
                        outcome=None if event.type in HANDLED_TYPES else "ignored: type not handled",
                    )
                    db.add(row)
                    await db.flush()
                existing = row
            except IntegrityError:  # the same event, delivered twice at once
                existing = await _stored(db, event.id)
                assert existing is not None
        return StoredEvent(existing.id, existing.event_id, existing.processed_at is None)


async def _stored(db: AsyncSession, event_id: str) -> PaymentEvent | None:
    return (
        await db.execute(
            sa.select(PaymentEvent).where(
                PaymentEvent.provider == "stripe", PaymentEvent.event_id == event_id
            )
        )
    ).scalar_one_or_none()


async def process_event(db: AsyncSession, event_row_id: uuid.UUID, *, now: datetime) -> Outcome | None:
    """Apply a stored event once; None if it was already processed."""
    statement = sa.select(PaymentEvent).where(PaymentEvent.id == event_row_id)
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    event = (await db.execute(statement)).scalar_one_or_none()
    if event is None or event.processed_at is not None:
        return None
    outcome = await _apply(db, event.type, event.payload["data"]["object"], now=now)
    event.processed_at = now
    event.outcome = outcome.summary[:200]
    await db.flush()
    return outcome


async def _apply(db: AsyncSession, type_: str, obj: dict[str, Any], *, now: datetime) -> Outcome:
    if type_ == "payment_intent.succeeded":
        return await outcomes.payment_succeeded(
            db, "stripe", obj["id"], now=now, metadata=obj.get("metadata")
        )
    if type_ == "payment_intent.payment_failed":
        return await outcomes.payment_failed(
            db, "stripe", obj["id"], obj.get("last_payment_error"), now=now,
            metadata=obj.get("metadata"),
        )
    if type_ == "charge.refunded":
        intent = obj.get("payment_intent")
        if not intent:
            return Outcome("ignored: charge without a PaymentIntent")
        refunds = (obj.get("refunds") or {}).get("data") or []
        return await outcomes.refunds_reported(db, "stripe", intent, refunds, now=now)
    return Outcome("ignored: type not handled")
