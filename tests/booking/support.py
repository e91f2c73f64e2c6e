"""Builders for booking tests: services with staff who work every day, straight into the DB."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from boka.models.catalog import Resource, Service, ServiceResource, StaffMember, StaffService
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from tests.support import Person, World

ZONE = "Europe/Berlin"


def gid(type_name: str, row_id: object) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def local(day: date, hour: int, minute: int = 0, zone: str = ZONE) -> datetime:
    """A wall-clock time on ``day`` in ``zone``, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone))


def future_day(days: int = 3) -> date:
    return (utcnow() + timedelta(days=days)).astimezone(ZoneInfo(ZONE)).date()


@dataclass
class Staffed:
    service: Service
    staff: list[StaffMember]
    people: list[Person]

    @property
    def service_id(self) -> str:
        return gid("Service", self.service.id)

    def staff_id(self, index: int = 0) -> str:
        return gid("StaffMember", self.staff[index].id)


class BookingWorld:
    def __init__(self, world: World) -> None:
        self.world = world
        self.database = world.runtime.database

    async def staffed_service(
        self,
        tenant: Tenant,
        *,
        staff_count: int = 1,
        hours: tuple[time, time] = (time(9), time(17)),
        breaks: tuple[tuple[time, time], ...] = (),
        **service_fields: object,
    ) -> Staffed:
        people = [await self.world.person(tenant, Role.STAFF) for _ in range(staff_count)]
        fields: dict[str, object] = {
            "name": "Haircut", "duration_minutes": 60, "price_cents": 5000, "currency": "EUR",
            "slot_interval_minutes": 30,
        }
        fields.update(service_fields)
        async with self.database.transaction(tenant.id, write=True) as db:
            service = Service(tenant_id=tenant.id, **fields)  # type: ignore[arg-type]
            db.add(service)
            members = []
            for index, person in enumerate(people):
                member = StaffMember(
                    tenant_id=tenant.id, user_id=person.user.id, display_name=f"Staff {index}",
                    time_zone=ZONE, created_at=utcnow() + timedelta(microseconds=index),
                )
                db.add(member)
                await db.flush()
                db.add(StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id))
                for weekday in range(7):
                    db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id,
                                       weekday=weekday, start_time=hours[0], end_time=hours[1]))
                    for start, end in breaks:
                        db.add(WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id,
                                           weekday=weekday, start_time=start, end_time=end, is_break=True))
                members.append(member)
        return Staffed(service=service, staff=members, people=people)

    async def add_staff(self, tenant: Tenant, staffed: Staffed) -> None:
        """Another staff member who performs the same service, with the same hours."""
        extra = await self.staffed_service(tenant)
        async with self.database.transaction(tenant.id, write=True) as db:
            db.add(StaffService(tenant_id=tenant.id, staff_member_id=extra.staff[0].id, service_id=staffed.service.id))
        staffed.staff.append(extra.staff[0])
        staffed.people.append(extra.people[0])

    async def room(self, tenant: Tenant, *services: Service, name: str = "Room 1") -> Resource:
        async with self.database.transaction(tenant.id, write=True) as db:
            resource = Resource(tenant_id=tenant.id, name=name)
            db.add(resource)
            await db.flush()
            for service in services:
                db.add(ServiceResource(service_id=service.id, resource_id=resource.id, tenant_id=tenant.id))
        return resource
