"""The tenant the HTTP benchmarks book against: a salon ("bench") with one 30-minute service and
staff who work around the clock every day, so any future half hour is free."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as clock

from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role, Tenant
from boka.tenancy import create_tenant

PASSWORD = "bench-password-123"


@dataclass(frozen=True)
class Salon:
    tenant: Tenant
    service: Service
    staff: list[StaffMember]


async def open_salon(db: AsyncSession, *, staff_count: int) -> Salon:
    """Create the salon in ``db``'s transaction (as the owner of the tables)."""
    tenant = await create_tenant(db, name="Bench", slug="bench", time_zone="UTC")
    service = Service(tenant_id=tenant.id, name="Cut", duration_minutes=30, price_cents=2500,
                      currency="EUR", slot_interval_minutes=30, max_advance_days=730)
    db.add(service)
    staff = []
    for index in range(staff_count):
        user = await register_user(db, email=f"staff{index}@bench.test", password=PASSWORD,
                                   full_name=f"Staff {index}")
        await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=Role.STAFF)
        member = StaffMember(tenant_id=tenant.id, user_id=user.id, display_name=f"Staff {index}",
                             time_zone="UTC")
        db.add(member)
        staff.append(member)
    await db.flush()
    for member in staff:
        db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
        for weekday in range(7):
            db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                               start_time=clock(0), end_time=clock(23, 59)))
    return Salon(tenant, service, staff)
