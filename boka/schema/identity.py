"""GraphQL types of identity and tenancy: users, tenants, memberships, the viewer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.identity.memberships import visible_memberships
from boka.identity.rbac import Action, Scope
from boka.models.identity import User as UserModel
from boka.models.tenancy import Role, TenantUser
from boka.models.tenancy import Tenant as TenantModel
from boka.schema.errors import UserError
from boka.schema.ids import parse_node_ids
from boka.schema.transactions import read

RoleEnum = strawberry.enum(Role, name="Role", description="A member's role in a tenant.")
ActionEnum = strawberry.enum(Action, name="Action")
ScopeEnum = strawberry.enum(Scope, name="Scope", description="How far a grant reaches.")


@strawberry.type(name="User")
class UserType(relay.Node):
    id: relay.NodeID[str]
    email: str
    full_name: str
    is_superadmin: bool
    created_at: datetime
    email_verified: bool = strawberry.field(
        default=False, description="The holder opened a verification link sent to this address."
    )

    @classmethod
    def from_model(cls, user: UserModel) -> UserType:
        return cls(
            id=str(user.id),
            email=user.email,
            full_name=user.full_name,
            email_verified=user.email_verified_at is not None,
            is_superadmin=user.is_superadmin,
            created_at=user.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[UserType | None]:
        # Users are global; a principal may look up only themself through node().
        principal = info.context.principal
        me = principal.user
        return [
            cls.from_model(me) if me is not None and node_id == me.id else None
            for node_id in parse_node_ids(node_ids)
        ]


@strawberry.type(name="Tenant")
class TenantType(relay.Node):
    id: relay.NodeID[str]
    name: str
    slug: str
    domain: str | None
    time_zone: str
    currency: str

    @classmethod
    def from_model(cls, tenant: TenantModel) -> TenantType:
        return cls(
            id=str(tenant.id),
            name=tenant.name,
            slug=tenant.slug,
            domain=tenant.domain,
            time_zone=tenant.time_zone,
            currency=tenant.currency,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[TenantType | None]:
        # A tenant's public profile (name, zone, currency) is what its storefront shows anyway.
        loader = info.context.loaders.tenant_by_id
        ids = parse_node_ids(node_ids)
        tenants = await loader.load_many([i for i in ids if i is not None])
        found = {t.id: t for t in tenants if t is not None}
        return [cls.from_model(found[i]) if i in found else None for i in ids]


@strawberry.type(name="Membership", description="A user's role in the tenant.")
class MembershipType(relay.Node):
    id: relay.NodeID[str]
    role: RoleEnum  # type: ignore[valid-type]
    created_at: datetime
    user_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def user(self, info: strawberry.Info) -> UserType:
        user = await info.context.loaders.user_by_id.load(self.user_id)
        return UserType.from_model(user)

    @classmethod
    def from_model(cls, membership: TenantUser) -> MembershipType:
        return cls(
            id=str(membership.id),
            role=membership.role,
            created_at=membership.created_at,
            user_id=membership.user_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[MembershipType | None]:
        ids = parse_node_ids(node_ids)
        wanted = [i for i in ids if i is not None]
        found = await read(info, lambda db, principal: visible_memberships(db, principal, wanted))
        return [cls.from_model(found[i]) if i in found else None for i in ids]


@strawberry.type(description="One row of the permission table as it applies to the viewer.")
class Grant:
    action: ActionEnum  # type: ignore[valid-type]
    scope: ScopeEnum  # type: ignore[valid-type]


@strawberry.type(description="Who is asking, in which tenant, with which role.")
class Viewer:
    user: UserType | None
    tenant: TenantType | None
    role: RoleEnum | None  # type: ignore[valid-type]
    grants: list[Grant]
    restriction: str | None = strawberry.field(
        default=None,
        description="Why your team rights are withheld here: MFA_REQUIRED or IP_NOT_ALLOWED.",
    )
    api_key_name: str | None = strawberry.field(default=None, description="Set when an API key is asking.")


@strawberry.input
class RegisterInput:
    email: str
    password: str
    full_name: str = ""


@strawberry.input
class SignInInput:
    email: str
    password: str


@strawberry.input
class AddMemberInput:
    email: str
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.type
class MfaChallenge:
    token: str
    expires_at: datetime


@strawberry.input
class CompleteMfaSignInInput:
    challenge: str
    code: str = strawberry.field(description="A 6-digit code from the authenticator app, or a backup code.")


@strawberry.type
class AuthPayload:
    token: str | None = strawberry.field(
        default=None,
        description="The session token, shown once. Send it as 'Authorization: Bearer <token>'; "
        "browsers also receive it as an HttpOnly cookie.",
    )
    expires_at: datetime | None = None
    viewer: Viewer | None = None
    mfa_challenge: MfaChallenge | None = strawberry.field(
        default=None,
        description="Set instead of a token when the account has two-factor authentication on: "
        "send it with a code to completeMfaSignIn.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SignOutPayload:
    signed_out: bool
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MembershipPayload:
    membership: MembershipType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
