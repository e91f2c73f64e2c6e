"""Waitlists: customers in line for a service's time (optionally one staff member, one class
session, a time range), first come, first served.

Joining, leaving and listing live here; offering freed time, claiming, declining and expiring
offers in ``boka.booking.waitlist_offers``. Customers manage their own entries (signed in), a
guest joins by email (and is reached by email); staff, managers and owners see and manage the
business's whole line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import is_staff_side_principal
from boka.booking.engine import CustomerDetails, customer_for, load_service
from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.events.waitlist import WAITLIST_JOINED, WAITLIST_LEFT, announce_entry
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Customer
from boka.models.catalog import StaffService
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.models.tenancy import Tenant
from boka.models.waitlist import WaitlistEntry, WaitlistStatus
from boka.pagination import Page, keyset_page

OFFER_MINUTES_SETTING = "waitlist_offer_minutes"
DEFAULT_OFFER_MINUTES = 15
MAX_OFFER_MINUTES = 24 * 60
IN_LINE = (WaitlistStatus.WAITING.value, WaitlistStatus.OFFERED.value)


@dataclass(frozen=True)
class WaitlistRequest:
    service_id: uuid.UUID
    staff_id: uuid.UUID | None = None
    class_session_id: uuid.UUID | None = None
    earliest: datetime | None = None  # the appointment starts at or after this
    latest: datetime | None = None  # ... and ends by this
    seats: int = 1
    customer: CustomerDetails | None = None


def _invalid(message: str, field: str) -> UserInputError:
    return UserInputError(UserErrorCode.INVALID_INPUT, message, field)


# --- the business's setting ------------------------------------------------------------------

def offer_minutes_of(settings: dict | None) -> int:  # type: ignore[type-arg]
    value = (settings or {}).get(OFFER_MINUTES_SETTING)
    return int(value) if isinstance(value, int) and value >= 1 else DEFAULT_OFFER_MINUTES


async def offer_minutes(db: AsyncSession, tenant_id: uuid.UUID) -> int:
    """How long an offer holds its time. Read from the row: a change applies at once."""
    settings = (
        await db.execute(sa.select(Tenant.settings).where(Tenant.id == tenant_id))
    ).scalar_one_or_none()
    return offer_minutes_of(settings)


async def set_offer_minutes(db: AsyncSession, principal: Principal, *, minutes: int) -> int:
    """Managers and owners decide how long an offer holds its time (1 minute to 1 day)."""
    principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    if not 1 <= minutes <= MAX_OFFER_MINUTES:
        raise _invalid(f"Hold offers for 1 to {MAX_OFFER_MINUTES} minutes.", "offerMinutes")
    statement = sa.select(Tenant).where(Tenant.id == principal.require_tenant().id)
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    tenant = (await db.execute(statement)).scalar_one()
    tenant.settings = {**(tenant.settings or {}), OFFER_MINUTES_SETTING: minutes}
    await db.flush()
    return minutes


# --- who sees what ---------------------------------------------------------------------------

def visible_entries(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause: the business's line for staff, managers, owners (and API keys that read
    bookings); a signed-in customer's own entries; nothing for anyone else."""
    tenant = principal.require_tenant()
    in_tenant = WaitlistEntry.tenant_id == tenant.id
    if is_staff_side_principal(principal):
        return in_tenant
    if principal.user is None or principal.scope(Action.BOOKING_VIEW) is None:
        return sa.false()
    own = sa.select(Customer.id).where(
        Customer.tenant_id == tenant.id, Customer.user_id == principal.user.id
    )
    return sa.and_(in_tenant, WaitlistEntry.customer_id.in_(own))


async def entries_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, WaitlistEntry]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(WaitlistEntry).where(WaitlistEntry.id.in_(ids), visible_entries(principal))
    )
    return {entry.id: entry for entry in rows.scalars()}


async def list_entries(
    db: AsyncSession, principal: Principal, *, service_id: uuid.UUID | None,
    statuses: tuple[WaitlistStatus, ...], first: int | None, after: str | None,
    last: int | None = None, before: str | None = None,
) -> Page[WaitlistEntry]:
    """The line in order (first come first): the principal's own entries, or the business's."""
    statement = sa.select(WaitlistEntry).where(visible_entries(principal))
    if service_id is not None:
        statement = statement.where(WaitlistEntry.service_id == service_id)
    if statuses:
        statement = statement.where(WaitlistEntry.status.in_([s.value for s in statuses]))
    return await keyset_page(
        db, statement, sort_column=WaitlistEntry.created_at, id_column=WaitlistEntry.id,
        first=first, after=after, last=last, before=before,
    )


