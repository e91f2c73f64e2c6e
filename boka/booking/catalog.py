"""The catalogue a tenant sells from: services and resources, and the rules every part of the
catalogue administration shares (who may change it, tenant-bounded lookups, input checks).

Reads need only a tenant: the catalogue is what the tenant's visitors browse, so inactive rows
are shown to those who manage the catalogue and hidden from everyone else. Every write needs
Service Manage at tenant scope (managers and owners). Every lookup by id is bounded by the
request's tenant, so a row of another tenant is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.policies import LateReschedule
from boka.errors import NotFound
from boka.events.catalog import announce_service_change
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.catalog import Resource, Service, ServiceResource
from boka.models.tenancy import Tenant
from boka.pagination import Page, group_rows, keyset_page
from boka.validation import MAX_PRICE, check_currency, check_range, clean_text, invalid

RowT = TypeVar("RowT")
MAX_LINKED_RESOURCES = 20

# Column → (input field clients see, smallest, largest allowed value; None = no upper bound).
SERVICE_LIMITS: dict[str, tuple[str, int, int | None]] = {
    "duration_minutes": ("durationMinutes", 5, 720),
    "price_cents": ("price.amount", 0, MAX_PRICE),
    "buffer_before_minutes": ("bufferBeforeMinutes", 0, 360),
    "buffer_after_minutes": ("bufferAfterMinutes", 0, 360),
    "min_notice_minutes": ("minNoticeMinutes", 0, 730 * 24 * 60),
    "max_advance_days": ("maxAdvanceDays", 1, 730),
    "slot_interval_minutes": ("slotIntervalMinutes", 5, 240),
    "capacity": ("capacity", 1, 500),
    "free_cancel_hours": ("cancellationPolicy.freeCancelHours", 0, 365 * 24),
    "late_cancel_refund_percent": ("cancellationPolicy.lateCancelRefundPercent", 0, 100),
}


@dataclass(frozen=True)
class ServiceFields:
    """What a create or an update sets; ``None`` leaves a column as it is (or at its default)."""

    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    price_cents: int | None = None
    currency: str | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    min_notice_minutes: int | None = None
    max_advance_days: int | None = None
    slot_interval_minutes: int | None = None
    capacity: int | None = None
    requires_confirmation: bool | None = None
    free_cancel_hours: int | None = None
    late_cancel_refund_percent: int | None = None
    late_reschedule: LateReschedule | None = None


# --- access and lookups, shared by the catalogue, schedules and pricing administration ---


def manages_catalog(principal: Principal) -> bool:
    """Whether the principal may change (and so also see the hidden parts of) the catalogue."""
    scope = principal.scope(Action.SERVICE_MANAGE)
    return scope is not None and scope >= Scope.TENANT


def require_catalog_manager(principal: Principal) -> Tenant:
    principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    return principal.require_tenant()


async def get_in_tenant(
    db: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    *,
    tenant_id: uuid.UUID,
    label: str,
    lock: bool = False,
) -> RowT:
    """The ``model`` row with this id in this tenant, or NotFound (another tenant's included)."""
    table: Any = model
    statement = sa.select(model).where(table.id == row_id, table.tenant_id == tenant_id)
    if lock:
        statement = statement.with_for_update()
    row = (await db.execute(statement)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No {label} with this ID in this tenant.")
    return row


async def delete_in_tenant(
    db: AsyncSession, principal: Principal, model: type[RowT], row_id: uuid.UUID, *, label: str
) -> uuid.UUID:
    """A manager removes one of the tenant's catalogue rows; NotFound if it is not theirs."""
    tenant = require_catalog_manager(principal)
    row = await get_in_tenant(db, model, row_id, tenant_id=tenant.id, label=label)
    await db.delete(row)
    await db.flush()
    return row_id


async def rows_in_tenant(
    db: AsyncSession, model: type[RowT], ids: Sequence[uuid.UUID], *, tenant_id: uuid.UUID
) -> dict[uuid.UUID, RowT]:
    table: Any = model
    if not ids:
        return {}
    statement = sa.select(table).where(table.id.in_(ids), table.tenant_id == tenant_id)
    return {row.id: row for row in (await db.execute(statement)).scalars()}


def active_unless_manager(principal: Principal, active_column: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause: every row for those who manage the catalogue, active ones for others."""
    return sa.true() if manages_catalog(principal) else active_column.is_(True)


# --- services ---


def _apply_service_fields(service: Service, changes: ServiceFields) -> None:
    for item in fields(changes):
        value = getattr(changes, item.name)
        if value is None:
            continue
        if item.name == "name":
            value = clean_text(value, "name", max_length=200)
        elif item.name == "description":
            value = clean_text(value, "description", max_length=5000, min_length=0)
        elif item.name == "currency":
            check_currency(value, "price.currency")
        elif item.name == "late_reschedule":
            value = LateReschedule(value).value
        elif item.name in SERVICE_LIMITS:
            field, low, high = SERVICE_LIMITS[item.name]
            check_range(value, field, low, high)
        setattr(service, item.name, value)


async def create_service(db: AsyncSession, principal: Principal, values: ServiceFields) -> Service:
    tenant = require_catalog_manager(principal)
    required = (
        ("name", "name"), ("duration_minutes", "durationMinutes"), ("price_cents", "price.amount")
    )
    for column, field in required:
        if getattr(values, column) is None:
            raise invalid("This field is required.", field)
    from boka.business.defaults import with_service_defaults  # the business package builds on this one

    service = Service(
        tenant_id=tenant.id, name="", duration_minutes=0, price_cents=0, currency=tenant.currency
    )
    _apply_service_fields(service, await with_service_defaults(db, tenant, values))
    db.add(service)
    await db.flush()
    await announce_service_change(db, service, "created", affects_slots=False)
    return service


async def update_service(
    db: AsyncSession, principal: Principal, service_id: uuid.UUID, changes: ServiceFields
) -> Service:
    tenant = require_catalog_manager(principal)
    service = await get_in_tenant(db, Service, service_id, tenant_id=tenant.id, label="service")
    _apply_service_fields(service, changes)
    await db.flush()
    await announce_service_change(db, service, "updated")
    return service


async def set_service_active(
    db: AsyncSession, principal: Principal, service_id: uuid.UUID, *, active: bool
) -> Service:
    tenant = require_catalog_manager(principal)
    service = await get_in_tenant(db, Service, service_id, tenant_id=tenant.id, label="service")
    service.active = active
    await db.flush()
    await announce_service_change(db, service, "activated" if active else "deactivated")
    return service


async def list_services(
    db: AsyncSession,
    principal: Principal,
    *,
    first: int | None,
    after: str | None, last: int | None = None, before: str | None = None,
    include_inactive: bool = False,
) -> Page[Service]:
    """The tenant's services, oldest first; inactive ones only for those who manage them."""
    tenant = principal.require_tenant()
    if include_inactive:
        principal.authorize(Action.SERVICE_MANAGE, Scope.TENANT)
    statement = sa.select(Service).where(Service.tenant_id == tenant.id)
    if not include_inactive:
        statement = statement.where(Service.active.is_(True))
    return await keyset_page(
        db,
        statement,
        sort_column=Service.created_at,
        id_column=Service.id,
        first=first,
        after=after, last=last, before=before,
    )


async def visible_services(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Service]:
    tenant = principal.require_tenant()
    statement = sa.select(Service).where(
        Service.id.in_(ids),
        Service.tenant_id == tenant.id,
        active_unless_manager(principal, Service.active),
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


# --- resources ---


async def create_resource(
    db: AsyncSession, principal: Principal, *, name: str, kind: str = "room"
) -> Resource:
    tenant = require_catalog_manager(principal)
    resource = Resource(
        tenant_id=tenant.id,
        name=clean_text(name, "name", max_length=200),
        kind=clean_text(kind, "kind", max_length=50),
    )
    db.add(resource)
    await db.flush()
    return resource


async def update_resource(
    db: AsyncSession,
    principal: Principal,
    resource_id: uuid.UUID,
    *,
    name: str | None = None,
    kind: str | None = None,
    active: bool | None = None,
) -> Resource:
    tenant = require_catalog_manager(principal)
    resource = await get_in_tenant(db, Resource, resource_id, tenant_id=tenant.id, label="resource")
    if name is not None:
        resource.name = clean_text(name, "name", max_length=200)
    if kind is not None:
        resource.kind = clean_text(kind, "kind", max_length=50)
    if active is not None:
        resource.active = active
    await db.flush()
    return resource


async def set_service_resources(
    db: AsyncSession, principal: Principal, service_id: uuid.UUID, resource_ids: Sequence[uuid.UUID]
) -> Service:
    """Replace the resources a booking of the service holds with exactly these."""
    tenant = require_catalog_manager(principal)
    service = await get_in_tenant(
        db, Service, service_id, tenant_id=tenant.id, label="service", lock=True
    )
    wanted = list(dict.fromkeys(resource_ids))
    if len(wanted) > MAX_LINKED_RESOURCES:
        raise invalid(f"Link at most {MAX_LINKED_RESOURCES} resources.", "resourceIds")
    found = await rows_in_tenant(db, Resource, wanted, tenant_id=tenant.id)
    if len(found) != len(wanted):
        raise NotFound("No resource with this ID in this tenant.")
    await db.execute(
        sa.delete(ServiceResource).where(
            ServiceResource.service_id == service.id, ServiceResource.tenant_id == tenant.id
        )
    )
    db.add_all(
        ServiceResource(service_id=service.id, resource_id=resource_id, tenant_id=tenant.id)
        for resource_id in wanted
    )
    await db.flush()
    await announce_service_change(db, service, "resources_set")
    return service


async def list_resources(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[Resource]:
    tenant = principal.require_tenant()
    statement = sa.select(Resource).where(
        Resource.tenant_id == tenant.id, active_unless_manager(principal, Resource.active)
    )
    return await keyset_page(
        db,
        statement,
        sort_column=Resource.created_at,
        id_column=Resource.id,
        first=first,
        after=after, last=last, before=before,
    )


async def visible_resources(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Resource]:
    tenant = principal.require_tenant()
    statement = sa.select(Resource).where(
        Resource.id.in_(ids),
        Resource.tenant_id == tenant.id,
        active_unless_manager(principal, Resource.active),
    )
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def resources_of_services(
    db: AsyncSession, principal: Principal, service_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Resource]]:
    tenant = principal.require_tenant()
    statement = (
        sa.select(ServiceResource.service_id, Resource)
        .join(ServiceResource, ServiceResource.resource_id == Resource.id)
        .where(
            ServiceResource.service_id.in_(service_ids),
            Resource.tenant_id == tenant.id,
            active_unless_manager(principal, Resource.active),
        )
        .order_by(Resource.created_at, Resource.id)
    )
    return group_rows((await db.execute(statement)).all())
