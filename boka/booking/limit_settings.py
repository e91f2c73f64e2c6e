"""Setting booking limits: managers and owners give a service or a staff member its limits per
day, week or month (boka/booking/limits.py), replacing the ones it had. Availability changes
with them, so the change is announced like any catalogue change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import get_in_tenant, require_catalog_manager
from boka.booking.limits import BookingLimit, checked_limits, stored_limits
from boka.events.catalog import announce_service_change, announce_staff_change
from boka.identity.principal import Principal
from boka.models.catalog import Service, StaffMember


async def set_service_limits(
    db: AsyncSession, principal: Principal, service_id: uuid.UUID, limits: Sequence[BookingLimit]
) -> Service:
    """The service's limits become ``limits`` (an empty list lifts them all)."""
    tenant = require_catalog_manager(principal)
    checked = checked_limits(limits)
    service = await get_in_tenant(db, Service, service_id, tenant_id=tenant.id, label="service", lock=True)
    service.booking_limits = stored_limits(checked)
    await db.flush()
    await announce_service_change(db, service, "limits_set")
    return service


async def set_staff_limits(
    db: AsyncSession, principal: Principal, staff_member_id: uuid.UUID, limits: Sequence[BookingLimit]
) -> StaffMember:
    """The staff member's limits (on their bookings of any service) become ``limits``."""
    tenant = require_catalog_manager(principal)
    checked = checked_limits(limits)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=True
    )
    member.booking_limits = stored_limits(checked)
    await db.flush()
    await announce_staff_change(db, member, "limits_set")
    return member
