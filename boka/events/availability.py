"""``availability.changed``: which services' slots may have changed, for whom, and when.

Subscribers of ``availabilityChanged`` match on the service ids and the time range, then
recompute their window. The service set is broad on purpose (every service the affected staff
perform, and every service sharing a resource): a false alarm costs one recomputation that
pushes nothing, a missed one leaves a stale calendar.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from boka.events.outbox import iso, record_event
from boka.events.types import AVAILABILITY_CHANGED
from boka.models.catalog import ServiceResource, StaffService


async def services_of_staff(db: AsyncSession, staff_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(staff_ids)
    if not ids:
        return set()
    statement = sa.select(StaffService.service_id).where(StaffService.staff_member_id.in_(ids))
    return set((await db.execute(statement)).scalars())


async def services_affected_by_booking(
    db: AsyncSession, staff_ids: Iterable[uuid.UUID], service_id: uuid.UUID
) -> set[uuid.UUID]:
    """The services a booking's time touches, in one statement: those the staff perform,
    those sharing a resource with its service, and its service."""
    other = aliased(ServiceResource)
    sharing = (
        sa.select(other.service_id)
        .join(ServiceResource, ServiceResource.resource_id == other.resource_id)
        .where(ServiceResource.service_id == service_id)
    )
    ids = list(staff_ids)
    if ids:
        performed = sa.select(StaffService.service_id).where(StaffService.staff_member_id.in_(ids))
        sharing = sa.union(performed, sharing)  # type: ignore[assignment]
    return set((await db.execute(sharing)).scalars()) | {service_id}


async def record_availability_change(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    service_ids: Iterable[uuid.UUID],
    staff_ids: Iterable[uuid.UUID] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    freed: bool | None = None,
) -> None:
    """Announce that slots of ``service_ids`` between ``start`` and ``end`` (None: open
    ended) may have changed. Nothing is written when no service is affected. ``freed`` says
    whether time may have come free (False: it was only taken, e.g. a new booking), for those
    who care only about that (waitlists); left out, it may have."""
    services = sorted({str(s) for s in service_ids})
    if not services:
        return
    await record_event(
        db,
        tenant_id=tenant_id,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        type=AVAILABILITY_CHANGED,
        payload={
            "service_ids": services,
            "staff_ids": sorted({str(s) for s in staff_ids}),
            "start": iso(start),
            "end": iso(end),
            **({} if freed is None else {"freed": freed}),
        },
    )


async def record_staff_availability_change(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    staff_member_id: uuid.UUID,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    start: datetime | None = None,
    end: datetime | None = None,
    extra_service_ids: Iterable[uuid.UUID] = (),
) -> None:
    """A staff member's working time changed: every service they perform is affected."""
    services = await services_of_staff(db, [staff_member_id]) | set(extra_service_ids)
    await record_availability_change(
        db, tenant_id=tenant_id, aggregate_type=aggregate_type, aggregate_id=aggregate_id,
        service_ids=services, staff_ids=[staff_member_id], start=start, end=end,
    )