# --- joining and leaving ---------------------------------------------------------------------

async def join_waitlist(
    db: AsyncSession, principal: Principal, request: WaitlistRequest, *, now: datetime
) -> WaitlistEntry:
    """Put a customer in line: a signed-in customer themselves, a guest by email, staff any
    customer. Refused (a user error, nothing written) for a range that is over, a staff member
    who does not perform the service, a session of another service or one that is over, or a
    second place in the same line."""
    tenant = principal.require_tenant()
    if principal.api_key is not None:
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    service = await load_service(db, tenant, request.service_id)
    if not 1 <= request.seats <= service.capacity:
        raise _invalid(f"Ask for 1 to {service.capacity} seats.", "seats")
    if request.earliest and request.latest and request.earliest >= request.latest:
        raise _invalid("'earliest' must be before 'latest'.", "latest")
    if request.latest is not None and request.latest <= now:
        raise _invalid("This time range is over.", "latest")
    if request.staff_id is not None:
        performs = (await db.execute(sa.select(StaffService.staff_member_id).where(
            StaffService.staff_member_id == request.staff_id,
            StaffService.service_id == service.id,
        ))).scalar_one_or_none()
        if performs is None:
            raise _invalid("No such staff member performs this service.", "staffId")
    if request.class_session_id is not None:
        session = (await db.execute(sa.select(ClassSession).where(
            ClassSession.id == request.class_session_id, ClassSession.tenant_id == tenant.id,
        ))).scalar_one_or_none()
        if session is None or session.service_id != service.id:
            raise _invalid("No such class session of this service.", "classSessionId")
        if session.status != ClassSessionStatus.SCHEDULED.value or session.start_time <= now:
            raise _invalid("This class session is cancelled or over.", "classSessionId")
    customer = await customer_for(db, principal, request.customer, now=now)
    already = (await db.execute(sa.select(WaitlistEntry.id).where(
        WaitlistEntry.tenant_id == tenant.id,
        WaitlistEntry.customer_id == customer.id,
        WaitlistEntry.service_id == service.id,
        WaitlistEntry.staff_id.is_(None) if request.staff_id is None
        else WaitlistEntry.staff_id == request.staff_id,
        WaitlistEntry.class_session_id.is_(None) if request.class_session_id is None
        else WaitlistEntry.class_session_id == request.class_session_id,
        WaitlistEntry.status.in_(IN_LINE),
    ).limit(1))).scalar_one_or_none()
    if already is not None:
        raise UserInputError(UserErrorCode.DUPLICATE, "Already on this waitlist.", "serviceId")
    entry = WaitlistEntry(
        tenant_id=tenant.id, customer_id=customer.id, service_id=service.id,
        staff_id=request.staff_id, class_session_id=request.class_session_id,
        earliest=request.earliest, latest=request.latest, seats=request.seats,
        status=WaitlistStatus.WAITING.value, created_at=now, updated_at=now,
    )
    db.add(entry)
    await db.flush()
    await announce_entry(db, entry, customer, WAITLIST_JOINED)
    return entry


async def load_entry(
    db: AsyncSession, principal: Principal, entry_id: uuid.UUID, *, for_update: bool = False
) -> WaitlistEntry:
    """The entry if the principal may see it; NOT_FOUND otherwise (never FORBIDDEN, which
    would confirm that the id exists)."""
    statement = sa.select(WaitlistEntry).where(
        WaitlistEntry.id == entry_id, visible_entries(principal)
    )
    if for_update and db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    entry = (await db.execute(statement)).scalar_one_or_none()
    if entry is None:
        raise NotFound("No such waitlist entry.")
    return entry


async def leave_waitlist(
    db: AsyncSession, principal: Principal, entry_id: uuid.UUID, *, now: datetime
) -> WaitlistEntry:
    """Take an entry out of line (its customer, or the business). An entry holding an open
    offer declines it first, so its time goes to the next in line."""
    from boka.booking.waitlist_offers import decline_open_offer_of

    if principal.user is None and principal.api_key is None:
        raise NotFound("No such waitlist entry.")
    if principal.api_key is not None:
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    entry = await load_entry(db, principal, entry_id, for_update=True)
    if entry.status not in IN_LINE:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, f"This entry is {entry.status}, no longer in line."
        )
    if entry.status == WaitlistStatus.OFFERED.value:
        await decline_open_offer_of(db, principal, entry, now=now)
    entry.status = WaitlistStatus.LEFT.value
    entry.updated_at = now
    await db.flush()
    customer = await db.get(Customer, entry.customer_id)
    assert customer is not None
    await announce_entry(db, entry, customer, WAITLIST_LEFT)
    return entry

