"""Customers: found or created by email within a tenant."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.identity.accounts import normalize_email
from boka.models.bookings import Customer


async def find_or_create_customer(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str | None = None,
    user_id: uuid.UUID | None = None,
) -> Customer:
    """The tenant's customer with this email, created if new. Given names fill blanks only;
    a signed-in user's account is linked to the customer record of their email."""
    email = normalize_email(email)
    if len(first_name) > 100 or len(last_name) > 100:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Names are limited to 100 characters.", "customer")
    if phone is not None and len(phone) > 32:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Use at most 32 characters.", "customer.phone")
    existing = await _find(db, tenant_id, email)
    if existing is None:
        customer = Customer(
            tenant_id=tenant_id,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            phone=phone,
            user_id=user_id,
        )
        try:
            async with db.begin_nested():
                db.add(customer)
                await db.flush()
            return customer
        except IntegrityError:  # created concurrently: use theirs
            existing = await _find(db, tenant_id, email)
            assert existing is not None
    if user_id is not None and existing.user_id is None:
        existing.user_id = user_id
    existing.first_name = existing.first_name or first_name.strip()
    existing.last_name = existing.last_name or last_name.strip()
    existing.phone = existing.phone or phone
    return existing


async def _find(db: AsyncSession, tenant_id: uuid.UUID, email: str) -> Customer | None:
    return (
        await db.execute(
            sa.select(Customer).where(Customer.tenant_id == tenant_id, Customer.email == email)
        )
    ).scalar_one_or_none()
