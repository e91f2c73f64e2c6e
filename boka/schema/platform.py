"""GraphQL types of platform administration (superadmins): tenants with their sizes, and
suspending or reactivating one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.business.platform import TenantCounts, TenantStatus
from boka.models.tenancy import Tenant
from boka.schema.errors import UserError

TenantStatusEnum = strawberry.enum(
    TenantStatus, name="TenantStatus",
    description="Whether a tenant is open (ACTIVE) or closed by the platform's operators (SUSPENDED).",
)


@strawberry.type(name="TenantCounts", description="How big a tenant is.")
class TenantCountsType:
    bookings: int = strawberry.field(description="Bookings of every status, past and future.")
    customers: int = strawberry.field(description="Customer records.")
    staff: int = strawberry.field(description="Staff members (people who perform services).")
    members: int = strawberry.field(description="Accounts with a role in the tenant (customers to owners).")

    @classmethod
    def from_counts(cls, counts: TenantCounts) -> TenantCountsType:
        return cls(bookings=counts.bookings, customers=counts.customers, staff=counts.staff,
                   members=counts.members)


@strawberry.type(name="PlatformTenant", description="A tenant as the platform's administrators "
                 "see it (superadmins only): its status and its size.")
class PlatformTenantType(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="The business's name.")
    slug: str = strawberry.field(description="Its name in addresses (/book/<slug>, X-Tenant).")
    domain: str | None = strawberry.field(description="Its own domain, if it has one.")
    created_at: datetime = strawberry.field(description="When it was created.")
    status: TenantStatusEnum = strawberry.field(description="ACTIVE or SUSPENDED.")  # type: ignore[valid-type]
    suspended_at: datetime | None = strawberry.field(description="Since when it is suspended; null while active.")
    suspension_reason: str | None = strawberry.field(description="Why it was suspended; null while active.")
    counts: TenantCountsType = strawberry.field(description="Its bookings, customers, staff and members.")

    @classmethod
    def from_model(cls, tenant: Tenant, counts: TenantCounts) -> PlatformTenantType:
        return cls(
            id=str(tenant.id), name=tenant.name, slug=tenant.slug, domain=tenant.domain,
            created_at=tenant.created_at,
            status=TenantStatus.SUSPENDED if tenant.suspended_at else TenantStatus.ACTIVE,
            suspended_at=tenant.suspended_at, suspension_reason=tenant.suspension_reason,
            counts=TenantCountsType.from_counts(counts),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[PlatformTenantType | None]:
        """Superadmins only, as platformTenants; null for everyone else."""
        from boka.resolvers.platform import platform_tenants_by_ids

        return await platform_tenants_by_ids(info, list(node_ids))


@strawberry.input(description="Which tenant, and why.")
class ChangeTenantStatusInput:
    id: relay.GlobalID = strawberry.field(description="The tenant: a PlatformTenant's or a Tenant's id.")
    reason: str = strawberry.field(description="Why (1-500 characters); kept in the audit trail.")


@strawberry.type(description="The tenant after the change, or why nothing changed.")
class ChangeTenantStatusPayload:
    tenant: PlatformTenantType | None = strawberry.field(default=None, description="The tenant, as it is now.")
    resumed_jobs: int = strawberry.field(
        default=0, description="Reactivation only: how many jobs parked while it was suspended were enqueued again."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
