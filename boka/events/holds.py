"""The events of a slot hold: ``hold.created``, ``hold.converted`` (booked, and paid where it
waited for its payment), ``hold.released`` and ``hold.expired``. Their aggregate is the hold.
The payload names the held time and the hold's public reference, never its secret id nor
who held it (the events reach every webhook). The time taken or freed is announced besides,
as ``availability.changed``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.outbox import iso, record_event
from boka.events.types import global_id
from boka.models.bookings import Booking
from boka.models.holds import SlotHold

SLOT_HOLD = "slot_hold"
HOLD_CREATED = "hold.created"
HOLD_CONVERTED = "hold.converted"
HOLD_RELEASED = "hold.released"
HOLD_EXPIRED = "hold.expired"
HOLD_EVENTS = (HOLD_CREATED, HOLD_CONVERTED, HOLD_RELEASED, HOLD_EXPIRED)


def hold_payload(hold: SlotHold, held: Booking) -> dict[str, Any]:
    booked = held.customer_id is not None
    return {
        "hold": {"id": global_id("SlotHold", hold.id)},
        "service": {"id": global_id("Service", held.service_id)},
        "staff": {"id": global_id("StaffMember", held.staff_id)},
        "booking": {"id": global_id("Booking", held.id)} if booked else None,
        "hold_id": str(hold.id),
        "status": hold.status,
        "purpose": hold.purpose,
        "service_id": str(held.service_id),
        "staff_id": str(held.staff_id),
        "class_session_id": str(held.class_session_id) if held.class_session_id else None,
        "booking_id": str(held.id) if booked else None,
        "start": held.start_time.isoformat(),
        "end": held.end_time.isoformat(),
        "seats": held.seats,
        "expires_at": iso(hold.expires_at),
    }


async def announce_hold(db: AsyncSession, hold: SlotHold, held: Booking, event_type: str) -> None:
    await record_event(
        db, tenant_id=hold.tenant_id, aggregate_type=SLOT_HOLD, aggregate_id=hold.id,
        type=event_type, payload=hold_payload(hold, held),
    )
