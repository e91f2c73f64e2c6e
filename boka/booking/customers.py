"""Customers: found or created by email within a tenant, and kept up to date."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from boka.booking.access import visible_customers_clause
from boka.db import dialect_insert

from boka.errors import Forbidden, NotFound, UserErrorCode, UserInputError
from boka.events.catalog import announce_customer_change
from boka.identity.accounts import normalize_email
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Customer
from boka.models.types import utcnow
from boka.validation import check_phone, clean_text


NAME_LENGTH = 100  # customers.first_name and last_name


@dataclass(frozen=True)
class FoundCustomer:
    customer: Customer
    # True when this transaction inserted the row: until it commits no other transaction sees
    # the customer (a concurrent insert of the same email waits on it), so nothing else can
    # have booked for them yet.
    created: bool


async def find_or_add_customer(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str | None = None,
    user_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> FoundCustomer:
    """The tenant's customer with this email, created if new (and whether it was). Given
    names fill blanks only; a signed-in user's account is linked to the customer record of
    their email."""
    email = normalize_email(email)
    first_name = clean_text(first_name, "customer.firstName", max_length=NAME_LENGTH, min_length=0)
    last_name = clean_text(last_name, "customer.lastName", max_length=NAME_LENGTH, min_length=0)
    phone = None if phone is None else check_phone(phone, "customer.phone")
    existing = await _find(db, tenant_id, email)
    if existing is None:
        customer = Customer(
            tenant_id=tenant_id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            user_id=user_id,
            user_linked_at=(now or utcnow()) if user_id else None,
        )
        # ON CONFLICT rather than a savepoint: one statement, and a customer created
        # concurrently under the same email is simply found below.
        values = {column.name: getattr(customer, column.name) for column in Customer.__table__.c}
        inserted = await db.execute(
            dialect_insert(db)(Customer).values(**values)
            .on_conflict_do_nothing(index_elements=[Customer.tenant_id, Customer.email])
            .returning(Customer.id)
        )
        if inserted.scalar_one_or_none() is not None:
            make_transient_to_detached(customer)  # the row exists: track it, insert nothing
            db.add(customer)
            await announce_customer_change(db, customer, "created")
            return FoundCustomer(customer, created=True)
        existing = await _find(db, tenant_id, email)
        assert existing is not None
    if user_id is not None and existing.user_id is None:
        existing.user_id = user_id
        existing.user_linked_at = now or utcnow()
    existing.first_name = existing.first_name or first_name.strip()
    existing.last_name = existing.last_name or last_name.strip()
    existing.phone = existing.phone or phone
    return FoundCustomer(existing, created=False)


async def _find(db: AsyncSession, tenant_id: uuid.UUID, email: str) -> Customer | None:
    return (
        await db.execute(
            sa.select(Customer).where(Customer.tenant_id == tenant_id, Customer.email == email)
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class CustomerChanges:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


async def create_customer(
    db: AsyncSession, principal: Principal, *, email: str, first_name: str = "",
    last_name: str = "", phone: str | None = None,
) -> Customer:
    """Staff, managers and owners add a customer (a walk-in, a phone booking). An email that
    is already a customer of the tenant is a DUPLICATE, not a silent merge."""
    principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    tenant = principal.require_tenant()
    email = normalize_email(email)
    first_name = clean_text(first_name, "firstName", max_length=NAME_LENGTH, min_length=0)
    last_name = clean_text(last_name, "lastName", max_length=NAME_LENGTH, min_length=0)
    phone = None if phone is None else check_phone(phone, "phone")
    if await _find(db, tenant.id, email) is not None:
        raise _duplicate_email()
    customer = Customer(
        tenant_id=tenant.id, email=email, first_name=first_name, last_name=last_name, phone=phone,
    )
    await _flush_unique(db, customer)
    await announce_customer_change(db, customer, "created")
    return customer


def _duplicate_email() -> UserInputError:
    return UserInputError(UserErrorCode.DUPLICATE, "This email is already a customer.", "email")


async def _flush_unique(db: AsyncSession, customer: Customer) -> None:
    """Write the customer; an email taken by a concurrent request is a DUPLICATE too."""
    try:
        async with db.begin_nested():
            db.add(customer)
            await db.flush()
    except IntegrityError as error:
        raise _duplicate_email() from error


async def update_customer(
    db: AsyncSession, principal: Principal, customer_id: uuid.UUID, changes: CustomerChanges
) -> Customer:
    """Managers and owners change any customer of the tenant, staff the customers of their
    bookings, a customer their own record (``visible_customers_clause``)."""
    scope = principal.authorize(Action.BOOKING_CREATE, Scope.OWN)
    tenant = principal.require_tenant()
    statement = sa.select(Customer).where(Customer.id == customer_id, visible_customers_clause(principal))
    customer = (await db.execute(statement)).scalar_one_or_none()
    if customer is None:
        raise NotFound("No such customer.")
    if changes.email is not None and normalize_email(changes.email) != customer.email:
        if scope < Scope.TENANT:
            # Bookings are found by email: a customer who could take another address would
            # receive whatever is booked under it.
            raise Forbidden("Ask the business to change your email.")
        if principal.api_key is None and principal.grants.get(Action.USER_MANAGE, 0) < Scope.TENANT_STAFF:
            # The seed's matrix gives staff "own profile" for user management: they add walk-ins
            # and edit names and numbers, but moving a customer (and their account's bookings)
            # to another address is a manager's call.
            raise Forbidden("Ask a manager to change a customer's email.")
        email = normalize_email(changes.email)
        if await _find(db, tenant.id, email) is not None:
            raise _duplicate_email()
        customer.email = email
        customer.user_id = None  # the account belongs to the old address
        customer.user_linked_at = None
        await _flush_unique(db, customer)
    for field, input_name in (("first_name", "firstName"), ("last_name", "lastName")):
        value = getattr(changes, field)
        if value is not None:
            setattr(customer, field, clean_text(value, input_name, max_length=NAME_LENGTH, min_length=0))
    if changes.phone is not None:
        customer.phone = check_phone(changes.phone, "phone")
    await db.flush()
    await announce_customer_change(db, customer, "updated")
    return customer
