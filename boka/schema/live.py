"""Types pushed by live subscriptions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from boka.schema.booking import BookingStatusEnum, BookingType


@strawberry.type(name="BookingEvent", description="A change of a booking, as it happened.")
class BookingEventType:
    event_id: strawberry.ID = strawberry.field(
        description="Unique per event: a client that sees one twice (after a reconnect) can drop it."
    )
    type: str = strawberry.field(
        description="booking.created, booking.confirmed, booking.rescheduled, booking.cancelled, "
        "booking.completed, booking.no_show, …"
    )
    sequence: int = strawberry.field(description="1, 2, 3… per booking, in the order of its changes.")
    occurred_at: datetime
    status: BookingStatusEnum  # type: ignore[valid-type]
    booking: BookingType = strawberry.field(description="The booking as it is now.")
    customer_name: str | None = strawberry.field(
        default=None, description="The customer's name when the change happened."
    )
    service_name: str | None = strawberry.field(
        default=None, description="The service's name when the change happened."
    )
    staff_name: str | None = strawberry.field(
        default=None, description="The staff member's name when the change happened."
    )
