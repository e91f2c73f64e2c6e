"""Each staff member's daily agenda: their bookings of the day, in their time zone, by email.

An hourly sweep (``due_agendas`` + ``send_staff_agenda``) sends a staff member's agenda once
their local clock has passed the tenant's agenda hour (default 07:00), at most once per staff
member and local day (the dedupe key), and not later than a few hours after that hour, so a
worker that was down all day does not mail a stale agenda at night. Days without bookings send
nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from boka.models.bookings import ACTIVE_STATUSES, Booking, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.identity import User
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.notifications.delivery import Message, Outcome, deliver
from boka.notifications.email import OutgoingEmail
from boka.notifications.kinds import Channel, MessageKind
from boka.notifications.preferences import agenda_hour, message_language
from boka.notifications.templates import render
from boka.notifications.wording import local_date, local_time, wording_for
from boka.runtime import Runtime

SEND_WINDOW_HOURS = 3


@dataclass(frozen=True)
class DueAgenda:
    tenant_id: uuid.UUID
    staff_member_id: uuid.UUID
    day: date


async def due_agendas(runtime: Runtime, *, now: datetime | None = None) -> list[DueAgenda]:
    """Active staff members, across all tenants, whose agenda hour has come today (local)."""
    now = now or utcnow()
    async with runtime.database.transaction(all_tenants=True) as db:
        rows = (
            await db.execute(
                sa.select(StaffMember.id, StaffMember.time_zone, Tenant)
                .join(Tenant, Tenant.id == StaffMember.tenant_id)
                .where(StaffMember.active.is_(True))
            )
        ).all()
    due = []
    for staff_id, zone, tenant in rows:
        local_now = now.astimezone(ZoneInfo(zone))
        hour = agenda_hour(tenant)
        if hour <= local_now.hour < hour + SEND_WINDOW_HOURS:
            due.append(DueAgenda(tenant.id, staff_id, local_now.date()))
    return due


async def send_staff_agenda(
    runtime: Runtime, tenant_id: uuid.UUID, staff_member_id: uuid.UUID, day: date
) -> Outcome | None:
    """The agenda email for ``day`` (the staff member's local date); None if nothing to send."""
    senders = runtime.senders
    if not senders.configured(Channel.EMAIL):
        return None
    async with runtime.database.transaction(tenant_id) as db:
        row = (
            await db.execute(
                sa.select(StaffMember, User.email, Tenant)
                .join(User, User.id == StaffMember.user_id)
                .join(Tenant, Tenant.id == StaffMember.tenant_id)
                .where(StaffMember.id == staff_member_id, StaffMember.tenant_id == tenant_id)
            )
        ).one_or_none()
        if row is None:
            return None
        staff, email, tenant = row
        zone = ZoneInfo(staff.time_zone)
        start = datetime.combine(day, time(0), zone)
        end = datetime.combine(day + timedelta(days=1), time(0), zone)
        bookings = (
            await db.execute(
                sa.select(Booking, Service.name, Customer)
                .join(Service, Service.id == Booking.service_id)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(
                    Booking.tenant_id == tenant_id, Booking.staff_id == staff.id,
                    Booking.status.in_(ACTIVE_STATUSES),
                    Booking.start_time >= start, Booking.start_time < end,
                )
                .order_by(Booking.start_time)
            )
        ).all()
        if not bookings:
            return None
        language = message_language(None, tenant, runtime.settings)
        lines = []
        for booking, service_name, customer in bookings:
            name = f"{customer.first_name} {customer.last_name}".strip() or customer.email
            contact = f", {customer.phone}" if customer.phone else ""
            lines.append(
                f"{local_time(booking.start_time, staff.time_zone)}-"
                f"{local_time(booking.end_time, staff.time_zone)}  {service_name}: {name}{contact}"
            )
        wording = await wording_for(db, tenant_id, MessageKind.STAFF_DAILY_AGENDA, Channel.EMAIL, language)
    text = render(wording, {
        "staff_name": staff.display_name, "business_name": tenant.name,
        "date": local_date(start, staff.time_zone, language), "time_zone": staff.time_zone,
        "count": str(len(lines)), "agenda": "\n".join(lines),
    })
    message = Message(
        tenant_id=tenant_id, dedupe_key=f"agenda:{staff.id}:{day.isoformat()}",
        kind=MessageKind.STAFF_DAILY_AGENDA, channel=Channel.EMAIL, recipient=email,
        email=OutgoingEmail(to=email, subject=text.subject, body=text.body),
    )
    return await deliver(runtime.database, senders, message)
