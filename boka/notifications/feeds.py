"""Each staff member's private, revocable ICS feed of their bookings.

The feed URL carries a random token; only its SHA-256 is stored, so the database cannot give
the URL away. Issuing a new token replaces the old one (rotation), revoking deletes it. Staff
manage their own feed; managers and owners those of their tenant's staff.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import get_in_tenant
from boka.config import Settings
from boka.db import Database
from boka.errors import Forbidden
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.notifications import StaffCalendarFeed
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.notifications.ics import FeedEntry, staff_feed

TOKEN_PREFIX = "bkc_"
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=365)
FEED_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


@dataclass(frozen=True)
class IssuedFeed:
    staff_member: StaffMember
    token: str  # shown once; only its hash is kept
    url: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/calendar/{token}.ics"


async def _staff_member_for(db: AsyncSession, principal: Principal, staff_member_id: uuid.UUID) -> StaffMember:
    tenant = principal.require_tenant()
    user = principal.require_user()
    member = await get_in_tenant(db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member")
    manages = (principal.scope(Action.USER_MANAGE) or 0) >= Scope.TENANT_STAFF
    if member.user_id != user.id and not manages:
        raise Forbidden("Only the staff member or a manager can manage this calendar feed.")
    return member


async def issue_feed(
    db: AsyncSession, principal: Principal, staff_member_id: uuid.UUID, settings: Settings
) -> IssuedFeed:
    """A new feed URL for the staff member; any earlier URL stops working."""
    member = await _staff_member_for(db, principal, staff_member_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    existing = await db.get(StaffCalendarFeed, member.id, with_for_update=True)
    if existing is None:
        db.add(StaffCalendarFeed(staff_member_id=member.id, tenant_id=member.tenant_id,
                                 token_hash=hash_token(token)))
    else:
        existing.token_hash = hash_token(token)
        existing.created_at = utcnow()
    await db.flush()
    return IssuedFeed(staff_member=member, token=token, url=feed_url(settings, token))


async def revoke_feed(db: AsyncSession, principal: Principal, staff_member_id: uuid.UUID) -> StaffMember:
    """The feed URL stops working at once (nothing happens if there was none)."""
    member = await _staff_member_for(db, principal, staff_member_id)
    await db.execute(sa.delete(StaffCalendarFeed).where(StaffCalendarFeed.staff_member_id == member.id))
    return member


async def has_feed(db: AsyncSession, staff_member_id: uuid.UUID) -> bool:
    return await db.get(StaffCalendarFeed, staff_member_id) is not None


async def render_feed(
    database: Database, settings: Settings, token: str, *, now: datetime | None = None
) -> bytes | None:
    """The calendar for a feed token, or None if the token is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    # The token names the tenant, so finding it is a deliberate cross-tenant lookup.
    async with database.transaction(all_tenants=True) as db:
        feed = (
            await db.execute(sa.select(StaffCalendarFeed).where(StaffCalendarFeed.token_hash == hash_token(token)))
        ).scalar_one_or_none()
    if feed is None:
        return None
    now = now or utcnow()
    async with database.transaction(feed.tenant_id) as db:
        member = await db.get(StaffMember, feed.staff_member_id)
        tenant = await db.get(Tenant, feed.tenant_id)
        assert member is not None and tenant is not None
        rows = (
            await db.execute(
                sa.select(Booking, Service.name, Customer.first_name, Customer.last_name, Customer.email)
                .join(Service, Service.id == Booking.service_id)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(
                    Booking.tenant_id == feed.tenant_id,
                    Booking.staff_id == member.id,
                    Booking.status.in_(FEED_STATUSES),
                    Booking.start_time >= now - FEED_PAST,
                    Booking.start_time < now + FEED_FUTURE,
                )
                .order_by(Booking.start_time)
            )
        ).all()
    entries = [
        FeedEntry(booking=booking, service_name=service_name,
                  customer_name=f"{first} {last}".strip() or email)
        for booking, service_name, first, last, email in rows
    ]
    return staff_feed(entries, calendar_name=f"{member.display_name} · {tenant.name}",
                      public_url=settings.public_url, now=now)
