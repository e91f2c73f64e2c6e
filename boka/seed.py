"""The demo tenant `make run` starts with, so a newcomer has something to sign in to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.class_sessions import new_session
from boka.booking.timetables import WeeklyTimetable, timetable_starts
from boka.db import Database, scope_to_tenant
from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.models.catalog import Resource, Service, ServiceResource, StaffMember, StaffService
from boka.models.pricing import DiscountCode, PricingRule
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from boka.tenancy import create_tenant, find_tenant

DEMO_SLUG = "demo"
DEMO_PASSWORD = "boka-demo-password"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: Role


DEMO_PEOPLE = (
    DemoPerson("owner@demo.boka.test", "Olivia Owner", Role.OWNER),
    DemoPerson("manager@demo.boka.test", "Max Manager", Role.MANAGER),
    DemoPerson("anna@demo.boka.test", "Anna Stylist", Role.STAFF),
    DemoPerson("ben@demo.boka.test", "Ben Barber", Role.STAFF),
    DemoPerson("cleo@demo.boka.test", "Cleo Colorist", Role.STAFF),
    DemoPerson("carl@example.com", "Carl Customer", Role.CUSTOMER),
    DemoPerson("dana@example.com", "Dana Customer", Role.CUSTOMER),
)


async def seed_demo_tenant(database: Database) -> bool:
    """Create the demo tenant and its people unless it exists. True if it was created now."""
    async with database.transaction(write=True) as db:
        if await find_tenant(db, DEMO_SLUG) is not None:
            return False
        tenant = await create_tenant(
            db,
            name="Demo Studio",
            slug=DEMO_SLUG,
            domain="localhost",  # so http://localhost:8000 finds it without an X-Tenant header
            time_zone="Europe/Berlin",
            currency="EUR",
        )
        await scope_to_tenant(db, tenant.id)  # what follows is the new tenant's
        staff = []
        for person in DEMO_PEOPLE:
            user = await register_user(
                db, email=person.email, password=DEMO_PASSWORD, full_name=person.full_name
            )
            await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=person.role)
            if person.role is Role.STAFF:
                member = StaffMember(
                    tenant_id=tenant.id, user_id=user.id, display_name=person.full_name,
                    time_zone=tenant.time_zone,
                )
                db.add(member)
                staff.append(member)
        await db.flush()
        await _seed_catalog(db, tenant, staff)
    return True


# (name, minutes, price in cents, extra settings)
DEMO_SERVICES = (
    ("Haircut", 45, 4500, {"buffer_after_minutes": 15}),
    ("Colour", 90, 9000, {"buffer_after_minutes": 15, "free_cancel_hours": 48,
                          "late_cancel_refund_percent": 50}),
    ("Beard trim", 20, 2000, {"slot_interval_minutes": 20}),
    ("Morning yoga", 60, 1500, {"capacity": 8, "slot_interval_minutes": 60}),
)
# Morning yoga is sold as a timetable: Anna teaches it Monday, Wednesday and Friday at 09:00
# (the tenant's time) for the next eight weeks.
YOGA_TIMETABLE_DAYS = frozenset({0, 2, 4})
YOGA_TIMETABLE_WEEKS = 8


async def _seed_catalog(db: AsyncSession, tenant: Tenant, staff: list[StaffMember]) -> None:
    """Services everyone on the staff performs, Mon–Sat 09:00–17:00 with a lunch break,
    the yoga timetable, a colour station the Colour service needs, an off-peak rule and a
    welcome code."""
    services = []
    for name, minutes, price, extra in DEMO_SERVICES:
        service = Service(
            tenant_id=tenant.id, name=name, duration_minutes=minutes, price_cents=price,
            currency=tenant.currency, **extra,  # type: ignore[arg-type]
        )
        db.add(service)
        services.append(service)
    await db.flush()
    for member in staff:
        for service in services:
            db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
        for weekday in range(6):
            db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                               start_time=time(9), end_time=time(17)))
            db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=weekday,
                               start_time=time(12, 30), end_time=time(13), is_break=True))
    _seed_yoga_timetable(db, tenant, services[3], staff[0])
    station = Resource(tenant_id=tenant.id, name="Colour station", kind="equipment")
    db.add(station)
    await db.flush()
    db.add(ServiceResource(service_id=services[1].id, resource_id=station.id, tenant_id=tenant.id))
    db.add(PricingRule(tenant_id=tenant.id, name="Off-peak mornings", kind="percent", amount=-10,
                       weekdays=[1, 2, 3], starts_at=time(9), ends_at=time(12)))
    db.add(DiscountCode(tenant_id=tenant.id, code="WELCOME10", kind="percent", value=10,
                        once_per_customer=True))
    await db.flush()


def _seed_yoga_timetable(db: AsyncSession, tenant: Tenant, yoga: Service, instructor: StaffMember) -> None:
    now = utcnow()
    zone = ZoneInfo(tenant.time_zone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    timetable = WeeklyTimetable(
        weekdays=YOGA_TIMETABLE_DAYS, local_time=time(9), first_day=tomorrow,
        last_day=tomorrow + timedelta(weeks=YOGA_TIMETABLE_WEEKS),
    )
    for start in timetable_starts(timetable, zone):
        db.add(new_session(yoga, instructor.id, start, now=now))
