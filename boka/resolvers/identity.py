"""Resolvers for sign-in, the viewer and tenant membership. Thin: input → domain → type."""

from __future__ import annotations

from datetime import timedelta

import strawberry
from strawberry import relay

from boka.identity.memberships import (
    add_member_by_email,
    list_memberships,
)
from boka.identity.principal import Principal
from boka.identity.sessions import end_session
from boka.identity.signin import SignedIn, sign_up
from boka.identity.signin import sign_in as check_and_sign_in
from boka.resolvers.context import Info
from boka.schema.errors import UserError
from boka.schema.identity import (
    AddMemberInput,
    AuthPayload,
    Grant,
    MembershipPayload,
    MembershipType,
    RegisterInput,
    SignInInput,
    SignOutPayload,
    TenantType,
    UserType,
    Viewer,
)
from boka.schema.pagination import connection_from_page
from boka.schema.rate_limits import admin_limited, auth_limited
from boka.schema.transactions import read, write


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        user=UserType.from_model(principal.user) if principal.user else None,
        tenant=TenantType.from_model(principal.tenant) if principal.tenant else None,
        role=principal.role,
        grants=[Grant(action=action, scope=scope) for action, scope in principal.grants.items()],
    )


async def viewer(info: Info) -> Viewer:
    return viewer_of(info.context.principal)


async def tenant(info: Info) -> TenantType | None:
    """The tenant this request is for (X-Tenant header or the host's domain)."""
    principal = info.context.principal
    return TenantType.from_model(principal.tenant) if principal.tenant else None


async def members(
    info: Info, first: int | None = None, after: str | None = None
) -> relay.Connection[MembershipType]:
    page = await read(info, lambda db, principal: list_memberships(db, principal, first=first, after=after))
    return connection_from_page(page, MembershipType.from_model)


def _signed_in(info: Info, signed_in: SignedIn | None, errors: list[UserError]) -> AuthPayload:
    if signed_in is None:
        return AuthPayload(errors=errors)
    session = signed_in.issued.session
    info.context.remember_session(signed_in.issued.token, session.expires_at)
    return AuthPayload(
        token=signed_in.issued.token, expires_at=session.expires_at, viewer=viewer_of(signed_in.principal)
    )


async def register(info: Info, input: RegisterInput) -> AuthPayload:
    """Create an account and sign in. Inside a tenant, the account also becomes its customer."""
    context = info.context
    ttl = timedelta(hours=context.runtime.settings.session_ttl_hours)
    signed_in, errors = await write(info, lambda db, principal: sign_up(
        db, tenant=principal.tenant, email=input.email, password=input.password,
        full_name=input.full_name, device=context.device, ttl=ttl,
    ))
    return _signed_in(info, signed_in, errors)


async def sign_in(info: Info, input: SignInInput) -> AuthPayload:
    context = info.context
    ttl = timedelta(hours=context.runtime.settings.session_ttl_hours)
    signed_in, errors = await write(info, lambda db, principal: check_and_sign_in(
        db, tenant=principal.tenant, email=input.email, password=input.password,
        device=context.device, ttl=ttl,
    ))
    return _signed_in(info, signed_in, errors)


async def sign_out(info: Info) -> SignOutPayload:
    """End the session this request was made with. Signing out twice is harmless."""
    context = info.context
    session_id = context.principal.session_id
    if session_id is not None:
        async with context.runtime.database.transaction(write=True) as db:
            await end_session(db, session_id)
    context.forget_session()
    return SignOutPayload(signed_out=session_id is not None)


async def add_member(info: Info, input: AddMemberInput) -> MembershipPayload:
    membership, errors = await write(
        info, lambda db, principal: add_member_by_email(db, principal, email=input.email, role=input.role)
    )
    return MembershipPayload(
        membership=MembershipType.from_model(membership) if membership else None, errors=errors
    )


@strawberry.type
class IdentityQuery:
    viewer: Viewer = strawberry.field(resolver=viewer, description="Who is asking.")
    tenant: TenantType | None = strawberry.field(resolver=tenant)
    members: relay.Connection[MembershipType] = strawberry.field(
        resolver=members, description="The tenant's members (managers and owners)."
    )


@strawberry.type
class IdentityMutation:
    register: AuthPayload = strawberry.field(resolver=register, extensions=auth_limited())
    sign_in: AuthPayload = strawberry.field(resolver=sign_in, extensions=auth_limited())
    sign_out: SignOutPayload = strawberry.field(resolver=sign_out)
    add_member: MembershipPayload = strawberry.field(
        resolver=add_member,
        description="Add a registered user to the tenant with a role.",
        extensions=admin_limited(),
    )
