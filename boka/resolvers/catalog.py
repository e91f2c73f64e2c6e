"""Resolvers for the catalogue: services, staff members and resources, plus the Query and
Mutation classes of the catalogue, schedules and price administration.

Thin: decode the input (global IDs to row ids) → call the domain → map rows to types.
Expected failures become the payload's ``errors`` and nothing is written; an ID of a row that
does not exist, or belongs to another tenant, is a NOT_FOUND error.
"""

from __future__ import annotations

import strawberry

from boka.booking import catalog, staff
from boka.resolvers import pricing_admin as pricing_resolvers
from boka.resolvers import schedules as schedule_resolvers
from boka.resolvers.context import Info
from boka.schema.catalog import (
    AssignServiceInput,
    AssignServicePayload,
    CreateResourceInput,
    CreateServiceInput,
    CreateStaffMemberInput,
    ResourcePayload,
    ResourceType,
    ServicePayload,
    ServiceType,
    SetServiceActiveInput,
    SetServiceResourcesInput,
    StaffMemberPayload,
    StaffMemberType,
    StaffServiceLinkType,
    UnassignServiceInput,
    UpdateResourceInput,
    UpdateServiceInput,
    UpdateStaffMemberInput,
)
from boka.schema.ids import row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.pricing_admin import (
    DeletePricingRulePayload,
    DiscountCodePayload,
    DiscountCodeType,
    PricingRulePayload,
    PricingRuleType,
)
from boka.schema.rate_limits import admin_limited
from boka.schema.schedules import (
    RemoveScheduleOverridePayload,
    RemoveTimeOffPayload,
    ScheduleOverridePayload,
    SetWeeklyHoursPayload,
    TimeOffPayload,
)
from boka.schema.transactions import read, write

# --- queries ---


async def services(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
    include_inactive: bool = False,
) -> Connection[ServiceType]:
    page = await read(
        info,
        lambda db, p: catalog.list_services(
            db, p, first=first, after=after, last=last, before=before, include_inactive=include_inactive
        ),
    )
    return connection_from_page(page, ServiceType.from_model, counted_in_read(info))


