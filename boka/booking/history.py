"""The audit trail of a booking: one row per change, with who made it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
    db.add(
        BookingHistory(
            tenant_id=booking.tenant_id,
            booking_id=booking.id,
            actor_user_id=principal.user.id if principal.user else None,
            action=action,
            from_status=from_status.value if from_status else None,
            to_status=BookingStatus(booking.status).value,
            details=details or {},
        )
    )
    await db.flush()
