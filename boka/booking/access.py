"""Which bookings a principal may see and change: the RBAC scopes applied to rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking, Customer
from boka.models.catalog import StaffMember


def visible_bookings(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause: the request tenant's bookings that the principal's scope reaches.

    Customers see their own (bookings made for the customer record linked to their account,
    since it was linked: emails are unverified, so earlier guest bookings stay hidden, and so
    do later ones a guest made under that email until the guest proved it), staff
    the ones assigned to them, managers and owners the whole tenant.
    """
    tenant = principal.require_tenant()
    scope = principal.scope(Action.BOOKING_VIEW)
    # a slot hold nobody has booked yet is nobody's booking (boka/booking/holds.py)
    in_tenant = sa.and_(Booking.tenant_id == tenant.id, Booking.customer_id.is_not(None))
    if scope is None:
        return sa.false()
    if scope >= Scope.TENANT:
        return in_tenant
    user = principal.require_user()
    if scope >= Scope.ASSIGNED:
        mine = sa.select(StaffMember.id).where(
            StaffMember.tenant_id == tenant.id, StaffMember.user_id == user.id
        )
        return sa.and_(in_tenant, Booking.staff_id.in_(mine))
    own = sa.exists().where(
        Customer.id == Booking.customer_id,
        Customer.tenant_id == tenant.id,
        Customer.user_id == user.id,
        Booking.created_at >= Customer.user_linked_at,
    )
    return sa.and_(in_tenant, own, Booking.awaiting_email_proof.is_(False))


def visible_customers_clause(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause: the request tenant's customers the principal may read (and, with
    booking rights, edit). Managers, owners and API keys: all of them; staff: the customers of
    the bookings they see (issue 12 item 9: the seed's matrix gives staff their own profile for
    user management, not the customer list); customers: the record linked to their account."""
    tenant = principal.require_tenant()
    scope = principal.scope(Action.BOOKING_VIEW)
    in_tenant = Customer.tenant_id == tenant.id
    if scope is None:
        return sa.false()
    if scope >= Scope.TENANT:
        return in_tenant
    if scope >= Scope.ASSIGNED:
        booked = sa.select(Booking.customer_id).where(visible_bookings(principal))
        return sa.and_(in_tenant, Customer.id.in_(booked))
    return sa.and_(in_tenant, Customer.user_id == principal.require_user().id)


def is_staff_side_principal(principal: Principal) -> bool:
    scope = principal.scope(Action.BOOKING_VIEW)
    return scope is not None and scope >= Scope.ASSIGNED


def require_staff_side(principal: Principal) -> None:
    """Confirming, completing and marking no-shows is for staff, managers and owners."""
    principal.authorize(Action.BOOKING_VIEW, Scope.ASSIGNED)


def can_book_for_others(principal: Principal) -> bool:
    scope = principal.scope(Action.BOOKING_CREATE)
    return scope is not None and scope >= Scope.TENANT


async def visible_booking(
    db: AsyncSession, principal: Principal, booking_id: uuid.UUID
) -> Booking | None:
    """The booking if the principal may see it now (the rules of ``visible_bookings``)."""
    statement = sa.select(Booking).where(Booking.id == booking_id, visible_bookings(principal))
    return (await db.execute(statement)).scalar_one_or_none()


@dataclass(frozen=True)
class BookingFacts:
    """A booking with what decides who may see it: whose staff member it is assigned to, and
    whose customer record (linked since when) it is for. Read once, judged for many viewers."""

    booking: Booking
    staff_tenant_id: uuid.UUID | None
    staff_user_id: uuid.UUID | None
    customer_tenant_id: uuid.UUID | None
    customer_user_id: uuid.UUID | None
    customer_linked_at: datetime | None


async def booking_facts(db: AsyncSession, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> BookingFacts | None:
    """The booking of the tenant with its staff member's and customer's links, in one query."""
    statement = (
        sa.select(
            Booking, StaffMember.tenant_id, StaffMember.user_id,
            Customer.tenant_id, Customer.user_id, Customer.user_linked_at,
        )
        .outerjoin(StaffMember, StaffMember.id == Booking.staff_id)
        .outerjoin(Customer, Customer.id == Booking.customer_id)
        .where(Booking.id == booking_id, Booking.tenant_id == tenant_id)
    )
    row = (await db.execute(statement)).one_or_none()
    return None if row is None else BookingFacts(*row)


@dataclass(frozen=True)
class BookingViewer:
    """What of a principal decides which bookings they see: the rules of ``visible_bookings``
    applied to a booking already read (``BookingFacts``), so that many viewers can be judged
    against one read. Managers and owners of a tenant are all the same viewer (no user)."""

    tenant_id: uuid.UUID
    scope: Scope | None
    user_id: uuid.UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> BookingViewer:
        tenant = principal.require_tenant()
        scope = principal.scope(Action.BOOKING_VIEW)
        if scope is None or scope >= Scope.TENANT:
            return cls(tenant.id, scope)
        return cls(tenant.id, scope, principal.require_user().id)

    def sees(self, facts: BookingFacts) -> bool:
        booking = facts.booking
        if self.scope is None or booking.tenant_id != self.tenant_id:
            return False
        if self.scope >= Scope.TENANT:
            return True
        if self.scope >= Scope.ASSIGNED:
            return facts.staff_tenant_id == self.tenant_id and facts.staff_user_id == self.user_id
        return (
            facts.customer_tenant_id == self.tenant_id
            and facts.customer_user_id == self.user_id
            and facts.customer_linked_at is not None
            and booking.created_at >= facts.customer_linked_at
            and not booking.awaiting_email_proof
        )