async def staff_members(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[StaffMemberType]:
    page = await read(info, lambda db, p: staff.list_staff_members(
        db, p, first=first, after=after, last=last, before=before))
    return connection_from_page(page, StaffMemberType.from_model, counted_in_read(info))


async def resources(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[ResourceType]:
    page = await read(info, lambda db, p: catalog.list_resources(
        db, p, first=first, after=after, last=last, before=before))
    return connection_from_page(page, ResourceType.from_model, counted_in_read(info))


# --- services, staff and resources ---


def _service_fields(input: CreateServiceInput | UpdateServiceInput) -> catalog.ServiceFields:
    policy = input.cancellation_policy
    return catalog.ServiceFields(
        name=input.name,
        description=input.description,
        duration_minutes=input.duration_minutes,
        price_cents=input.price.amount if input.price else None,
        currency=input.price.currency if input.price else None,
        buffer_before_minutes=input.buffer_before_minutes,
        buffer_after_minutes=input.buffer_after_minutes,
        min_notice_minutes=input.min_notice_minutes,
        max_advance_days=input.max_advance_days,
        slot_interval_minutes=input.slot_interval_minutes,
        capacity=input.capacity,
        requires_confirmation=input.requires_confirmation,
        free_cancel_hours=policy.free_cancel_hours if policy else None,
        late_cancel_refund_percent=policy.late_cancel_refund_percent if policy else None,
        late_reschedule=policy.late_reschedule if policy else None,
    )


async def create_service(info: Info, input: CreateServiceInput) -> ServicePayload:
    row, errors = await write(
        info, lambda db, p: catalog.create_service(db, p, _service_fields(input))
    )
    service = ServiceType.from_model(row) if row else None
    return ServicePayload(service=service, errors=errors)


async def update_service(info: Info, input: UpdateServiceInput) -> ServicePayload:
    row, errors = await write(
        info,
        lambda db, p: catalog.update_service(
            db, p, row_id(input.id, "Service", "id"), _service_fields(input)
        ),
    )
    service = ServiceType.from_model(row) if row else None
    return ServicePayload(service=service, errors=errors)


async def set_service_active(info: Info, input: SetServiceActiveInput) -> ServicePayload:
    row, errors = await write(
        info,
        lambda db, p: catalog.set_service_active(
            db, p, row_id(input.id, "Service", "id"), active=input.active
        ),
    )
    service = ServiceType.from_model(row) if row else None
    return ServicePayload(service=service, errors=errors)


async def create_staff_member(info: Info, input: CreateStaffMemberInput) -> StaffMemberPayload:
    row, errors = await write(
        info,
        lambda db, p: staff.create_staff_member(
            db, p, email=input.email, display_name=input.display_name, time_zone=input.time_zone
        ),
    )
    staff_member = StaffMemberType.from_model(row) if row else None
    return StaffMemberPayload(staff_member=staff_member, errors=errors)


async def update_staff_member(info: Info, input: UpdateStaffMemberInput) -> StaffMemberPayload:
    row, errors = await write(
        info,
        lambda db, p: staff.update_staff_member(
            db,
            p,
            row_id(input.id, "StaffMember", "id"),
            display_name=input.display_name,
            time_zone=input.time_zone,
            active=input.active,
        ),
    )
    staff_member = StaffMemberType.from_model(row) if row else None
    return StaffMemberPayload(staff_member=staff_member, errors=errors)


async def assign_service(info: Info, input: AssignServiceInput) -> AssignServicePayload:
    assignment, errors = await write(
        info,
        lambda db, p: staff.assign_service(
            db,
            p,
            staff_member_id=row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
            service_id=row_id(input.service_id, "Service", "serviceId"),
            price_cents=input.price_override,
            duration_minutes=input.duration_minutes_override,
        ),
    )
    if assignment is None:
        return AssignServicePayload(errors=errors)
    return AssignServicePayload(
        link=StaffServiceLinkType.from_model(assignment.link, assignment.service),
        staff_member=StaffMemberType.from_model(assignment.staff_member),
    )


async def unassign_service(info: Info, input: UnassignServiceInput) -> StaffMemberPayload:
    row, errors = await write(
        info,
        lambda db, p: staff.unassign_service(
            db,
            p,
            staff_member_id=row_id(input.staff_member_id, "StaffMember", "staffMemberId"),
            service_id=row_id(input.service_id, "Service", "serviceId"),
        ),
    )
    staff_member = StaffMemberType.from_model(row) if row else None
    return StaffMemberPayload(staff_member=staff_member, errors=errors)


async def create_resource(info: Info, input: CreateResourceInput) -> ResourcePayload:
    row, errors = await write(
        info, lambda db, p: catalog.create_resource(db, p, name=input.name, kind=input.kind)
    )
    resource = ResourceType.from_model(row) if row else None
    return ResourcePayload(resource=resource, errors=errors)


async def update_resource(info: Info, input: UpdateResourceInput) -> ResourcePayload:
    row, errors = await write(
        info,
        lambda db, p: catalog.update_resource(
            db,
            p,
            row_id(input.id, "Resource", "id"),
            name=input.name,
            kind=input.kind,
            active=input.active,
        ),
    )
    resource = ResourceType.from_model(row) if row else None
    return ResourcePayload(resource=resource, errors=errors)


async def set_service_resources(info: Info, input: SetServiceResourcesInput) -> ServicePayload:
    row, errors = await write(
        info,
        lambda db, p: catalog.set_service_resources(
            db,
            p,
            row_id(input.service_id, "Service", "serviceId"),
            [
                row_id(resource_id, "Resource", f"resourceIds.{index}")
                for index, resource_id in enumerate(input.resource_ids)
            ],
        ),
    )
    service = ServiceType.from_model(row) if row else None
    return ServicePayload(service=service, errors=errors)


@strawberry.type
class CatalogQuery:
    services: Connection[ServiceType] = strawberry.field(
        resolver=services,
        description="The tenant's services; includeInactive is for managers and owners.",
    )
    staff_members: Connection[StaffMemberType] = strawberry.field(resolver=staff_members)
    resources: Connection[ResourceType] = strawberry.field(resolver=resources)
    pricing_rules: list[PricingRuleType] = strawberry.field(
        resolver=pricing_resolvers.pricing_rules,
        description="Every pricing rule, in the order they apply (managers and owners).",
    )
    discount_codes: Connection[DiscountCodeType] = strawberry.field(
        resolver=pricing_resolvers.discount_codes, description="For managers and owners."
    )


@strawberry.type(description="Every catalogue change needs a manager or owner.")
class CatalogMutation:
    create_service: ServicePayload = strawberry.field(
        resolver=create_service, extensions=admin_limited()
    )
    update_service: ServicePayload = strawberry.field(
        resolver=update_service, extensions=admin_limited()
    )
    set_service_active: ServicePayload = strawberry.field(
        resolver=set_service_active, extensions=admin_limited()
    )
    create_staff_member: StaffMemberPayload = strawberry.field(
        resolver=create_staff_member, extensions=admin_limited()
    )
    update_staff_member: StaffMemberPayload = strawberry.field(
        resolver=update_staff_member, extensions=admin_limited()
    )
    assign_service: AssignServicePayload = strawberry.field(
        resolver=assign_service, extensions=admin_limited()
    )
    unassign_service: StaffMemberPayload = strawberry.field(
        resolver=unassign_service, extensions=admin_limited()
    )
    set_weekly_hours: SetWeeklyHoursPayload = strawberry.field(
        resolver=schedule_resolvers.set_weekly_hours,
        description="Replace the whole week at once.",
        extensions=admin_limited(),
    )
    add_schedule_override: ScheduleOverridePayload = strawberry.field(
        resolver=schedule_resolvers.add_schedule_override, extensions=admin_limited()
    )
    remove_schedule_override: RemoveScheduleOverridePayload = strawberry.field(
        resolver=schedule_resolvers.remove_schedule_override, extensions=admin_limited()
    )
    add_time_off: TimeOffPayload = strawberry.field(
        resolver=schedule_resolvers.add_time_off, extensions=admin_limited()
    )
    remove_time_off: RemoveTimeOffPayload = strawberry.field(
        resolver=schedule_resolvers.remove_time_off, extensions=admin_limited()
    )
    create_resource: ResourcePayload = strawberry.field(
        resolver=create_resource, extensions=admin_limited()
    )
    update_resource: ResourcePayload = strawberry.field(
        resolver=update_resource, extensions=admin_limited()
    )
    set_service_resources: ServicePayload = strawberry.field(
        resolver=set_service_resources,
        description="Replace the resources the service holds.",
        extensions=admin_limited(),
    )
    create_pricing_rule: PricingRulePayload = strawberry.field(
        resolver=pricing_resolvers.create_pricing_rule, extensions=admin_limited()
    )
    delete_pricing_rule: DeletePricingRulePayload = strawberry.field(
        resolver=pricing_resolvers.delete_pricing_rule, extensions=admin_limited()
    )
    create_discount_code: DiscountCodePayload = strawberry.field(
        resolver=pricing_resolvers.create_discount_code, extensions=admin_limited()
    )
    set_discount_code_active: DiscountCodePayload = strawberry.field(
        resolver=pricing_resolvers.set_discount_code_active, extensions=admin_limited()
    )
