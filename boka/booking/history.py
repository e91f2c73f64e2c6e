"""The audit trail of a booking: one row per change, with who made it.

Every booking change passes through ``record``, so it is also where the change is announced:
the ``booking.<action>`` event (and ``availability.changed`` when held time moved) goes into
the outbox in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from boka.events.bookings import announce_booking_change
from boka.identity.principal import Principal
from boka.models.bookings import Booking, BookingHistory, BookingStatus


async def record(
    db: AsyncSession,
    booking: Booking,
    principal: Principal,
    action: str,
    from_status: BookingStatus | None,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    actor_user_id = principal.user.id if principal.user else None
    db.add(
        BookingHistory(
            tenant_id=booking.tenant_id,
            booking_id=booking.id,
            actor_user_id=actor_user_id,
            action=action,
            from_status=from_status.value if from_status else None,
            to_status=BookingStatus(booking.status).value,
            details=details or {},
        )
    )
    await db.flush()
    await announce_booking_change(
        db, booking, action, from_status, actor_user_id=actor_user_id, details=details or {}
    )
