"""Team invitations: an owner or manager invites someone by email with a role; the mailed,
single-use link (only its digest is stored) adds them to the team, with a new account or the
one they already have. Invitations can be listed, resent (a new link; the old one stops
working) and revoked. Who may invite with which role follows the matrix: managers invite
customers and staff, owners anyone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.errors import Forbidden, NotFound, UserErrorCode, UserInputError
from boka.identity.account_tokens import invalid_link, new_link_token
from boka.identity.accounts import find_user_by_email, normalize_email, register_user
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.memberships import add_membership, find_membership
from boka.identity.principal import Principal
from boka.identity.rbac import MANAGEABLE_ROLES, Action, Scope
from boka.identity.sessions import IssuedSession, start_session
from boka.identity.tokens import token_digest
from boka.models.identity import User
from boka.models.onboarding import Invitation
from boka.models.tenancy import Role, Tenant
from boka.pagination import Page, keyset_page


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str  # for the mail only; never stored


def may_manage(principal: Principal, role: Role) -> None:
    scope = principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    if role not in MANAGEABLE_ROLES[scope]:
        raise Forbidden(f"Your role cannot grant the {role.value} role.")


async def invite_member(
    db: AsyncSession, principal: Principal, *, email: str, role: Role, ttl: timedelta,
    now: datetime, origin: DeviceInfo,
) -> SentInvitation:
    may_manage(principal, role)
    tenant = principal.require_tenant()
    email = normalize_email(email)
    existing = await find_user_by_email(db, email)
    member = await find_membership(db, tenant_id=tenant.id, user_id=existing.id) if existing else None
    if member is not None and member.role != Role.CUSTOMER:  # a customer may be invited to join the team
        raise UserInputError(UserErrorCode.ALREADY_MEMBER, "This person already belongs to the team.", "email")
    # One open invitation per address: inviting again replaces the earlier one.
    await db.execute(
        sa.update(Invitation)
        .where(Invitation.tenant_id == tenant.id, Invitation.email == email,
               Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = new_link_token()
    invitation = Invitation(
        tenant_id=tenant.id, email=email, role=role, token_hash=token_digest(token),
        invited_by_user_id=principal.actor_user_id, expires_at=now + ttl, created_at=now,
    )
    db.add(invitation)
    await db.flush()
    log_event(db, AuthEvent.INVITATION_SENT, origin=origin, success=True, user_id=principal.actor_user_id,
              tenant_id=tenant.id, details={"invitation_id": str(invitation.id), "role": role.value})
    return SentInvitation(invitation, token)


async def _open_invitation(db: AsyncSession, principal: Principal, invitation_id: uuid.UUID) -> Invitation:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    invitation = (await db.execute(sa.select(Invitation).where(
        Invitation.id == invitation_id, Invitation.tenant_id == principal.require_tenant().id,
    ))).scalar_one_or_none()
    if invitation is None:
        raise NotFound("No such invitation.")
    may_manage(principal, invitation.role)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise UserInputError(UserErrorCode.INVALID_TRANSITION,
                             "This invitation was already accepted or revoked.", "id")
    return invitation


async def resend_invitation(
    db: AsyncSession, principal: Principal, invitation_id: uuid.UUID, *, ttl: timedelta,
    now: datetime, origin: DeviceInfo,
) -> SentInvitation:
    """A new link (the old one stops working) and a new expiry."""
    invitation = await _open_invitation(db, principal, invitation_id)
    token = new_link_token()
    invitation.token_hash = token_digest(token)
    invitation.expires_at = now + ttl
    invitation.sent_count += 1
    await db.flush()
    log_event(db, AuthEvent.INVITATION_SENT, origin=origin, success=True, user_id=principal.actor_user_id,
              tenant_id=invitation.tenant_id,
              details={"invitation_id": str(invitation.id), "resent": invitation.sent_count})
    return SentInvitation(invitation, token)


async def revoke_invitation(
    db: AsyncSession, principal: Principal, invitation_id: uuid.UUID, *, now: datetime, origin: DeviceInfo
) -> Invitation:
    invitation = await _open_invitation(db, principal, invitation_id)
    invitation.revoked_at = now
    await db.flush()
    log_event(db, AuthEvent.INVITATION_REVOKED, origin=origin, success=True, user_id=principal.actor_user_id,
              tenant_id=invitation.tenant_id, details={"invitation_id": str(invitation.id)})
    return invitation


async def list_invitations(
    db: AsyncSession, principal: Principal, *, pending_only: bool,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[Invitation]:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    statement = sa.select(Invitation).where(Invitation.tenant_id == principal.require_tenant().id)
    if pending_only:
        statement = statement.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    return await keyset_page(
        db, statement, sort_column=Invitation.created_at, id_column=Invitation.id,
        first=first, after=after, last=last, before=before, descending=True,
    )


@dataclass(frozen=True)
class Accepted:
    tenant: Tenant
    user: User
    role: Role
    session: IssuedSession


@dataclass(frozen=True)
class InvitationPreview:
    """What the page behind an invitation link shows before accepting."""
    business_name: str
    role: Role
    email: str
    has_account: bool  # the address has an account: its holder signs in first


async def preview_invitation(database: Database, *, token: str, now: datetime) -> InvitationPreview | None:
    """The open invitation ``token`` is for, or None when the link is not valid any more.
    Only the holder of the mailed link can ask, and learns only what the mail told them."""
    digest = token_digest(token.strip())
    async with database.transaction(all_tenants=True) as db:  # which tenant: the link says
        invitation = (await db.execute(sa.select(Invitation).where(
            Invitation.token_hash == digest, Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None), Invitation.expires_at > now,
        ))).scalar_one_or_none()
        if invitation is None:
            return None
        tenant = await db.get(Tenant, invitation.tenant_id)
        assert tenant is not None
        has_account = await find_user_by_email(db, invitation.email) is not None
    return InvitationPreview(business_name=tenant.name, role=invitation.role, email=invitation.email,
                             has_account=has_account)


async def accept_invitation(
    database: Database, principal: Principal, *, token: str, password: str | None, full_name: str,
    now: datetime, device: DeviceInfo, session_ttl: timedelta,
) -> Accepted:
    """Join the team the link is for. Signed in as the invited address: that account joins.
    Not signed in: a new account is made with ``password``, or, when the address already has
    an account, its holder must sign in first (a link in a mailbox is not a password)."""
    if principal.api_key is not None:
        raise Forbidden("Accepting an invitation needs a person, not an API key.")
    digest = token_digest(token.strip())
    async with database.transaction(all_tenants=True) as db:  # which tenant: the link says
        tenant_id = (await db.execute(
            sa.select(Invitation.tenant_id).where(Invitation.token_hash == digest)
        )).scalar_one_or_none()
    if tenant_id is None:
        raise invalid_link("This invitation is not valid any more; ask for a new one.")
    async with database.transaction(tenant_id, write=True) as db:
        return await _accept(db, principal, digest, password=password, full_name=full_name, now=now,
                             device=device, session_ttl=session_ttl)


async def _accept(
    db: AsyncSession, principal: Principal, digest: str, *, password: str | None, full_name: str,
    now: datetime, device: DeviceInfo, session_ttl: timedelta,
) -> Accepted:
    statement = sa.select(Invitation).where(
        Invitation.token_hash == digest, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > now,
    )
    if db.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    invitation = (await db.execute(statement)).scalar_one_or_none()
    if invitation is None:
        raise invalid_link("This invitation is not valid any more; ask for a new one.")
    tenant = await db.get(Tenant, invitation.tenant_id)
    assert tenant is not None
    signed_in = principal.user if principal.session_id is not None else None
    if signed_in is not None:
        if signed_in.email != invitation.email:
            raise UserInputError(UserErrorCode.INVALID_TOKEN,
                                 f"This invitation is for {invitation.email}; sign in as that account.", "token")
        user = signed_in
    elif await find_user_by_email(db, invitation.email) is not None:
        raise UserInputError(UserErrorCode.EMAIL_TAKEN,
                             "An account with this email exists: sign in, then accept the invitation.", "token")
    else:
        if not password:
            raise UserInputError(UserErrorCode.WEAK_PASSWORD, "Choose a password for your new account.", "password")
        user = await register_user(db, email=invitation.email, password=password, full_name=full_name)
    # The link was mailed to this address: opening it proves the address.
    if user.email_verified_at is None:
        user.email_verified_at = now
    membership = await find_membership(db, tenant_id=tenant.id, user_id=user.id)
    if membership is None:
        await add_membership(db, tenant_id=tenant.id, user_id=user.id, role=invitation.role)
    elif membership.role == Role.CUSTOMER:
        membership.role = invitation.role  # a customer joining the team
    else:
        raise UserInputError(UserErrorCode.ALREADY_MEMBER, "You already belong to this team.", "token")
    invitation.accepted_at = now
    invitation.accepted_user_id = user.id
    session = await start_session(db, user, tenant_id=tenant.id, device=device, ttl=session_ttl)
    log_event(db, AuthEvent.INVITATION_ACCEPTED, origin=device, success=True, user_id=user.id,
              tenant_id=tenant.id, details={"invitation_id": str(invitation.id), "role": invitation.role.value})
    return Accepted(tenant=tenant, user=user, role=invitation.role, session=session)


async def visible_invitations(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Invitation]:
    """Of ``ids``, the tenant's invitations, for those who manage its people."""
    scope = principal.scope(Action.USER_MANAGE)
    if scope is None or scope < Scope.TENANT_STAFF or principal.tenant is None:
        return {}
    rows = await db.execute(sa.select(Invitation).where(
        Invitation.id.in_(ids), Invitation.tenant_id == principal.tenant.id))
    return {row.id: row for row in rows.scalars()}
