"""Platform administration (superadmins): the tenants listed with their sizes, and a tenant
suspended or reactivated.

A suspended tenant is closed for everyone but superadmins: its requests are refused with
TENANT_SUSPENDED (``refuse_if_suspended`` in boka/identity/suspension.py, applied where a request's
principal is resolved),
its public booking page says it is closed, and its jobs are parked (boka/jobs/parking.py).
Reactivation hands back the parked jobs so the caller enqueues them again after commit.

Both changes are recorded in the audit trail (``tenant_suspended`` / ``tenant_reactivated``,
with the reason and the superadmin who acted). Every function here runs in a transaction that
sees all tenants (``Database.transaction(all_tenants=True)``): counting another tenant's rows
and writing its audit entries needs it.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import Forbidden, UserErrorCode, UserInputError
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.models.bookings import Booking, Customer
from boka.models.catalog import StaffMember
from boka.models.tenancy import ParkedJob, Tenant, TenantUser
from boka.models.types import utcnow
from boka.pagination import Page, keyset_page

MAX_REASON = 500


class TenantStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class TenantCounts:
    bookings: int = 0
    customers: int = 0
    staff: int = 0
    members: int = 0


@dataclass(frozen=True)
class TenantFilter:
    search: str | None = None  # part of the name, slug or domain, any case
    status: TenantStatus | None = None


def require_superadmin(principal: Principal) -> None:
    """Platform administration is for superadmins alone (never an API key)."""
    principal.require_user()
    if not principal.is_superadmin:
        raise Forbidden("Only a platform administrator (superadmin) may do this.")


async def list_tenants(
    db: AsyncSession, tenant_filter: TenantFilter, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[Tenant]:
    """Every tenant, oldest first, optionally searched and filtered by status. For superadmins
    (``require_superadmin``) and the operators' command line."""
    statement = sa.select(Tenant)
    search = (tenant_filter.search or "").strip().lower()
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(sa.or_(
            sa.func.lower(Tenant.name).like(pattern, escape="\\"),
            Tenant.slug.like(pattern, escape="\\"),
            sa.func.coalesce(Tenant.domain, "").like(pattern, escape="\\"),
        ))
    if tenant_filter.status is TenantStatus.ACTIVE:
        statement = statement.where(Tenant.suspended_at.is_(None))
    elif tenant_filter.status is TenantStatus.SUSPENDED:
        statement = statement.where(Tenant.suspended_at.is_not(None))
    return await keyset_page(
        db, statement, sort_column=Tenant.created_at, id_column=Tenant.id,
        first=first, after=after, last=last, before=before,
    )


async def count_for_tenants(db: AsyncSession, tenant_ids: list[uuid.UUID]) -> dict[uuid.UUID, TenantCounts]:
    """Bookings, customers, staff and members of each tenant: four grouped counts in all."""
    if not tenant_ids:
        return {}
    found: dict[uuid.UUID, dict[str, int]] = {tenant_id: {} for tenant_id in tenant_ids}
    for name, model in (("bookings", Booking), ("customers", Customer), ("staff", StaffMember),
                        ("members", TenantUser)):
        rows = await db.execute(
            sa.select(model.tenant_id, sa.func.count())  # type: ignore[attr-defined]
            .where(model.tenant_id.in_(tenant_ids))  # type: ignore[attr-defined]
            .group_by(model.tenant_id)  # type: ignore[attr-defined]
        )
        for tenant_id, count in rows:
            found[tenant_id][name] = int(count)
    return {tenant_id: TenantCounts(**counts) for tenant_id, counts in found.items()}


async def _tenant_for_change(db: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = (
        await db.execute(sa.select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    ).scalar_one_or_none()
    if tenant is None:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "No tenant has this id.", "id")
    return tenant


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned or len(cleaned) > MAX_REASON:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT, f"Give a reason of 1-{MAX_REASON} characters.", "reason"
        )
    return cleaned


async def suspend_tenant(
    db: AsyncSession, principal: Principal, tenant_id: uuid.UUID, reason: str, *, device: DeviceInfo,
) -> Tenant:
    """Close the tenant until reactivated. The identity caches forget it on commit, so its next
    request is refused in every process."""
    require_superadmin(principal)
    cleaned = _reason(reason)
    tenant = await _tenant_for_change(db, tenant_id)
    if tenant.suspended_at is not None:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This tenant is already suspended.", "id")
    tenant.suspended_at = utcnow()
    tenant.suspension_reason = cleaned
    log_event(db, AuthEvent.TENANT_SUSPENDED, origin=device, success=True,
              user_id=principal.actor_user_id, tenant_id=tenant.id,
              details={"slug": tenant.slug, "reason": cleaned})
    await db.flush()
    return tenant


async def reactivate_tenant(
    db: AsyncSession, principal: Principal, tenant_id: uuid.UUID, reason: str, *, device: DeviceInfo,
) -> tuple[Tenant, list[ParkedJob]]:
    """Open the tenant again; the jobs parked meanwhile are taken out of the parking (deleted in
    this transaction) and returned, for the caller to enqueue once it commits."""
    require_superadmin(principal)
    cleaned = _reason(reason)
    tenant = await _tenant_for_change(db, tenant_id)
    if tenant.suspended_at is None:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION, "This tenant is not suspended.", "id")
    suspended_since = tenant.suspended_at
    tenant.suspended_at = None
    tenant.suspension_reason = None
    # After the tenant row is locked and changed: a job parking itself now has either committed
    # (and is taken here) or waits for this commit and then finds the tenant open.
    parked = list((await db.execute(
        sa.select(ParkedJob).where(ParkedJob.tenant_id == tenant.id).order_by(ParkedJob.created_at)
    )).scalars())
    if parked:
        await db.execute(sa.delete(ParkedJob).where(ParkedJob.id.in_([job.id for job in parked])))
    log_event(db, AuthEvent.TENANT_REACTIVATED, origin=device, success=True,
              user_id=principal.actor_user_id, tenant_id=tenant.id,
              details={"slug": tenant.slug, "reason": cleaned, "parked_jobs": len(parked),
                       "suspended_at": suspended_since.isoformat()})
    await db.flush()
    return tenant, parked
