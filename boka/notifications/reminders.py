"""When a booking's reminders are due.

Reminders are planned from the booking as it is now: one per tenant lead time (default 24 h and
2 h before), only those still in the future. Moving a booking plans new ones for the new time;
the old ones still fire but find that the booking no longer starts then and send nothing
(``send_booking_reminder`` checks), and a cancelled booking's reminders likewise send nothing.
So there is nothing to unschedule, and a lost "unschedule" can never send a wrong reminder.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.models.bookings import Booking, BookingStatus
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.notifications.preferences import reminder_lead_minutes
from boka.runtime import Runtime


@dataclass(frozen=True)
class PlannedReminder:
    booking_id: uuid.UUID
    lead_minutes: int
    start: datetime  # the booking's start the reminder is for
    send_at: datetime

    @property
    def job_id(self) -> str:
        # RQ job ids allow letters, digits, '_' and '-' only.
        return f"reminder-{self.booking_id}-{self.lead_minutes}-{int(self.start.timestamp())}"


async def plan_reminders(
    runtime: Runtime, tenant_id: uuid.UUID, booking_id: uuid.UUID, *, now: datetime | None = None
) -> list[PlannedReminder]:
    now = now or utcnow()
    async with runtime.database.transaction(tenant_id) as db:
        booking = await db.get(Booking, booking_id)
        tenant = await db.get(Tenant, tenant_id)
    if booking is None or tenant is None:
        return []
    return reminders_for(booking, tenant, now=now)


def reminders_for(booking: Booking, tenant: Tenant, *, now: datetime) -> list[PlannedReminder]:
    """The reminders of a booking still to be sent: one per tenant lead time, if confirmed."""
    if booking.status != BookingStatus.CONFIRMED:
        return []
    planned = []
    for lead in reminder_lead_minutes(tenant):
        send_at = booking.start_time - timedelta(minutes=lead)
        if send_at > now:
            planned.append(PlannedReminder(booking.id, lead, booking.start_time, send_at))
    return planned


async def upcoming_reminders(
    db: AsyncSession, *, now: datetime, page: int = 1_000
) -> AsyncIterator[tuple[uuid.UUID, PlannedReminder]]:
    """(tenant id, reminder) for every confirmed booking still ahead, in every tenant (the
    transaction must see all tenants): what the job store holds when nothing was lost."""
    tenants: dict[uuid.UUID, Tenant] = {}
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = (
            sa.select(Booking)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.start_time > now)
            .order_by(Booking.start_time, Booking.id)
            .limit(page)
        )
        if after is not None:  # keyset: compared column by column, so each binds as its type
            start, booking_id = after
            query = query.where(sa.or_(
                Booking.start_time > start, sa.and_(Booking.start_time == start, Booking.id > booking_id)
            ))
        bookings = list((await db.execute(query)).scalars())
        for booking in bookings:
            tenant = tenants.get(booking.tenant_id)
            if tenant is None:
                tenant = tenants[booking.tenant_id] = await db.get(Tenant, booking.tenant_id)
            if tenant is not None:
                for reminder in reminders_for(booking, tenant, now=now):
                    yield booking.tenant_id, reminder
        if len(bookings) < page:
            return
        after = (bookings[-1].start_time, bookings[-1].id)
