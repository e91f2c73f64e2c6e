"""Events of catalogue and schedule changes: ``service.changed``, ``staff.changed``,
``schedule.changed``, ``customer.changed``, with ``availability.changed`` where slots move."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.availability import record_availability_change, record_staff_availability_change
from boka.events.outbox import iso, record_event
from boka.events.types import (
    CUSTOMER,
    CUSTOMER_CHANGED,
    SCHEDULE_CHANGED,
    SERVICE,
    SERVICE_CHANGED,
    STAFF_CHANGED,
    STAFF_MEMBER,
)
from boka.models.bookings import Customer
from boka.models.catalog import Service, StaffMember


async def announce_service_change(
    db: AsyncSession, service: Service, action: str, *, affects_slots: bool = True
) -> None:
    await record_event(
        db, tenant_id=service.tenant_id, aggregate_type=SERVICE, aggregate_id=service.id,
        type=SERVICE_CHANGED,
        payload={"service_id": str(service.id), "action": action, "active": service.active},
    )
    if affects_slots:
        await record_availability_change(
            db, tenant_id=service.tenant_id, aggregate_type=SERVICE, aggregate_id=service.id,
            service_ids=[service.id],
        )


async def announce_staff_change(
    db: AsyncSession,
    member: StaffMember,
    action: str,
    *,
    service_id: uuid.UUID | None = None,
) -> None:
    """A staff member changed (or started/stopped performing ``service_id``)."""
    await record_event(
        db, tenant_id=member.tenant_id, aggregate_type=STAFF_MEMBER, aggregate_id=member.id,
        type=STAFF_CHANGED,
        payload={
            "staff_member_id": str(member.id), "action": action, "active": member.active,
            "service_id": str(service_id) if service_id else None,
        },
    )
    await record_staff_availability_change(
        db, tenant_id=member.tenant_id, staff_member_id=member.id, aggregate_type=STAFF_MEMBER,
        aggregate_id=member.id, extra_service_ids=[service_id] if service_id else [],
    )


async def announce_schedule_change(
    db: AsyncSession,
    member: StaffMember,
    kind: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> None:
    """Working hours, an override or time off of ``member`` changed between start and end."""
    await record_event(
        db, tenant_id=member.tenant_id, aggregate_type=STAFF_MEMBER, aggregate_id=member.id,
        type=SCHEDULE_CHANGED,
        payload={"staff_member_id": str(member.id), "kind": kind, "start": iso(start), "end": iso(end)},
    )
    await record_staff_availability_change(
        db, tenant_id=member.tenant_id, staff_member_id=member.id, aggregate_type=STAFF_MEMBER,
        aggregate_id=member.id, start=start, end=end,
    )


def local_day(member: StaffMember, day: date) -> tuple[datetime, datetime]:
    """The instants of ``day`` in the staff member's zone."""
    start = datetime.combine(day, time.min, ZoneInfo(member.time_zone))
    return start, datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(member.time_zone))


async def announce_customer_change(db: AsyncSession, customer: Customer, action: str) -> None:
    await record_event(
        db, tenant_id=customer.tenant_id, aggregate_type=CUSTOMER, aggregate_id=customer.id,
        type=CUSTOMER_CHANGED, payload={"customer_id": str(customer.id), "action": action},
    )
