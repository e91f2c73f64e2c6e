"""Who is making a request, in which tenant, and what they may do there."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field

from boka.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from boka.identity.rbac import Action, Scope, grants_for
from boka.models.identity import User
from boka.models.tenancy import Role, Tenant


class Restriction(str, enum.Enum):
    """Why a member's staff-side rights are withheld in this request (the tenant's policy)."""

    MFA_REQUIRED = "MFA_REQUIRED"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"

    @property
    def message(self) -> str:
        if self is Restriction.MFA_REQUIRED:
            return (
                "This business requires two-factor authentication for its team: turn it on "
                "(enrollMfa, then enableMfa) or sign in with your code."
            )
        return "This business does not allow team access from your network address."


@dataclass(frozen=True)
class ApiKeyIdentity:
    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Resolved once per request (or websocket connection) and passed down to the domain.

    It speaks for a signed-in user (``user``, ``session_id``) or for an integrator's API key
    (``api_key``, no user), or for nobody (a guest).
    """

    user: User | None = None
    session_id: uuid.UUID | None = None
    tenant: Tenant | None = None
    role: Role | None = None  # the user's role in ``tenant``; None if not a member
    # The tenant the client asked for (X-Tenant or host) when no such tenant exists.
    unknown_tenant: str | None = None
    api_key: ApiKeyIdentity | None = None
    restriction: Restriction | None = None
    grants: dict[Action, Scope] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        user: User | None,
        session_id: uuid.UUID | None,
        tenant: Tenant | None,
        role: Role | None,
        unknown_tenant: str | None = None,
        restriction: Restriction | None = None,
    ) -> Principal:
        is_superadmin = bool(user and user.is_superadmin)
        grants = grants_for(role, is_superadmin=is_superadmin) if user else {}
        if restriction is not None and not is_superadmin:
            grants = grants_for(Role.CUSTOMER)  # still a customer here, not a team member
        return cls(
            user=user,
            session_id=session_id,
            tenant=tenant,
            role=role,
            unknown_tenant=unknown_tenant,
            restriction=restriction if not is_superadmin else None,
            grants=grants,
        )

    @classmethod
    def for_api_key(cls, key: ApiKeyIdentity, tenant: Tenant, grants: dict[Action, Scope]) -> Principal:
        return cls(tenant=tenant, api_key=key, grants=grants)

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None or self.api_key is not None

    @property
    def is_superadmin(self) -> bool:
        return bool(self.user and self.user.is_superadmin)

    @property
    def actor_user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user else None

    def scope(self, action: Action) -> Scope | None:
        return self.grants.get(action)

    def require_user(self) -> User:
        if self.user is None:
            if self.api_key is not None:
                raise Forbidden("This needs a signed-in person, not an API key.")
            raise Unauthenticated("Sign in to do this.")
        return self.user

    def require_tenant(self) -> Tenant:
        if self.tenant is not None:
            return self.tenant
        if self.unknown_tenant:
            raise NotFound(f"No tenant named '{self.unknown_tenant}'.")
        raise InvalidRequest("This operation needs a tenant: send the X-Tenant header.")

    def authorize(self, action: Action, minimum: Scope = Scope.OWN) -> Scope:
        """The principal's scope for ``action`` in the request's tenant, or an access error."""
        self.require_tenant()
        if not self.is_authenticated:
            raise Unauthenticated("Sign in to do this.")
        granted = self.scope(action)
        if granted is None or granted < minimum:
            if self.restriction is not None:
                raise Forbidden(self.restriction.message, reason=self.restriction.value)
            if self.api_key is not None:
                raise Forbidden("This API key's scopes do not allow this.")
            raise Forbidden("You do not have permission to do this in this tenant.")
        return granted
