"""GraphQL types of the team: invitations, role changes, removing a member."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.business.team import FutureBookingsChoice
from boka.identity.invitations import visible_invitations
from boka.models.onboarding import Invitation
from boka.models.types import utcnow
from boka.schema.booking import BookingType
from boka.schema.errors import UserError
from boka.schema.identity import RoleEnum
from boka.schema.transactions import resolve_visible_nodes

FutureBookingsChoiceEnum = strawberry.enum(
    FutureBookingsChoice, name="FutureBookingsChoice",
    description="What becomes of a leaving staff member's bookings to come.",
)


@strawberry.enum
class InvitationStatus(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


@strawberry.type(name="Invitation")
class InvitationType(relay.Node):
    id: relay.NodeID[str]
    email: str
    role: RoleEnum  # type: ignore[valid-type]
    status: InvitationStatus
    expires_at: datetime
    sent_count: int
    created_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    invitation_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, invitation: Invitation) -> InvitationType:
        if invitation.accepted_at is not None:
            status = InvitationStatus.ACCEPTED
        elif invitation.revoked_at is not None:
            status = InvitationStatus.REVOKED
        elif invitation.expires_at <= utcnow():
            status = InvitationStatus.EXPIRED
        else:
            status = InvitationStatus.PENDING
        return cls(
            id=str(invitation.id), email=invitation.email, role=invitation.role, status=status,
            expires_at=invitation.expires_at, sent_count=invitation.sent_count,
            created_at=invitation.created_at, accepted_at=invitation.accepted_at,
            revoked_at=invitation.revoked_at, invitation_id=invitation.id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[InvitationType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_invitations, cls.from_model)


@strawberry.type(name="InvitationPreview")
class InvitationPreviewType:
    business_name: str
    role: RoleEnum  # type: ignore[valid-type]
    email: str
    has_account: bool = strawberry.field(
        description="The address has an account already: sign in as it, then accept."
    )


@strawberry.input
class InviteMemberInput:
    email: str
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.input
class InvitationActionInput:
    id: relay.GlobalID


@strawberry.type
class InvitationPayload:
    invitation: InvitationType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AcceptInvitationInput:
    token: str = strawberry.field(description="From the invitation link.")
    password: str | None = strawberry.field(
        default=None, description="For a new account; leave out when signed in as the invited address."
    )
    full_name: str = ""


@strawberry.input
class ChangeMemberRoleInput:
    id: relay.GlobalID = strawberry.field(description="The Membership.")
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.input
class RemoveMemberInput:
    id: relay.GlobalID = strawberry.field(description="The Membership.")
    future_bookings: FutureBookingsChoiceEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Needed when the member is staff with bookings to come: REASSIGN (to "
        "reassignTo, same times) or CANCEL them.",
    )
    reassign_to: relay.GlobalID | None = strawberry.field(default=None, description="A StaffMember.")


@strawberry.type
class RemoveMemberPayload:
    removed: bool = False
    affected_bookings: list[BookingType] = strawberry.field(
        default_factory=list,
        description="The member's bookings to come: those that need a choice (with a "
        "FUTURE_BOOKINGS error), or those moved or cancelled.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
