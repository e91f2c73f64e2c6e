"""Booking limits over GraphQL: managers and owners set a service's or a staff member's limits
per day, week or month, and the tenant's limits on each customer's bookings."""

from __future__ import annotations

import strawberry

from boka.booking.limit_settings import set_service_limits, set_staff_limits
from boka.booking.policies import CustomerRules, read_customer_rules, set_customer_rules
from boka.resolvers.context import Info
from boka.schema.catalog import ServiceType, StaffMemberType
from boka.schema.ids import row_id
from boka.schema.limits import (
    CustomerBookingRulesPayload,
    CustomerBookingRulesType,
    SetCustomerBookingRulesInput,
    SetServiceBookingLimitsInput,
    SetServiceBookingLimitsPayload,
    SetStaffBookingLimitsInput,
    SetStaffBookingLimitsPayload,
)
from boka.schema.rate_limits import admin_limited
from boka.schema.transactions import read, write


async def set_service_booking_limits(
    info: Info, input: SetServiceBookingLimitsInput
) -> SetServiceBookingLimitsPayload:
    row, errors = await write(info, lambda db, principal: set_service_limits(
        db, principal, row_id(input.service_id, "Service", "serviceId"),
        [limit.to_limit() for limit in input.limits],
    ))
    return SetServiceBookingLimitsPayload(
        service=ServiceType.from_model(row) if row else None, errors=errors
    )


async def set_staff_booking_limits(
    info: Info, input: SetStaffBookingLimitsInput
) -> SetStaffBookingLimitsPayload:
    row, errors = await write(info, lambda db, principal: set_staff_limits(
        db, principal, row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
        [limit.to_limit() for limit in input.limits],
    ))
    return SetStaffBookingLimitsPayload(
        staff_member=StaffMemberType.from_model(row) if row else None, errors=errors
    )


async def customer_booking_rules(info: Info) -> CustomerBookingRulesType:
    """The tenant's limits on each customer's bookings."""
    rules = await read(info, lambda db, principal: read_customer_rules(db, principal.require_tenant().id))
    return CustomerBookingRulesType.from_rules(rules)


async def set_customer_booking_rules(
    info: Info, input: SetCustomerBookingRulesInput
) -> CustomerBookingRulesPayload:
    rules, errors = await write(info, lambda db, principal: set_customer_rules(
        db, principal, CustomerRules(input.max_future_bookings, input.min_gap_minutes)
    ))
    return CustomerBookingRulesPayload(
        rules=CustomerBookingRulesType.from_rules(rules) if rules else None, errors=errors
    )


@strawberry.type
class LimitQuery:
    customer_booking_rules: CustomerBookingRulesType = strawberry.field(
        resolver=customer_booking_rules,
        description="The tenant's limits on each customer's bookings (anyone booking here may "
        "read them).",
    )


@strawberry.type(description="Booking limits are set by managers and owners.")
class LimitMutation:
    set_service_booking_limits: SetServiceBookingLimitsPayload = strawberry.field(
        resolver=set_service_booking_limits,
        description="At most N bookings (or booked minutes) of a service per day, week or month.",
        extensions=admin_limited(),
    )
    set_staff_booking_limits: SetStaffBookingLimitsPayload = strawberry.field(
        resolver=set_staff_booking_limits,
        description="At most N bookings (or booked minutes) with a staff member per day, week or "
        "month, whatever the service.",
        extensions=admin_limited(),
    )
    set_customer_booking_rules: CustomerBookingRulesPayload = strawberry.field(
        resolver=set_customer_booking_rules,
        description="At most N upcoming bookings per customer, and a minimum gap between one "
        "customer's bookings.",
        extensions=admin_limited(),
    )
