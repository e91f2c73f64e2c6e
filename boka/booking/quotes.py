"""Quoting a booking: the tenant's pricing rules and a discount code, fed to pricing.quote_price."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking import pricing
from boka.errors import UserErrorCode, UserInputError
from boka.models.bookings import Booking, Customer
from boka.models.catalog import Service, StaffService
from boka.models.pricing import DiscountCode, DiscountRedemption, PricingRule
from boka.models.tenancy import Tenant


@dataclass(frozen=True)
class PricedBooking:
    quote: pricing.Quote
    discount_code: DiscountCode | None


def to_price_rule(row: PricingRule) -> pricing.PriceRule:
    return pricing.PriceRule(
        rule_id=row.id,
        name=row.name,
        kind=pricing.AdjustmentKind(row.kind),
        amount=row.amount,
        weekdays=frozenset(row.weekdays),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        service_ids=frozenset(uuid.UUID(value) for value in row.service_ids),
        priority=row.priority,
    )


async def find_usable_code(
    db: AsyncSession, tenant_id: uuid.UUID, code: str, *, customer_id: uuid.UUID | None, now: datetime
) -> DiscountCode:
    row = (
        await db.execute(
            sa.select(DiscountCode).where(
                DiscountCode.tenant_id == tenant_id, DiscountCode.code == code.strip().upper()
            )
        )
    ).scalar_one_or_none()
    in_window = row is not None and (row.valid_from is None or row.valid_from <= now) and (
        row.valid_until is None or now <= row.valid_until
    )
    if row is None or not row.active or not in_window:
        raise UserInputError(
            UserErrorCode.DISCOUNT_INVALID, "This code is not valid.", "discountCode"
        )
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise UserInputError(
            UserErrorCode.DISCOUNT_EXHAUSTED, "This code has been used up.", "discountCode"
        )
    if row.once_per_customer and customer_id is not None and await _already_redeemed(db, row.id, customer_id):
        raise UserInputError(
            UserErrorCode.DISCOUNT_ALREADY_USED, "You have already used this code.", "discountCode"
        )
    return row


async def _already_redeemed(db: AsyncSession, code_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    found = await db.execute(
        sa.select(DiscountRedemption.id).where(
            DiscountRedemption.discount_code_id == code_id,
            DiscountRedemption.customer_id == customer_id,
        ).limit(1)
    )
    return found.first() is not None


async def price_booking(
    db: AsyncSession,
    tenant: Tenant,
    service: Service,
    link: StaffService | None,
    *,
    start: datetime,
    discount_code: str | None,
    customer_id: uuid.UUID | None,
    now: datetime,
    seats: int = 1,
) -> PricedBooking:
    """The whole booking's price: the seat price times the seats is the base, so percentage
    rules scale with it while fixed adjustments and a code apply once per booking."""
    code = (
        await find_usable_code(db, tenant.id, discount_code, customer_id=customer_id, now=now)
        if discount_code
        else None
    )
    return await _priced(db, tenant, service, link, start=start, seats=seats, code=code)


async def requote_booking(
    db: AsyncSession, tenant: Tenant, service: Service, link: StaffService, booking: Booking,
    *, start: datetime,
) -> PricedBooking:
    """A booking's price at another start (a reschedule): today's rules at the new time, with
    the code the booking already redeemed (its use is not counted, or checked, again)."""
    code = (
        await db.execute(
            sa.select(DiscountCode)
            .join(DiscountRedemption, DiscountRedemption.discount_code_id == DiscountCode.id)
            .where(DiscountRedemption.booking_id == booking.id)
        )
    ).scalars().first()
    return await _priced(db, tenant, service, link, start=start, seats=booking.seats, code=code)


async def _priced(
    db: AsyncSession, tenant: Tenant, service: Service, link: StaffService | None, *,
    start: datetime, seats: int, code: DiscountCode | None,
) -> PricedBooking:
    rules = (
        await db.execute(
            sa.select(PricingRule).where(
                PricingRule.tenant_id == tenant.id, PricingRule.active.is_(True)
            )
        )
    ).scalars()
    unit = link.price_cents if link is not None and link.price_cents is not None else service.price_cents
    base = unit * seats
    quote = pricing.quote_price(
        base=base,
        currency=service.currency,
        service_id=service.id,
        local_start=start.astimezone(ZoneInfo(tenant.time_zone)),
        rules=[to_price_rule(rule) for rule in rules],
        discount=pricing.DiscountCode(code=code.code, kind=pricing.AdjustmentKind(code.kind), value=code.value)
        if code
        else None,
    )
    return PricedBooking(quote=quote, discount_code=code)


async def redeem_code(
    db: AsyncSession, code: DiscountCode, *, customer: Customer, booking_id: uuid.UUID
) -> None:
    """Count one use, atomically: the UPDATE takes the code's row lock, so racing bookings
    queue here, and the re-check of once-per-customer after it sees the winner's redemption."""
    counted = await db.execute(
        sa.update(DiscountCode)
        .where(
            DiscountCode.id == code.id,
            sa.or_(DiscountCode.max_uses.is_(None), DiscountCode.uses < DiscountCode.max_uses),
        )
        .values(uses=DiscountCode.uses + 1)
    )
    if counted.rowcount != 1:
        raise UserInputError(
            UserErrorCode.DISCOUNT_EXHAUSTED, "This code has been used up.", "discountCode"
        )
    if code.once_per_customer and await _already_redeemed(db, code.id, customer.id):
        raise UserInputError(
            UserErrorCode.DISCOUNT_ALREADY_USED, "You have already used this code.", "discountCode"
        )
    db.add(DiscountRedemption(tenant_id=code.tenant_id, discount_code_id=code.id, customer_id=customer.id, booking_id=booking_id))


async def release_code(db: AsyncSession, booking_id: uuid.UUID) -> str | None:
    """A cancelled booking gives its code's use back: the redemption goes, the count drops
    (never below 0). The code, if there was one, is returned for the history."""
    redemption = (
        await db.execute(sa.select(DiscountRedemption).where(DiscountRedemption.booking_id == booking_id))
    ).scalars().first()
    if redemption is None:
        return None
    code = (
        await db.execute(
            sa.update(DiscountCode)
            .where(DiscountCode.id == redemption.discount_code_id, DiscountCode.uses > 0)
            .values(uses=DiscountCode.uses - 1)
            .returning(DiscountCode.code)
        )
    ).scalar_one_or_none()
    await db.delete(redemption)
    await db.flush()
    return code
