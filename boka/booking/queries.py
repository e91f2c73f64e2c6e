"""Reading bookings and customers, within what the principal may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import visible_bookings, visible_customers_clause
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.pagination import Page, keyset_page


@dataclass(frozen=True)
class BookingFilter:
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: tuple[BookingStatus, ...] = ()
    staff_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None


async def list_bookings(
    db: AsyncSession, principal: Principal, criteria: BookingFilter, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[Booking]:
    """Bookings by start time, filtered, limited to the principal's scope."""
    statement = sa.select(Booking).where(visible_bookings(principal))
    if criteria.starts_from is not None:
        statement = statement.where(Booking.start_time >= criteria.starts_from)
    if criteria.starts_before is not None:
        statement = statement.where(Booking.start_time < criteria.starts_before)
    if criteria.statuses:
        statement = statement.where(Booking.status.in_(criteria.statuses))
    for column, value in (
        (Booking.staff_id, criteria.staff_id),
        (Booking.customer_id, criteria.customer_id),
        (Booking.service_id, criteria.service_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return await keyset_page(
        db, statement, sort_column=Booking.start_time, id_column=Booking.id, first=first, after=after, last=last, before=before
    )


async def list_customers(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[Customer]:
    """The tenant's customers: for managers and owners all, for staff those of their
    bookings (customers ask for their own profile instead)."""
    principal.authorize(Action.BOOKING_VIEW, Scope.ASSIGNED)
    statement = sa.select(Customer).where(visible_customers_clause(principal))
    return await keyset_page(
        db, statement, sort_column=Customer.created_at, id_column=Customer.id, first=first, after=after, last=last, before=before
    )


async def bookings_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Booking]:
    statement = sa.select(Booking).where(Booking.id.in_(ids), visible_bookings(principal))
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def visible_customers(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Customer]:
    """Of ``ids``, the tenant's customers the principal may see (``visible_customers_clause``)."""
    statement = sa.select(Customer).where(Customer.id.in_(ids), visible_customers_clause(principal))
    return {row.id: row for row in (await db.execute(statement)).scalars()}
