"""Resolvers for sign-in, the viewer and tenant membership. Thin: input → domain → type."""

from __future__ import annotations

import strawberry

from boka.identity.audit import AuthEvent, log_event
from boka.identity.memberships import (
    add_member_by_email,
    list_memberships,
)
from boka.identity.principal import Principal
from boka.identity.sessions import end_session
from boka.identity.signin import MfaRequired, SignedIn, sign_up
from boka.identity.signin import complete_mfa_sign_in as finish_mfa_sign_in
from boka.identity.signin import sign_in as check_and_sign_in
from boka.resolvers.context import Info
from boka.schema.errors import UserError
from boka.schema.identity import (
    AddMemberInput,
    AuthPayload,
    CompleteMfaSignInInput,
    Grant,
    MembershipPayload,
    MembershipType,
    MfaChallenge,
    RegisterInput,
    SignInInput,
    SignOutPayload,
    TenantType,
    UserType,
    Viewer,
)
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.rate_limits import admin_limited, auth_limited
from boka.schema.transactions import attempt, read, write


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        user=UserType.from_model(principal.user) if principal.user else None,
        tenant=TenantType.from_model(principal.tenant) if principal.tenant else None,
        role=principal.role,
        grants=[Grant(action=action, scope=scope) for action, scope in principal.grants.items()],
        restriction=principal.restriction.value if principal.restriction else None,
        api_key_name=principal.api_key.name if principal.api_key else None,
    )


async def viewer(info: Info) -> Viewer:
    return viewer_of(info.context.principal)


async def tenant(info: Info) -> TenantType | None:
    """The tenant this request is for (X-Tenant header or the host's domain)."""
    principal = info.context.principal
    return TenantType.from_model(principal.tenant) if principal.tenant else None


async def members(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[MembershipType]:
    page = await read(info, lambda db, principal: list_memberships(
        db, principal, first=first, after=after, last=last, before=before))
    return connection_from_page(page, MembershipType.from_model, counted_in_read(info))


def signed_in_payload(info: Info, outcome: SignedIn | MfaRequired | None, errors: list[UserError]) -> AuthPayload:
    if outcome is None:
        return AuthPayload(errors=errors)
    if isinstance(outcome, MfaRequired):
        return AuthPayload(mfa_challenge=MfaChallenge(token=outcome.challenge, expires_at=outcome.expires_at))
    session = outcome.issued.session
    info.context.remember_session(outcome.issued.token, session.expires_at)
    return AuthPayload(
        token=outcome.issued.token, expires_at=session.expires_at, viewer=viewer_of(outcome.principal)
    )


async def register(info: Info, input: RegisterInput) -> AuthPayload:
    """Create an account and sign in. Inside a tenant, the account also becomes its customer."""
    context = info.context
    signed_in, errors = await write(info, lambda db, principal: sign_up(
        db, context.runtime.identity, tenant=principal.tenant, email=input.email,
        password=input.password, full_name=input.full_name, device=context.device,
    ))
    return signed_in_payload(info, signed_in, errors)


async def sign_in(info: Info, input: SignInInput) -> AuthPayload:
    """Email and password. With MFA on, the answer is an mfaChallenge, not yet a session."""
    context = info.context
    outcome, errors = await attempt(check_and_sign_in(
        context.runtime.database, context.runtime.identity, tenant=context.principal.tenant,
        email=input.email, password=input.password, device=context.device,
    ))
    return signed_in_payload(info, outcome, errors)


async def complete_mfa_sign_in(info: Info, input: CompleteMfaSignInInput) -> AuthPayload:
    context = info.context
    signed_in, errors = await attempt(finish_mfa_sign_in(
        context.runtime.database, context.runtime.identity, challenge=input.challenge,
        code=input.code, device=context.device,
    ))
    return signed_in_payload(info, signed_in, errors)


async def sign_out(info: Info) -> SignOutPayload:
    """End the session this request was made with. Signing out twice is harmless."""
    context = info.context
    principal = context.principal
    session_id = principal.session_id
    if session_id is not None:
        async with context.runtime.database.transaction(write=True) as db:
            await end_session(db, session_id)
            log_event(db, AuthEvent.SIGN_OUT, origin=context.device, success=True, user_id=principal.actor_user_id)
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
    members: Connection[MembershipType] = strawberry.field(
        resolver=members, description="The tenant's members (managers and owners)."
    )


@strawberry.type
class IdentityMutation:
    register: AuthPayload = strawberry.field(resolver=register, extensions=auth_limited())
    sign_in: AuthPayload = strawberry.field(resolver=sign_in, extensions=auth_limited())
    complete_mfa_sign_in: AuthPayload = strawberry.field(
        resolver=complete_mfa_sign_in, extensions=auth_limited(),
        description="The second step of signing in to an account with two-factor authentication.",
    )
    sign_out: SignOutPayload = strawberry.field(resolver=sign_out)
    add_member: MembershipPayload = strawberry.field(
        resolver=add_member,
        description="Add a registered user to the tenant with a role.",
        extensions=admin_limited(),
    )
