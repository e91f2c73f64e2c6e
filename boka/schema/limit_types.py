"""The GraphQL type of one booking limit (boka/booking/limits.py), shown on services and staff
members (boka/schema/catalog.py); setting limits is in boka/schema/limits.py."""

from __future__ import annotations

from typing import Any

import strawberry

from boka.booking.limits import LimitPeriod, limits_of

BookingLimitPeriod = strawberry.enum(
    LimitPeriod, name="BookingLimitPeriod",
    description="A period of the tenant's calendar, in the tenant's time zone.",
)


@strawberry.type(
    name="BookingLimit",
    description="At most so many bookings, or booked minutes, in each period; a booking counts "
    "in the period its start falls in, while pending or confirmed.",
)
class BookingLimitType:
    period: BookingLimitPeriod  # type: ignore[valid-type]
    max_bookings: int | None = strawberry.field(
        default=None, description="Bookings per period; null: not limited by count."
    )
    max_minutes: int | None = strawberry.field(
        default=None, description="Booked minutes (appointment time, buffers left out) per "
        "period; null: not limited by time."
    )


def booking_limit_types(stored: Any) -> list[BookingLimitType]:
    return [
        BookingLimitType(period=limit.period, max_bookings=limit.max_bookings, max_minutes=limit.max_minutes)
        for limit in limits_of(stored)
    ]
