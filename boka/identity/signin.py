"""Signing up and signing in: an account check, then a new session, as one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from boka.identity.accounts import check_credentials, register_user
from boka.identity.memberships import add_membership, find_membership
from boka.identity.principal import Principal
from boka.identity.sessions import DeviceInfo, IssuedSession, start_session
from boka.models.tenancy import Role, Tenant


@dataclass(frozen=True)
class SignedIn:
    issued: IssuedSession
    principal: Principal  # who the new session speaks for, in the request's tenant


async def sign_up(
    db: AsyncSession, *, tenant: Tenant | None, email: str, password: str, full_name: str,
    device: DeviceInfo, ttl: timedelta,
) -> SignedIn:
    """Create an account and sign it in. Inside a tenant, the account becomes its customer."""
    user = await register_user(db, email=email, password=password, full_name=full_name)
    role = None
    if tenant is not None:
        role = Role.CUSTOMER
        await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=role)
    issued = await start_session(db, user, tenant_id=tenant.id if tenant else None, device=device, ttl=ttl)
    return SignedIn(issued, Principal.build(user=user, session_id=issued.session.id, tenant=tenant, role=role))


async def sign_in(
    db: AsyncSession, *, tenant: Tenant | None, email: str, password: str,
    device: DeviceInfo, ttl: timedelta,
) -> SignedIn:
    """Check the password and open a session, with the account's role in the tenant."""
    user = await check_credentials(db, email=email, password=password)
    issued = await start_session(db, user, tenant_id=tenant.id if tenant else None, device=device, ttl=ttl)
    membership = await find_membership(db, tenant_id=tenant.id, user_id=user.id) if tenant else None
    principal = Principal.build(
        user=user, session_id=issued.session.id, tenant=tenant,
        role=membership.role if membership else None,
    )
    return SignedIn(issued, principal)
