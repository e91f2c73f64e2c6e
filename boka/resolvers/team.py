"""Resolvers for the team: invitations, accepting one, role changes and removing a member."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from boka.business.team import FutureBookingsChoice, Removal, change_member_role, remove_member
from boka.errors import UserErrorCode
from boka.identity.invitations import (
    Accepted,
    SentInvitation,
    accept_invitation,
    invite_member,
    preview_invitation,
    list_invitations,
    resend_invitation,
    revoke_invitation,
)
from boka.identity.principal import Principal
from boka.identity.signin import SignedIn
from boka.jobs.account_mail import mail_account
from boka.models.types import utcnow
from boka.notifications.account_mail import AccountMail
from boka.notifications.kinds import AccountMailKind
from boka.resolvers.context import Info
from boka.resolvers.identity import signed_in_payload
from boka.resolvers.payments import after_cancellation
from boka.schema.booking import BookingType
from boka.schema.errors import UserError
from boka.schema.identity import AuthPayload, MembershipPayload, MembershipType
from boka.schema.ids import optional_row_id, row_id
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
from boka.schema.team import (
    AcceptInvitationInput,
    ChangeMemberRoleInput,
    InvitationActionInput,
    InvitationPayload,
    InvitationPreviewType,
    InvitationType,
    InviteMemberInput,
    RemoveMemberInput,
    RemoveMemberPayload,
)
from boka.schema.transactions import attempt, read, write


def _ttl(info: Info) -> timedelta:
    return timedelta(days=info.context.runtime.settings.invitation_days)


async def _mail_invitation(info: Info, sent: SentInvitation) -> None:
    tenant = info.context.principal.require_tenant()
    await mail_account(info.context.runtime, AccountMail(
        kind=AccountMailKind.TEAM_INVITATION, to=sent.invitation.email, token=sent.token,
        tenant_id=tenant.id, business_name=tenant.name, detail=sent.invitation.role.value,
    ))


async def _invitation_payload(info: Info, sent: SentInvitation | None, errors: list[UserError]) -> InvitationPayload:
    if sent is None:
        return InvitationPayload(errors=errors)
    await _mail_invitation(info, sent)
    return InvitationPayload(invitation=InvitationType.from_model(sent.invitation))


async def invite(info: Info, input: InviteMemberInput) -> InvitationPayload:
    sent, errors = await write(info, lambda db, principal: invite_member(
        db, principal, email=input.email, role=input.role, ttl=_ttl(info), now=utcnow(),
        origin=info.context.device,
    ))
    return await _invitation_payload(info, sent, errors)


async def resend(info: Info, input: InvitationActionInput) -> InvitationPayload:
    sent, errors = await write(info, lambda db, principal: resend_invitation(
        db, principal, row_id(input.id, "Invitation", "id"), ttl=_ttl(info), now=utcnow(),
        origin=info.context.device,
    ))
    return await _invitation_payload(info, sent, errors)


async def revoke(info: Info, input: InvitationActionInput) -> InvitationPayload:
    revoked, errors = await write(info, lambda db, principal: revoke_invitation(
        db, principal, row_id(input.id, "Invitation", "id"), now=utcnow(), origin=info.context.device,
    ))
    return InvitationPayload(invitation=InvitationType.from_model(revoked) if revoked else None, errors=errors)


async def invitations(
    info: Info, pending_only: bool = True,
    first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[InvitationType]:
    page = await read(info, lambda db, principal: list_invitations(
        db, principal, pending_only=pending_only, first=first, after=after, last=last, before=before))
    return connection_from_page(page, InvitationType.from_model, counted_in_read(info))


async def invitation_by_token(info: Info, token: str) -> InvitationPreviewType | None:
    """For the page behind the mailed link: the business and role, before accepting."""
    _ = info.context.principal  # resolved first: a credential sent to the wrong tenant is refused
    preview = await preview_invitation(info.context.runtime.database, token=token, now=utcnow())
    if preview is None:
        return None
    return InvitationPreviewType(business_name=preview.business_name, role=preview.role,
                                 email=preview.email, has_account=preview.has_account)


async def accept(info: Info, input: AcceptInvitationInput) -> AuthPayload:
    """Join a team from the mailed link: a new account, or the signed-in one of that address."""
    context = info.context

    async def work() -> SignedIn:
        accepted: Accepted = await accept_invitation(
            context.runtime.database, context.principal, token=input.token, password=input.password, full_name=input.full_name,
            now=utcnow(), device=context.device, session_ttl=context.runtime.identity.session_ttl,
        )
        return SignedIn(accepted.session, Principal.build(
            user=accepted.user, session_id=accepted.session.session.id, tenant=accepted.tenant,
            role=accepted.role,
        ))

    signed_in, errors = await attempt(work())
    return signed_in_payload(info, signed_in, errors)


async def change_role(info: Info, input: ChangeMemberRoleInput) -> MembershipPayload:
    membership, errors = await write(info, lambda db, principal: change_member_role(
        db, principal, row_id(input.id, "Membership", "id"), input.role, origin=info.context.device,
    ))
    return MembershipPayload(
        membership=MembershipType.from_model(membership) if membership else None, errors=errors
    )


async def remove(info: Info, input: RemoveMemberInput) -> RemoveMemberPayload:
    choice = FutureBookingsChoice(input.future_bookings.value) if input.future_bookings else None
    removal, errors = await write(info, lambda db, principal: remove_member(
        db, principal, row_id(input.id, "Membership", "id"), choice=choice,
        reassign_to=optional_row_id(input.reassign_to, "StaffMember", "reassignTo"), now=utcnow(),
        origin=info.context.device,
    ))
    if removal is None:
        return RemoveMemberPayload(errors=errors)
    for money in removal.money:
        await after_cancellation(info.context.runtime, money)
    payload = RemoveMemberPayload(
        removed=removal.removed,
        affected_bookings=[BookingType.from_model(booking) for booking in removal.affected],
    )
    if not removal.removed:
        payload.errors = [_needs_choice(removal)]
    return payload


def _needs_choice(removal: Removal) -> UserError:
    return UserError(
        field="futureBookings", code=UserErrorCode.FUTURE_BOOKINGS,
        message=f"This staff member has {len(removal.affected)} booking(s) to come: choose "
        "REASSIGN (with reassignTo) or CANCEL.",
    )


@strawberry.type
class TeamQuery:
    invitations: Connection[InvitationType] = strawberry.field(
        resolver=invitations, description="The tenant's invitations, newest first (managers and owners)."
    )
    # Not on the sign-in budget (5 a minute): the page asks once before acceptInvitation, which
    # is on it; the token is unguessable and the lookup one indexed row.
    invitation_by_token: InvitationPreviewType | None = strawberry.field(
        resolver=invitation_by_token,
        description="The open invitation a mailed link is for (null when it is not valid any more).",
    )


@strawberry.type
class TeamMutation:
    invite_member: InvitationPayload = strawberry.field(
        resolver=invite, extensions=admin_limited(),
        description="Mail someone a single-use link to join the team with a role.",
    )
    resend_invitation: InvitationPayload = strawberry.field(
        resolver=resend, extensions=admin_limited(),
        description="Mail a new link (the old one stops working) with a new expiry.",
    )
    revoke_invitation: InvitationPayload = strawberry.field(resolver=revoke, extensions=admin_limited())
    accept_invitation: AuthPayload = strawberry.field(resolver=accept, extensions=auth_limited())
    change_member_role: MembershipPayload = strawberry.field(resolver=change_role, extensions=admin_limited())
    remove_member: RemoveMemberPayload = strawberry.field(
        resolver=remove, extensions=admin_limited(),
        description="Take someone off the team. Staff with bookings to come need futureBookings.",
    )
