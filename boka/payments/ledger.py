"""Reading and locking ledger rows."""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import visible_bookings
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.payments import Payment, PaymentKind, Refund


def _locked(db: AsyncSession, statement: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    return statement.with_for_update() if db.bind.dialect.name == "postgresql" else statement


UP_FRONT = (PaymentKind.BOOKING.value, PaymentKind.TOP_UP.value)


async def up_front_payments(db: AsyncSession, booking_id: uuid.UUID, *, lock: bool = False) -> list[Payment]:
    """What a booking asked up front: its booking payment and the top-ups of its moves,
    oldest first."""
    statement = (
        sa.select(Payment)
        .where(Payment.booking_id == booking_id, Payment.kind.in_(UP_FRONT))
        .order_by(Payment.created_at, Payment.id)
    )
    return list((await db.execute(_locked(db, statement) if lock else statement)).scalars())


async def payment_by_id(db: AsyncSession, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
    statement = sa.select(Payment).where(Payment.id == payment_id)
    return (await db.execute(_locked(db, statement) if lock else statement)).scalar_one_or_none()


async def payment_by_provider_id(
    db: AsyncSession, provider: str, provider_payment_id: str, *, lock: bool = False
) -> Payment | None:
    statement = sa.select(Payment).where(
        Payment.provider == provider, Payment.provider_payment_id == provider_payment_id
    )
    return (await db.execute(_locked(db, statement) if lock else statement)).scalar_one_or_none()


async def locked_booking(db: AsyncSession, booking_id: uuid.UUID) -> Booking:
    statement = sa.select(Booking).where(Booking.id == booking_id)
    return (await db.execute(_locked(db, statement))).scalar_one()


async def refund_by_id(db: AsyncSession, refund_id: uuid.UUID, *, lock: bool = False) -> Refund | None:
    statement = sa.select(Refund).where(Refund.id == refund_id)
    return (await db.execute(_locked(db, statement) if lock else statement)).scalar_one_or_none()


async def refunds_of_payment(db: AsyncSession, payment_id: uuid.UUID) -> list[Refund]:
    return list(
        (await db.execute(sa.select(Refund).where(Refund.payment_id == payment_id))).scalars()
    )


async def payments_of_bookings(
    db: AsyncSession, principal: Principal, booking_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Payment]]:
    """The ledger's payments of bookings the principal already sees (the caller resolved the
    bookings through their visibility rules), oldest first, within the request's tenant."""
    tenant = principal.require_tenant()
    rows = await db.execute(
        sa.select(Payment)
        .where(Payment.booking_id.in_(booking_ids), Payment.tenant_id == tenant.id)
        .order_by(Payment.created_at)
    )
    found: dict[uuid.UUID, list[Payment]] = defaultdict(list)
    for payment in rows.scalars():
        found[payment.booking_id].append(payment)
    return found


async def refunds_of_payments(
    db: AsyncSession, principal: Principal, payment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Refund]]:
    tenant = principal.require_tenant()
    rows = await db.execute(
        sa.select(Refund)
        .where(Refund.payment_id.in_(payment_ids), Refund.tenant_id == tenant.id)
        .order_by(Refund.created_at)
    )
    found: dict[uuid.UUID, list[Refund]] = defaultdict(list)
    for refund in rows.scalars():
        found[refund.payment_id].append(refund)
    return found


async def visible_payments(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Payment]:
    """Of ``ids``, the payments of bookings the principal sees (Relay node lookups): whoever
    may see a booking may see its money, nobody else."""
    statement = (
        sa.select(Payment).join(Booking, Booking.id == Payment.booking_id)
        .where(Payment.id.in_(ids), visible_bookings(principal))
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def visible_refunds(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Refund]:
    """Of ``ids``, the refunds of bookings the principal sees."""
    statement = (
        sa.select(Refund).join(Booking, Booking.id == Refund.booking_id)
        .where(Refund.id.in_(ids), visible_bookings(principal))
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}
