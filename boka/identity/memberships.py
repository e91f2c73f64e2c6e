"""Memberships: who belongs to a tenant, with which role, and who may change that."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import Forbidden, UserErrorCode, UserInputError
from boka.identity.accounts import find_user_by_email, normalize_email
from boka.identity.principal import Principal
from boka.identity.rbac import MANAGEABLE_ROLES, Action, Scope
from boka.models.tenancy import Role, TenantUser
from boka.pagination import Page, keyset_page


async def find_membership(
    db: AsyncSession, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> TenantUser | None:
    return (
        await db.execute(
            sa.select(TenantUser).where(
                TenantUser.tenant_id == tenant_id, TenantUser.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def add_membership(
    db: AsyncSession, *, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> TenantUser:
    if await find_membership(db, tenant_id=tenant_id, user_id=user_id) is not None:
        raise UserInputError(
            UserErrorCode.ALREADY_MEMBER, "This user already belongs to this tenant.", "email"
        )
    membership = TenantUser(tenant_id=tenant_id, user_id=user_id, role=role)
    try:
        async with db.begin_nested():
            db.add(membership)
            await db.flush()
    except IntegrityError as exc:  # a concurrent request added them first
        raise UserInputError(
            UserErrorCode.ALREADY_MEMBER, "This user already belongs to this tenant.", "email"
        ) from exc
    return membership


async def add_member_by_email(
    db: AsyncSession, principal: Principal, *, email: str, role: Role
) -> TenantUser:
    """A manager or owner adds a registered user to their tenant with a role they may grant."""
    scope = principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    if role not in MANAGEABLE_ROLES[scope]:
        raise Forbidden(f"Your role cannot grant the {role.value} role.")
    user = await find_user_by_email(db, normalize_email(email))
    if user is None:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT, "No account uses this email; ask them to register.", "email"
        )
    return await add_membership(
        db, tenant_id=principal.require_tenant().id, user_id=user.id, role=role
    )


async def list_memberships(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[TenantUser]:
    """The request tenant's members, for those who manage its users."""
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    statement = sa.select(TenantUser).where(TenantUser.tenant_id == principal.require_tenant().id)
    return await keyset_page(
        db,
        statement,
        sort_column=TenantUser.created_at,
        id_column=TenantUser.id,
        first=first,
        after=after, last=last, before=before,
    )


async def visible_memberships(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, TenantUser]:
    """Of ``ids``, the memberships the principal may see: their own, or all if they manage users."""
    tenant = principal.require_tenant()
    statement = sa.select(TenantUser).where(
        TenantUser.id.in_(ids), TenantUser.tenant_id == tenant.id
    )
    scope = principal.scope(Action.USER_MANAGE)
    if scope is None or scope < Scope.TENANT_STAFF:
        user = principal.require_user()
        statement = statement.where(TenantUser.user_id == user.id)
    return {row.id: row for row in (await db.execute(statement)).scalars()}
