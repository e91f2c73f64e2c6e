"""Who is making a request, in which tenant, and what they may do there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from boka.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from boka.identity.rbac import Action, Scope, grants_for
from boka.models.identity import User
from boka.models.tenancy import Role, Tenant


@dataclass(frozen=True)
class Principal:
    """Resolved once per request (or websocket connection) and passed down to the domain."""

    user: User | None = None
    session_id: uuid.UUID | None = None
    tenant: Tenant | None = None
    role: Role | None = None  # the user's role in ``tenant``; None if not a member
    # The tenant the client asked for (X-Tenant or host) when no such tenant exists.
    unknown_tenant: str | None = None
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
    ) -> Principal:
        is_superadmin = bool(user and user.is_superadmin)
        return cls(
            user=user,
            session_id=session_id,
            tenant=tenant,
            role=role,
            unknown_tenant=unknown_tenant,
            grants=grants_for(role, is_superadmin=is_superadmin) if user else {},
        )

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_superadmin(self) -> bool:
        return bool(self.user and self.user.is_superadmin)

    def scope(self, action: Action) -> Scope | None:
        return self.grants.get(action)

    def require_user(self) -> User:
        if self.user is None:
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
        self.require_user()
        granted = self.scope(action)
        if granted is None or granted < minimum:
            raise Forbidden("You do not have permission to do this in this tenant.")
        return granted
