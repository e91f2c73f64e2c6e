"""Staff members, who deliver a tenant's services, and which services each of them performs.

Access follows the rest of the catalogue (see ``boka.booking.catalog``): visitors of the tenant
see active staff, managers and owners see and change everything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import (
    SERVICE_LIMITS,
    active_unless_manager,
    get_in_tenant,
    require_catalog_manager,
)
from boka.errors import UserErrorCode, UserInputError
from boka.events.catalog import announce_staff_change
from boka.identity.accounts import find_user_by_email, normalize_email
from boka.identity.memberships import find_membership
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope, grants_for
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.schedules import WeeklyHours
from boka.models.tenancy import Role
from boka.pagination import Page, group_rows, keyset_page
from boka.validation import check_price, check_range, check_time_zone, clean_text, invalid


@dataclass(frozen=True)
class Assignment:
    """A service a staff member performs, with the rows on both sides of the link."""

    link: StaffService
    staff_member: StaffMember
    service: Service


def can_deliver_services(role: Role) -> bool:
    """Staff, managers and owners: the roles that bookings can be assigned to (not customers)."""
    scope = grants_for(role).get(Action.BOOKING_VIEW)
    return scope is not None and scope >= Scope.ASSIGNED


async def create_staff_member(
    db: AsyncSession,
    principal: Principal,
    *,
    email: str,
    display_name: str,
    time_zone: str | None = None,
) -> StaffMember:
    """Make a member of the tenant (staff, manager or owner) someone who delivers services."""
    tenant = require_catalog_manager(principal)
    user = await find_user_by_email(db, normalize_email(email))
    membership = None
    if user is not None:
        membership = await find_membership(db, tenant_id=tenant.id, user_id=user.id)
    if user is None or membership is None:
        raise invalid("No member of this tenant uses this email.", "email")
    if not can_deliver_services(membership.role):
        raise invalid("Customers cannot be staff members; give them the staff role first.", "email")
    member = StaffMember(
        tenant_id=tenant.id,
        user_id=user.id,
        display_name=clean_text(display_name, "displayName", max_length=200),
        time_zone=tenant.time_zone if time_zone is None else check_time_zone(time_zone, "timeZone"),
    )
    duplicate = UserInputError(
        UserErrorCode.DUPLICATE, "This person already is a staff member.", "email"
    )
    existing = await db.execute(
        sa.select(StaffMember.id).where(
            StaffMember.tenant_id == tenant.id, StaffMember.user_id == user.id
        )
    )
    if existing.first() is not None:
        raise duplicate
    try:
        async with db.begin_nested():
            db.add(member)
            await db.flush()
    except IntegrityError as exc:  # a concurrent request made them staff first
        raise duplicate from exc
    from boka.business.defaults import default_week  # the business package builds on this one

    db.add_all(
        WeeklyHours(tenant_id=tenant.id, staff_member_id=member.id, weekday=interval.weekday,
                    start_time=interval.start, end_time=interval.end, is_break=interval.is_break)
        for interval in await default_week(db, tenant)
    )
    await db.flush()
    return member


async def update_staff_member(
    db: AsyncSession,
    principal: Principal,
    staff_member_id: uuid.UUID,
    *,
    display_name: str | None = None,
    time_zone: str | None = None,
    active: bool | None = None,
) -> StaffMember:
    tenant = require_catalog_manager(principal)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member"
    )
    if display_name is not None:
        member.display_name = clean_text(display_name, "displayName", max_length=200)
    if time_zone is not None:
        member.time_zone = check_time_zone(time_zone, "timeZone")
    if active is not None:
        member.active = active
    await db.flush()
    await announce_staff_change(db, member, "updated")
    return member


async def assign_service(
    db: AsyncSession,
    principal: Principal,
    *,
    staff_member_id: uuid.UUID,
    service_id: uuid.UUID,
    price_cents: int | None = None,
    duration_minutes: int | None = None,
) -> Assignment:
    """The staff member performs the service, at these overrides; assigning again updates them."""
    tenant = require_catalog_manager(principal)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member", lock=True
    )
    service = await get_in_tenant(db, Service, service_id, tenant_id=tenant.id, label="service")
    if price_cents is not None:
        check_price(price_cents, "priceOverride")
    if duration_minutes is not None:
        _, low, high = SERVICE_LIMITS["duration_minutes"]
        check_range(duration_minutes, "durationMinutesOverride", low, high)
    link = await _find_link(db, member.id, service.id)
    if link is None:
        link = StaffService(tenant_id=tenant.id, staff_member_id=member.id, service_id=service.id)
        db.add(link)
    link.price_cents = price_cents
    link.duration_minutes = duration_minutes
    await db.flush()
    await announce_staff_change(db, member, "service_assigned", service_id=service.id)
    return Assignment(link=link, staff_member=member, service=service)


async def unassign_service(
    db: AsyncSession, principal: Principal, *, staff_member_id: uuid.UUID, service_id: uuid.UUID
) -> StaffMember:
    """The staff member no longer performs the service. Unassigning twice is harmless."""
    tenant = require_catalog_manager(principal)
    member = await get_in_tenant(
        db, StaffMember, staff_member_id, tenant_id=tenant.id, label="staff member"
    )
    service = await get_in_tenant(db, Service, service_id, tenant_id=tenant.id, label="service")
    await db.execute(
        sa.delete(StaffService).where(
            StaffService.staff_member_id == member.id,
            StaffService.service_id == service.id,
            StaffService.tenant_id == tenant.id,
        )
    )
    await announce_staff_change(db, member, "service_unassigned", service_id=service.id)
    return member


async def _find_link(
    db: AsyncSession, staff_member_id: uuid.UUID, service_id: uuid.UUID
) -> StaffService | None:
    statement = sa.select(StaffService).where(
        StaffService.staff_member_id == staff_member_id, StaffService.service_id == service_id
    )
    return (await db.execute(statement)).scalar_one_or_none()


async def list_staff_members(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[StaffMember]:
    tenant = principal.require_tenant()
    statement = sa.select(StaffMember).where(
        StaffMember.tenant_id == tenant.id, active_unless_manager(principal, StaffMember.active)
    )
    return await keyset_page(
        db,
        statement,
        sort_column=StaffMember.created_at,
        id_column=StaffMember.id,
        first=first,
        after=after, last=last, before=before,
    )


async def visible_staff_members(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, StaffMember]:
    tenant = principal.require_tenant()
    statement = sa.select(StaffMember).where(
        StaffMember.id.in_(ids),
        StaffMember.tenant_id == tenant.id,
        active_unless_manager(principal, StaffMember.active),
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def staff_of_services(
    db: AsyncSession, principal: Principal, service_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[StaffMember]]:
    """Who performs each service, oldest staff member first (one query for all of them)."""
    tenant = principal.require_tenant()
    statement = (
        sa.select(StaffService.service_id, StaffMember)
        .join(StaffService, StaffService.staff_member_id == StaffMember.id)
        .where(
            StaffService.service_id.in_(service_ids),
            StaffMember.tenant_id == tenant.id,
            active_unless_manager(principal, StaffMember.active),
        )
        .order_by(StaffMember.created_at, StaffMember.id)
    )
    return group_rows((await db.execute(statement)).all())


async def services_of_staff_members(
    db: AsyncSession, principal: Principal, staff_member_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[StaffService, Service]]]:
    """What each staff member performs, with their overrides, oldest service first."""
    tenant = principal.require_tenant()
    statement = (
        sa.select(StaffService.staff_member_id, StaffService, Service)
        .join(Service, Service.id == StaffService.service_id)
        .where(
            StaffService.staff_member_id.in_(staff_member_ids),
            Service.tenant_id == tenant.id,
            active_unless_manager(principal, Service.active),
        )
        .order_by(Service.created_at, Service.id)
    )
    return group_rows((key, (link, service)) for key, link, service in (await db.execute(statement)).all())
