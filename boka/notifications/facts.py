"""Everything a message about one booking says, read in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.models.bookings import Booking, BookingHistory, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.series import BookingSeries
from boka.models.tenancy import Tenant


@dataclass(frozen=True)
class BookingFacts:
    booking: Booking
    customer: Customer
    service: Service
    staff: StaffMember
    tenant: Tenant
    sequence: int  # the invite's SEQUENCE: how often the booking was changed since creation
    series: BookingSeries | None = None  # the series the booking is an occurrence of, if any

    @property
    def customer_name(self) -> str:
        name = f"{self.customer.first_name} {self.customer.last_name}".strip()
        return name or self.customer.email


async def load_booking_facts(db: AsyncSession, booking_id: uuid.UUID) -> BookingFacts | None:
    """The booking with its customer, service, staff member and tenant; None if it is gone."""
    row = (
        await db.execute(
            sa.select(Booking, Customer, Service, StaffMember, Tenant)
            .join(Customer, Customer.id == Booking.customer_id)
            .join(Service, Service.id == Booking.service_id)
            .join(StaffMember, StaffMember.id == Booking.staff_id)
            .join(Tenant, Tenant.id == Booking.tenant_id)
            .where(Booking.id == booking_id)
        )
    ).one_or_none()
    if row is None:
        return None
    booking, customer, service, staff, tenant = row
    series = None
    if booking.series_id is not None:
        series = (await db.execute(
            sa.select(BookingSeries).where(BookingSeries.id == booking.series_id)
        )).scalar_one_or_none()
    return BookingFacts(
        booking=booking, customer=customer, service=service, staff=staff, tenant=tenant,
        sequence=await invite_sequence(db, booking), series=series,
    )


async def invite_sequence(db: AsyncSession, booking: Booking) -> int:
    """RFC 5545 SEQUENCE for the booking's invite: 0 when made, +1 per reschedule, +1 when
    cancelled. Derived from the booking's history, so it only ever grows and needs no column."""
    changes = (
        await db.execute(
            sa.select(sa.func.count()).select_from(BookingHistory).where(
                BookingHistory.booking_id == booking.id,
                BookingHistory.action.in_(("rescheduled", "cancelled")),
            )
        )
    ).scalar_one()
    if booking.status == BookingStatus.CANCELLED and changes == 0:
        changes = 1  # cancelled without a history row (should not happen, but never go back)
    return int(changes)
