"""The events of a booking's change: ``booking.<action>`` and, when the time it holds moved,
was taken or was freed, ``availability.changed``. Called from ``boka.booking.history.record``,
the one place every booking change passes through, in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import already_loaded
from boka.events.availability import (
    record_availability_change,
    services_affected_by_booking,
)
from boka.events.outbox import record_event
from boka.events.types import AVAILABILITY, BOOKING, booking_event_type, global_id
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember


@dataclass(frozen=True)
class BookingNames:
    """What an integrator shows for a booking without asking the API back."""

    customer: str
    service: str
    staff: str


async def booking_names(db: AsyncSession, booking: Booking) -> BookingNames:
    """From the rows the transaction already holds (a new booking's), else one read."""
    customer = already_loaded(db, Customer, booking.customer_id)
    service = already_loaded(db, Service, booking.service_id)
    staff = already_loaded(db, StaffMember, booking.staff_id)
    if customer is not None and service is not None and staff is not None:
        return BookingNames(
            " ".join(p for p in (customer.first_name, customer.last_name) if p),
            service.name, staff.display_name,
        )
    customer_first, customer_last, service, staff = (await db.execute(
        sa.select(Customer.first_name, Customer.last_name, Service.name, StaffMember.display_name)
        .select_from(Booking)
        .join(Customer, Customer.id == Booking.customer_id)
        .join(Service, Service.id == Booking.service_id)
        .join(StaffMember, StaffMember.id == Booking.staff_id)
        .where(Booking.id == booking.id)
    )).one()
    return BookingNames(" ".join(p for p in (customer_first, customer_last) if p), service, staff)


def booking_payload(
    booking: Booking, action: str, from_status: BookingStatus | None, actor_user_id: uuid.UUID | None,
    names: BookingNames | None = None,
) -> dict[str, Any]:
    """Raw UUIDs (``*_id``, kept for existing integrations) and, for each object, its Relay
    global id and name (``booking``, ``customer``, ``service``, ``staff``)."""
    linked = {
        "booking": {"id": global_id("Booking", booking.id)},
        "customer": {"id": global_id("Customer", booking.customer_id),
                     "name": names.customer if names else None},
        "service": {"id": global_id("Service", booking.service_id),
                    "name": names.service if names else None},
        "staff": {"id": global_id("StaffMember", booking.staff_id),
                  "name": names.staff if names else None},
    }
    return {
        **linked,
        "price": {"amount": booking.price_cents, "currency": booking.currency},
        "booking_id": str(booking.id),
        "action": action,
        "status": BookingStatus(booking.status).value,
        "from_status": from_status.value if from_status else None,
        "service_id": str(booking.service_id),
        "staff_id": str(booking.staff_id),
        "customer_id": str(booking.customer_id),
        "start": booking.start_time.isoformat(),
        "end": booking.end_time.isoformat(),
        "seats": booking.seats,
        "actor_user_id": str(actor_user_id) if actor_user_id else None,
        # an occurrence of a booking series: which series, and which occurrence (0 first)
        **({"series": {"id": global_id("BookingSeries", booking.series_id),
                       "index": booking.series_index}}
           if booking.series_id is not None else {}),
    }


async def announce_booking_change(
    db: AsyncSession,
    booking: Booking,
    action: str,
    from_status: BookingStatus | None,
    *,
    actor_user_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    await record_event(
        db,
        tenant_id=booking.tenant_id,
        aggregate_type=BOOKING,
        aggregate_id=booking.id,
        type=booking_event_type(action),
        payload=booking_payload(
            booking, action, from_status, actor_user_id, await booking_names(db, booking)
        ),
    )
    ranges, staff_ids = _held_time_changes(booking, from_status, details)
    if not ranges:
        return
    # a move frees its old time; otherwise time is freed only by leaving the active states
    freed = len(ranges) > 1 or (from_status in ACTIVE_STATUSES
                                and BookingStatus(booking.status) not in ACTIVE_STATUSES)
    services = await services_affected_by_booking(db, staff_ids, booking.service_id)
    await record_availability_change(
        # its own stream, so the booking's own events number 1, 2, 3… without gaps
        db, tenant_id=booking.tenant_id, aggregate_type=AVAILABILITY, aggregate_id=booking.id,
        service_ids=services, staff_ids=staff_ids,
        start=min(start for start, _ in ranges), end=max(end for _, end in ranges), freed=freed,
    )


def _held_time_changes(
    booking: Booking, from_status: BookingStatus | None, details: dict[str, Any]
) -> tuple[list[tuple[datetime, datetime]], set[uuid.UUID]]:
    """The blocks of time taken or freed by this change, and whose time it was."""
    block = (booking.block_start, booking.block_end)
    was_active = from_status in ACTIVE_STATUSES
    is_active = BookingStatus(booking.status) in ACTIVE_STATUSES
    moved_from = details.get("from") if isinstance(details.get("from"), dict) else None
    if moved_from and "start" in moved_from and "end" in moved_from:  # rescheduled
        before = booking.start_time - booking.block_start
        after = booking.block_end - booking.end_time
        old_block = (
            datetime.fromisoformat(moved_from["start"]) - before,
            datetime.fromisoformat(moved_from["end"]) + after,
        )
        staff = {booking.staff_id, uuid.UUID(moved_from["staff_id"])}
        return [old_block, block], staff
    if was_active != is_active or (from_status is None and is_active):
        return [block], {booking.staff_id}
    return [], set()
