"""GraphQL types of booking limits: per service and per staff member (at most N bookings or N
booked minutes a day, week or month), and the tenant's limits on each customer's bookings."""

from __future__ import annotations

import strawberry
from strawberry import relay

from boka.booking.limits import BookingLimit, LimitPeriod
from boka.booking.policies import CustomerRules
from boka.schema.catalog import ServiceType, StaffMemberType
from boka.schema.errors import UserError
from boka.schema.limit_types import BookingLimitPeriod


@strawberry.input(description="One limit; give maxBookings, maxMinutes or both.")
class BookingLimitInput:
    period: BookingLimitPeriod  # type: ignore[valid-type]
    max_bookings: int | None = None
    max_minutes: int | None = None

    def to_limit(self) -> BookingLimit:
        return BookingLimit(LimitPeriod(self.period), self.max_bookings, self.max_minutes)


@strawberry.input(description="Replaces the service's limits; an empty list lifts them.")
class SetServiceBookingLimitsInput:
    service_id: relay.GlobalID
    limits: list[BookingLimitInput]


@strawberry.input(description="Replaces the staff member's limits; an empty list lifts them.")
class SetStaffBookingLimitsInput:
    staff_member_id: relay.GlobalID
    limits: list[BookingLimitInput]


@strawberry.type
class SetServiceBookingLimitsPayload:
    service: ServiceType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetStaffBookingLimitsPayload:
    staff_member: StaffMemberType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    name="CustomerBookingRules",
    description="The tenant's limits on each customer's bookings, enforced when booking and "
    "rescheduling (a refusal is SLOT_UNAVAILABLE with LIMIT_REACHED).",
)
class CustomerBookingRulesType:
    max_future_bookings: int | None = strawberry.field(
        description="The most pending or confirmed bookings still to come one customer may "
        "hold; null: no limit."
    )
    min_gap_minutes: int | None = strawberry.field(
        description="The least time between the end of one of a customer's bookings and the "
        "start of their next; null: none needed."
    )

    @classmethod
    def from_rules(cls, rules: CustomerRules) -> CustomerBookingRulesType:
        return cls(max_future_bookings=rules.max_future_bookings, min_gap_minutes=rules.min_gap_minutes)


@strawberry.input(description="Replaces both rules; null lifts one.")
class SetCustomerBookingRulesInput:
    max_future_bookings: int | None = None
    min_gap_minutes: int | None = None


@strawberry.type
class CustomerBookingRulesPayload:
    rules: CustomerBookingRulesType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
