"""GraphQL types of account security: sessions, MFA, API keys, the audit trail, the tenant's
security policy."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from boka.identity.api_keys import api_keys_by_ids
from boka.identity.audit import log_transaction, logs_by_ids
from boka.identity.sessions import sessions_by_ids
from boka.models.identity import UserSession
from boka.models.security import ApiKey, AuthenticationLog, SecuritySettings
from boka.schema.errors import UserError
from boka.schema.identity import UserType
from boka.schema.ids import parse_node_ids
from boka.schema.transactions import resolve_visible_nodes


@strawberry.type(name="Session", description="A signed-in device of yours.")
class SessionType(relay.Node):
    id: relay.NodeID[str]
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    mfa_verified: bool
    current: bool = strawberry.field(description="Whether this request was made with it.")

    @classmethod
    def from_model(cls, session: UserSession, current_id: uuid.UUID | None) -> SessionType:
        return cls(
            id=str(session.id), ip_address=session.ip_address, user_agent=session.user_agent,
            created_at=session.created_at, last_seen_at=session.last_seen_at,
            expires_at=session.expires_at, mfa_verified=session.mfa_verified_at is not None,
            current=session.id == current_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[SessionType | None]:
        """Your own live sessions (what mySessions lists); null for anyone else's."""
        ids = parse_node_ids(node_ids)
        context = info.context
        principal = context.principal
        if principal.user is None:
            return [None for _ in ids]
        async with context.runtime.database.transaction() as db:
            found = await sessions_by_ids(
                db, principal.user.id, [i for i in ids if i is not None],
                idle=context.runtime.identity.session_idle,
            )
        return [cls.from_model(found[i], principal.session_id) if i in found else None for i in ids]


@strawberry.type(name="ApiKey", description="An integrator's key. The key itself is shown once, at creation.")
class ApiKeyType(relay.Node):
    id: relay.NodeID[str]
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, key: ApiKey) -> ApiKeyType:
        return cls(
            id=str(key.id), name=key.name, prefix=key.prefix, scopes=list(key.scopes),
            expires_at=key.expires_at, revoked_at=key.revoked_at, last_used_at=key.last_used_at,
            created_at=key.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ApiKeyType | None]:
        """The tenant's keys, for whoever may list them (apiKeys)."""
        return await resolve_visible_nodes(info, node_ids, api_keys_by_ids, cls.from_model)


@strawberry.type(name="AuthenticationLogEntry", description="One entry of the authentication audit trail.")
class AuthenticationLogEntry(relay.Node):
    id: relay.NodeID[str]
    database_id: str = strawberry.field(
        description="The entry's own id (a UUID). `id` is the Relay global id."
    )
    event_type: str
    success: bool
    suspicious: bool
    reason: str | None
    ip_address: str | None
    user_agent: str | None
    details: JSON
    created_at: datetime
    user_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def user(self, info: strawberry.Info) -> UserType | None:
        if self.user_id is None:
            return None
        user = await info.context.loaders.user_by_id.load(self.user_id)
        return UserType.from_model(user) if user else None

    @classmethod
    def from_model(cls, entry: AuthenticationLog) -> AuthenticationLogEntry:
        return cls(
            id=str(entry.id), database_id=str(entry.id), event_type=entry.event_type, success=entry.success,
            suspicious=entry.suspicious, reason=entry.failure_reason, ip_address=entry.ip_address,
            user_agent=entry.user_agent, details=entry.details, created_at=entry.created_at,
            user_id=entry.user_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[AuthenticationLogEntry | None]:
        """Entries of the trail the principal may read (authenticationLogs)."""
        ids = parse_node_ids(node_ids)
        principal = info.context.principal
        async with log_transaction(info.context.runtime.database, principal) as db:
            found = await logs_by_ids(db, principal, [i for i in ids if i is not None])
        return [cls.from_model(found[i]) if i in found else None for i in ids]


@strawberry.type(name="SecuritySettings", description="The tenant's security policy.")
class SecuritySettingsType:
    require_mfa_for_staff: bool
    staff_ip_allowlist: list[str]

    @classmethod
    def from_model(cls, settings: SecuritySettings) -> SecuritySettingsType:
        return cls(
            require_mfa_for_staff=bool(settings.require_mfa_for_staff),
            staff_ip_allowlist=list(settings.staff_ip_allowlist or []),
        )


@strawberry.type
class MfaStatus:
    enabled: bool
    backup_codes_remaining: int


@strawberry.input
class MfaCodeInput:
    code: str


@strawberry.input
class RevokeSessionInput:
    session_id: relay.GlobalID


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str] = strawberry.field(
        description="From: bookings:read, bookings:write, services:read, services:write."
    )
    expires_at: datetime | None = None


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: relay.GlobalID


@strawberry.input
class UnlockAccountInput:
    user_id: relay.GlobalID


@strawberry.input
class UpdateSecuritySettingsInput:
    require_mfa_for_staff: bool | None = None
    staff_ip_allowlist: list[str] | None = strawberry.field(
        default=None, description="IP addresses or CIDR blocks; [] allows every address."
    )


@strawberry.type
class MfaEnrolmentPayload:
    secret: str | None = strawberry.field(default=None, description="For typing into an app by hand.")
    otpauth_uri: str | None = strawberry.field(default=None, description="Show it as a QR code.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BackupCodesPayload:
    backup_codes: list[str] | None = strawberry.field(
        default=None, description="Single-use codes for when the phone is gone. Shown once."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DoneOrErrorsPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SessionsEndedPayload:
    sessions_ended: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SessionPayload:
    session: SessionType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefreshSessionPayload:
    token: str | None = None
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKeyType | None = None
    key: str | None = strawberry.field(default=None, description="The key itself: shown this once only.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKeyType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SecuritySettingsPayload:
    security_settings: SecuritySettingsType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
