"""The events of a booking's change: ``booking.<action>`` and, when the time it holds moved,
was taken or was freed, ``availability.changed``. Called from ``boka.booking.history.record``,
the one place every booking change passes through, in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.availability import (
    record_availability_change,
    services_affected_by_booking,
)
from boka.events.outbox import record_event
from boka.events.types import BOOKING, booking_event_type
from boka.models.bookings import ACTIVE_STATUSES, Booking, BookingStatus


def booking_payload(
    booking: Booking, action: str, from_status: BookingStatus | None, actor_user_id: uuid.UUID | None
) -> dict[str, Any]:
    return {
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
        payload=booking_payload(booking, action, from_status, actor_user_id),
    )
    ranges, staff_ids = _held_time_changes(booking, from_status, details)
    if not ranges:
        return
    services = await services_affected_by_booking(db, staff_ids, booking.service_id)
    await record_availability_change(
        db, tenant_id=booking.tenant_id, aggregate_type=BOOKING, aggregate_id=booking.id,
        service_ids=services, staff_ids=staff_ids,
        start=min(start for start, _ in ranges), end=max(end for _, end in ranges),
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
