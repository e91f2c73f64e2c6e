"""GraphQL types of the catalogue: money, services, staff members and resources.

``ServiceType``, ``StaffMemberType``, ``ResourceType`` and ``MoneyType`` are shared: other
domains' types (bookings) build them with ``from_model``. Node lookups re-check the tenant, so
a node of another tenant, or a hidden (inactive) one, resolves to null.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from boka.booking.catalog import (
    manages_catalog,
    resources_of_services,
    visible_resources,
    visible_services,
)
from boka.booking.policies import LateReschedule
from boka.booking.external_calendars import feeds_of_staff
from boka.booking.schedules import schedule_overrides_of, time_off_of, weekly_hours_of_staff
from boka.booking.staff import services_of_staff_members, staff_of_services, visible_staff_members
from boka.models.catalog import Resource, Service, StaffMember, StaffService
from boka.schema.errors import UserError
from boka.schema.external_calendars import ExternalCalendarType
from boka.schema.limit_types import BookingLimitType, booking_limit_types
from boka.schema.schedules import ScheduleOverrideType, TimeOffType, WeeklyHoursType
from boka.schema.transactions import resolve_visible_nodes


@strawberry.type(name="Money", description="An amount in minor units (cents) of a currency.")
class MoneyType:
    amount: int = strawberry.field(description="Minor units, e.g. 1250 for 12.50 EUR.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. EUR.")


LateReschedulePolicy = strawberry.enum(LateReschedule, name="LateReschedulePolicy")


@strawberry.type(name="CancellationPolicy")
class CancellationPolicyType:
    free_cancel_hours: int = strawberry.field(
        description="Cancelling at least this many hours before the start is free."
    )
    late_cancel_refund_percent: int = strawberry.field(
        description="The share of the payment refunded for a later cancellation."
    )
    late_reschedule: LateReschedulePolicy = strawberry.field(  # type: ignore[valid-type]
        description="What a reschedule inside the window does: REFUSE it, or allow it for a FEE "
        "(what a late cancellation would keep), which a later cancellation keeps too."
    )


@strawberry.type(name="Service", description="Something the tenant sells by the appointment.")
class ServiceType(relay.Node):
    id: relay.NodeID[str]
    name: str
    description: str
    duration_minutes: int
    price: MoneyType
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    max_advance_days: int
    slot_interval_minutes: int
    capacity: int = strawberry.field(description="Seats per slot; more than 1 for a class.")
    requires_confirmation: bool
    cancellation_policy: CancellationPolicyType
    active: bool
    created_at: datetime
    booking_limits: list[BookingLimitType] = strawberry.field(
        description="At most so many bookings (or minutes) of the service, with anyone, per day, "
        "week or month; none by default."
    )
    service_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who performs the service.")
    async def staff(self, info: strawberry.Info) -> list[StaffMemberType]:
        members = await info.context.loaders.related(staff_of_services).load(self.service_id)
        return [StaffMemberType.from_model(member) for member in members]

    @strawberry.field(description="What a booking of the service holds besides the staff member.")
    async def resources(self, info: strawberry.Info) -> list[ResourceType]:
        rows = await info.context.loaders.related(resources_of_services).load(self.service_id)
        return [ResourceType.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, service: Service) -> ServiceType:
        return cls(
            id=str(service.id),
            name=service.name,
            description=service.description,
            duration_minutes=service.duration_minutes,
            price=MoneyType(amount=service.price_cents, currency=service.currency),
            buffer_before_minutes=service.buffer_before_minutes,
            buffer_after_minutes=service.buffer_after_minutes,
            min_notice_minutes=service.min_notice_minutes,
            max_advance_days=service.max_advance_days,
            slot_interval_minutes=service.slot_interval_minutes,
            capacity=service.capacity,
            requires_confirmation=service.requires_confirmation,
            cancellation_policy=CancellationPolicyType(
                free_cancel_hours=service.free_cancel_hours,
                late_cancel_refund_percent=service.late_cancel_refund_percent,
                late_reschedule=LateReschedule(service.late_reschedule),
            ),
            active=service.active,
            created_at=service.created_at,
            booking_limits=booking_limit_types(service.booking_limits),
            service_id=service.id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ServiceType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_services, cls.from_model)


@strawberry.type(name="StaffServiceLink", description="A service a staff member performs.")
class StaffServiceLinkType:
    service: ServiceType
    price_override: MoneyType | None = strawberry.field(
        description="The staff member's own price, if it differs from the service's."
    )
    duration_minutes_override: int | None

    @classmethod
    def from_model(cls, link: StaffService, service: Service) -> StaffServiceLinkType:
        price = link.price_cents
        return cls(
            service=ServiceType.from_model(service),
            price_override=(
                None if price is None else MoneyType(amount=price, currency=service.currency)
            ),
            duration_minutes_override=link.duration_minutes,
        )


@strawberry.type(name="StaffMember", description="A member of the tenant who delivers services.")
class StaffMemberType(relay.Node):
    id: relay.NodeID[str]
    display_name: str
    time_zone: str = strawberry.field(description="The IANA zone the schedule is written in.")
    active: bool
    created_at: datetime
    booking_limits: list[BookingLimitType] = strawberry.field(
        description="At most so many bookings (or minutes) with this staff member, of any "
        "service, per day, week or month; none by default."
    )
    staff_member_id: strawberry.Private[uuid.UUID]
    user_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Their sign-in email; null unless you manage the catalogue.")
    async def email(self, info: strawberry.Info) -> str | None:
        if not manages_catalog(info.context.principal):
            return None
        user = await info.context.loaders.user_by_id.load(self.user_id)
        return user.email if user is not None else None

    @strawberry.field
    async def services(self, info: strawberry.Info) -> list[StaffServiceLinkType]:
        pairs = await info.context.loaders.related(services_of_staff_members).load(
            self.staff_member_id
        )
        return [StaffServiceLinkType.from_model(link, service) for link, service in pairs]

    @strawberry.field(description="The recurring week, in local time; weekday 0 is Monday.")
    async def weekly_hours(self, info: strawberry.Info) -> list[WeeklyHoursType]:
        rows = await info.context.loaders.related(weekly_hours_of_staff).load(self.staff_member_id)
        return [WeeklyHoursType.from_model(row) for row in rows]

    @strawberry.field(description="Date overrides from 'from' to 'to', both included.")
    async def overrides(
        self,
        info: strawberry.Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> list[ScheduleOverrideType]:
        loader = info.context.loaders.related(schedule_overrides_of, from_, to)
        return [ScheduleOverrideType.from_model(row) for row in await loader.load(self.staff_member_id)]

    @strawberry.field(description="Time off overlapping [from, to); for managers and owners.")
    async def time_off(
        self,
        info: strawberry.Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> list[TimeOffType]:
        loader = info.context.loaders.related(time_off_of, from_, to)
        return [TimeOffType.from_model(row) for row in await loader.load(self.staff_member_id)]

    @strawberry.field(
        description="Calendars this staff member attached (busy time from Google, Outlook, iCloud); "
        "for the staff member themself and for managers and owners, else empty."
    )
    async def external_calendars(self, info: strawberry.Info) -> list[ExternalCalendarType]:
        rows = await info.context.loaders.related(feeds_of_staff).load(self.staff_member_id)
        return [ExternalCalendarType.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, member: StaffMember) -> StaffMemberType:
        return cls(
            id=str(member.id),
            display_name=member.display_name,
            time_zone=member.time_zone,
            active=member.active,
            created_at=member.created_at,
            booking_limits=booking_limit_types(member.booking_limits),
            staff_member_id=member.id,
            user_id=member.user_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[StaffMemberType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_staff_members, cls.from_model)


@strawberry.type(name="Resource", description="A room, chair or piece of equipment.")
class ResourceType(relay.Node):
    id: relay.NodeID[str]
    name: str
    kind: str
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, resource: Resource) -> ResourceType:
        return cls(
            id=str(resource.id),
            name=resource.name,
            kind=resource.kind,
            active=resource.active,
            created_at=resource.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ResourceType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_resources, cls.from_model)


@strawberry.type
class ServicePayload:
    service: ServiceType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StaffMemberPayload:
    staff_member: StaffMemberType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignServicePayload:
    link: StaffServiceLinkType | None = None
    staff_member: StaffMemberType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResourcePayload:
    resource: ResourceType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MoneyInput:
    amount: int = strawberry.field(description="Minor units (cents); 0 or more.")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the tenant's currency when left out."
    )


@strawberry.input
class CancellationPolicyInput:
    free_cancel_hours: int | None = None
    late_cancel_refund_percent: int | None = None
    late_reschedule: LateReschedulePolicy | None = None  # type: ignore[valid-type]


@strawberry.input
class CreateServiceInput:
    name: str
    duration_minutes: int = strawberry.field(description="5 to 720.")
    price: MoneyInput
    description: str = ""
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int | None = strawberry.field(
        default=None, description="Left out: the business's default, else 0."
    )
    max_advance_days: int | None = strawberry.field(
        default=None, description="Left out: the business's default, else 90."
    )
    slot_interval_minutes: int = 15
    capacity: int = 1
    requires_confirmation: bool = False
    cancellation_policy: CancellationPolicyInput | None = strawberry.field(
        default=None, description="What it leaves out comes from the business's defaults, else 24 h, 0 %, REFUSE."
    )


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateServiceInput:
    id: relay.GlobalID
    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    price: MoneyInput | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    min_notice_minutes: int | None = None
    max_advance_days: int | None = None
    slot_interval_minutes: int | None = None
    capacity: int | None = None
    requires_confirmation: bool | None = None
    cancellation_policy: CancellationPolicyInput | None = None


@strawberry.input
class SetServiceActiveInput:
    id: relay.GlobalID
    active: bool


@strawberry.input
class CreateStaffMemberInput:
    email: str = strawberry.field(description="Of a staff member, manager or owner of the tenant.")
    display_name: str
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone of their schedule; the tenant's when left out."
    )


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateStaffMemberInput:
    id: relay.GlobalID
    display_name: str | None = None
    time_zone: str | None = None
    active: bool | None = None


@strawberry.input
class AssignServiceInput:
    staff_member_id: relay.GlobalID
    service_id: relay.GlobalID
    price_override: int | None = strawberry.field(
        default=None, description="Minor units of the service's currency."
    )
    duration_minutes_override: int | None = None


@strawberry.input
class UnassignServiceInput:
    staff_member_id: relay.GlobalID
    service_id: relay.GlobalID


@strawberry.input
class CreateResourceInput:
    name: str
    kind: str = "room"


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateResourceInput:
    id: relay.GlobalID
    name: str | None = None
    kind: str | None = None
    active: bool | None = None


@strawberry.input
class SetServiceResourcesInput:
    service_id: relay.GlobalID
    resource_ids: list[relay.GlobalID] = strawberry.field(
        description="Every resource a booking of the service holds; replaces the current ones."
    )
