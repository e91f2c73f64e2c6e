"""Platform administration over GraphQL (superadmins): list and search tenants with their
sizes, suspend and reactivate one. The rules live in boka/business/platform.py; every read and
write here sees all tenants (the explicit cross-tenant opt-in)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from strawberry import relay

from boka.business import platform
from boka.errors import UserErrorCode, UserInputError
from boka.jobs.parking import resume_parked_jobs
from boka.models.tenancy import ParkedJob, Tenant
from boka.pagination import count_rows
from boka.resolvers.context import Info
from boka.schema.errors import UserError
from boka.schema.ids import parse_node_ids
from boka.schema.pagination import After, Before, Connection, First, Last, connection_from_page
from boka.schema.platform import (
    ChangeTenantStatusInput,
    ChangeTenantStatusPayload,
    PlatformTenantType,
    TenantStatusEnum,
)

TENANT_TYPES = frozenset({"PlatformTenant", "Tenant"})


async def platform_tenants(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
    search: Annotated[str | None, strawberry.argument(
        description="Only tenants whose name, slug or domain contains this (any case).")] = None,
    status: Annotated[TenantStatusEnum | None, strawberry.argument(  # type: ignore[valid-type]
        description="Only tenants with this status.")] = None,
) -> Connection[PlatformTenantType]:
    """Every tenant, oldest first, with its counts (superadmins only)."""
    principal = info.context.principal
    platform.require_superadmin(principal)
    database = info.context.runtime.database
    tenant_filter = platform.TenantFilter(search=search, status=status)
    async with database.transaction(all_tenants=True) as db:
        page = await platform.list_tenants(
            db, tenant_filter, first=first, after=after, last=last, before=before)
        counts = await platform.count_for_tenants(db, [tenant.id for tenant in page.items])

    async def count(everything: sa.Select[Any]) -> int:
        async with database.transaction(all_tenants=True) as db:
            return await count_rows(db, everything)

    return connection_from_page(
        page, lambda tenant: PlatformTenantType.from_model(tenant, counts[tenant.id]), count)


async def platform_tenants_by_ids(info: Info, node_ids: list[str]) -> list[PlatformTenantType | None]:
    principal = info.context.principal
    if principal.user is None or not principal.is_superadmin:
        return [None for _ in node_ids]
    ids = parse_node_ids(node_ids)
    wanted = [i for i in ids if i is not None]
    async with info.context.runtime.database.transaction(all_tenants=True) as db:
        tenants = {t.id: t for t in (await db.execute(sa.select(Tenant).where(Tenant.id.in_(wanted)))).scalars()}
        counts = await platform.count_for_tenants(db, list(tenants))
    return [PlatformTenantType.from_model(tenants[i], counts[i]) if i in tenants else None for i in ids]


def _tenant_id(given: relay.GlobalID) -> uuid.UUID:
    parsed = parse_node_ids([given.node_id])[0] if given.type_name in TENANT_TYPES else None
    if parsed is None:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Give a PlatformTenant's (or Tenant's) id.", "id")
    return parsed


async def _change(info: Info, input: ChangeTenantStatusInput, *, suspend: bool) -> ChangeTenantStatusPayload:
    context = info.context
    principal = context.principal
    platform.require_superadmin(principal)
    database = context.runtime.database
    parked: list[ParkedJob] = []
    try:
        tenant_id = _tenant_id(input.id)
        async with database.transaction(all_tenants=True, write=True) as db:
            if suspend:
                tenant = await platform.suspend_tenant(db, principal, tenant_id, input.reason, device=context.device)
            else:
                tenant, parked = await platform.reactivate_tenant(
                    db, principal, tenant_id, input.reason, device=context.device)
            counts = (await platform.count_for_tenants(db, [tenant.id]))[tenant.id]
    except UserInputError as error:
        return ChangeTenantStatusPayload(errors=UserError.all_from(error))
    resumed = await resume_parked_jobs(context.runtime, parked)
    return ChangeTenantStatusPayload(tenant=PlatformTenantType.from_model(tenant, counts), resumed_jobs=resumed)


async def suspend_tenant(info: Info, input: ChangeTenantStatusInput) -> ChangeTenantStatusPayload:
    """Close a tenant: its requests are refused (TENANT_SUSPENDED), its booking page says it is
    closed and its jobs are parked until it is reactivated. Superadmins only; audited."""
    return await _change(info, input, suspend=True)


async def reactivate_tenant(info: Info, input: ChangeTenantStatusInput) -> ChangeTenantStatusPayload:
    """Open a suspended tenant again and enqueue the jobs parked meanwhile. Superadmins only; audited."""
    return await _change(info, input, suspend=False)


@strawberry.type
class PlatformQuery:
    platform_tenants: Connection[PlatformTenantType] = strawberry.field(resolver=platform_tenants)


@strawberry.type
class PlatformMutation:
    suspend_tenant: ChangeTenantStatusPayload = strawberry.field(resolver=suspend_tenant)
    reactivate_tenant: ChangeTenantStatusPayload = strawberry.field(resolver=reactivate_tenant)
