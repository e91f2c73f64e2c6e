"""Resolvers for account security: MFA, sessions, password, API keys, audit trail, policy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import strawberry

from boka.identity import api_keys, audit, lockout, second_factor, session_management, tenant_policy
from boka.identity.mfa import find_factor, remaining_backup_codes
from boka.identity.sessions import list_sessions
from boka.models.types import utcnow
from boka.pagination import count_rows
from boka.resolvers.context import Info
from boka.schema.ids import row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.rate_limits import admin_limited
from boka.schema.security import (
    ApiKeyPayload,
    ApiKeyType,
    AuthenticationLogEntry,
    BackupCodesPayload,
    ChangePasswordInput,
    CreateApiKeyInput,
    CreateApiKeyPayload,
    DoneOrErrorsPayload,
    MfaCodeInput,
    MfaEnrolmentPayload,
    MfaStatus,
    RefreshSessionPayload,
    RevokeApiKeyInput,
    RevokeSessionInput,
    SecuritySettingsPayload,
    SecuritySettingsType,
    SessionPayload,
    SessionsEndedPayload,
    SessionType,
    UnlockAccountInput,
    UpdateSecuritySettingsInput,
)
from boka.schema.transactions import attempt, read, write

# --- queries ---------------------------------------------------------------------------

async def my_sessions(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
) -> Connection[SessionType]:
    context = info.context
    principal = context.principal
    user = principal.require_user()
    async with context.runtime.database.transaction() as db:
        page = await list_sessions(
            db, user.id, idle=context.runtime.identity.session_idle,
            first=first, after=after, last=last, before=before,
        )

    async def count(everything: sa.Select[Any]) -> int:
        async with context.runtime.database.transaction() as db:
            return await count_rows(db, everything)

    return connection_from_page(page, lambda s: SessionType.from_model(s, principal.session_id), count)


async def mfa_status(info: Info) -> MfaStatus:
    user = info.context.principal.require_user()
    async with info.context.runtime.database.transaction() as db:
        factor = await find_factor(db, user.id)
        enabled = factor is not None and factor.is_enabled
        remaining = await remaining_backup_codes(db, user.id) if enabled else 0
    return MfaStatus(enabled=enabled, backup_codes_remaining=remaining)


async def api_key_list(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
) -> Connection[ApiKeyType]:
    page = await read(info, lambda db, principal: api_keys.list_api_keys(
        db, principal, first=first, after=after, last=last, before=before))
    return connection_from_page(page, ApiKeyType.from_model, counted_in_read(info))


async def authentication_logs(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
    event_types: list[str] | None = None, suspicious_only: bool = False,
) -> Connection[AuthenticationLogEntry]:
    log_filter = audit.LogFilter(event_types=tuple(event_types or ()), suspicious_only=suspicious_only)
    page = await audit.read_logs(
        info.context.runtime.database, info.context.principal, log_filter, first=first, after=after, last=last, before=before
    )
    async def count(everything: sa.Select[Any]) -> int:
        async with audit.log_transaction(info.context.runtime.database, info.context.principal) as db:
            return await count_rows(db, everything)

    return connection_from_page(page, AuthenticationLogEntry.from_model, count)


async def security_alerts(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
) -> Connection[AuthenticationLogEntry]:
    return await authentication_logs(
        info, first=first, after=after, last=last, before=before, suspicious_only=True)


async def security_settings(info: Info) -> SecuritySettingsType:
    settings = await read(info, tenant_policy.get_security_settings)
    return SecuritySettingsType.from_model(settings)


# --- MFA -------------------------------------------------------------------------------

async def enroll_mfa(info: Info) -> MfaEnrolmentPayload:
    context = info.context
    principal = context.principal
    issuer = principal.tenant.name if principal.tenant else "Boka"
    enrolment, errors = await attempt(second_factor.enroll_mfa(
        context.runtime.database, context.runtime.identity.mfa, principal.require_user(), issuer=issuer
    ))
    if enrolment is None:
        return MfaEnrolmentPayload(errors=errors)
    return MfaEnrolmentPayload(secret=enrolment.secret, otpauth_uri=enrolment.uri)


async def enable_mfa(info: Info, input: MfaCodeInput) -> BackupCodesPayload:
    context = info.context
    principal = context.principal
    codes, errors = await attempt(second_factor.enable_mfa(
        context.runtime.database, context.runtime.identity.mfa, principal.require_user(),
        code=input.code, session_id=principal.session_id, device=context.device,
    ))
    return BackupCodesPayload(backup_codes=codes, errors=errors)


async def disable_mfa(info: Info, input: MfaCodeInput) -> DoneOrErrorsPayload:
    context = info.context
    _, errors = await attempt(second_factor.disable_mfa(
        context.runtime.database, context.runtime.identity.mfa, context.principal.require_user(),
        code=input.code, device=context.device,
    ))
    return DoneOrErrorsPayload(ok=not errors, errors=errors)


async def regenerate_backup_codes(info: Info, input: MfaCodeInput) -> BackupCodesPayload:
    context = info.context
    codes, errors = await attempt(second_factor.renew_backup_codes(
        context.runtime.database, context.runtime.identity.mfa, context.principal.require_user(),
        code=input.code, device=context.device,
    ))
    return BackupCodesPayload(backup_codes=codes, errors=errors)


# --- sessions and password -------------------------------------------------------------

async def revoke_session(info: Info, input: RevokeSessionInput) -> SessionPayload:
    context = info.context
    principal = context.principal

    async def revoke() -> SessionType:
        session_id = row_id(input.session_id, "Session", "sessionId")
        session = await session_management.revoke_my_session(context.runtime.database, principal, session_id, context.device)
        return SessionType.from_model(session, principal.session_id)

    session, errors = await attempt(revoke())
    return SessionPayload(session=session, errors=errors)


async def revoke_other_sessions(info: Info) -> SessionsEndedPayload:
    context = info.context
    ended = await session_management.revoke_my_other_sessions(context.runtime.database, context.principal, context.device)
    return SessionsEndedPayload(sessions_ended=ended)


async def refresh_session(info: Info) -> RefreshSessionPayload:
    context = info.context
    issued, errors = await attempt(session_management.refresh_my_session(
        context.runtime.database, context.principal, context.runtime.identity.session_ttl, context.device
    ))
    if issued is None:
        return RefreshSessionPayload(errors=errors)
    context.remember_session(issued.token, issued.session.expires_at)
    return RefreshSessionPayload(token=issued.token, expires_at=issued.session.expires_at)


async def change_password(info: Info, input: ChangePasswordInput) -> SessionsEndedPayload:
    context = info.context
    ended, errors = await attempt(session_management.change_password(
        context.runtime.database, context.principal, current=input.current_password,
        new=input.new_password, device=context.device,
    ))
    return SessionsEndedPayload(sessions_ended=ended or 0, errors=errors)


# --- API keys, lockout, policy ---------------------------------------------------------

async def create_api_key(info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
    issued, errors = await write(info, lambda db, principal: api_keys.create_api_key(
        db, principal, name=input.name, scopes=input.scopes, expires_at=input.expires_at,
        now=utcnow(), origin=info.context.device,
    ))
    if issued is None:
        return CreateApiKeyPayload(errors=errors)
    return CreateApiKeyPayload(api_key=ApiKeyType.from_model(issued.key), key=issued.token)


async def revoke_api_key(info: Info, input: RevokeApiKeyInput) -> ApiKeyPayload:
    key, errors = await write(info, lambda db, principal: api_keys.revoke_api_key(
        db, principal, row_id(input.api_key_id, "ApiKey", "apiKeyId"), now=utcnow(),
        origin=info.context.device,
    ))
    return ApiKeyPayload(api_key=ApiKeyType.from_model(key) if key else None, errors=errors)


async def unlock_account(info: Info, input: UnlockAccountInput) -> DoneOrErrorsPayload:
    unlocked, errors = await write(info, lambda db, principal: lockout.unlock_account(
        db, principal, row_id(input.user_id, "User", "userId"), origin=info.context.device
    ))
    return DoneOrErrorsPayload(ok=bool(unlocked), errors=errors)


async def update_security_settings(info: Info, input: UpdateSecuritySettingsInput) -> SecuritySettingsPayload:
    changes = tenant_policy.PolicyChanges(
        require_mfa_for_staff=input.require_mfa_for_staff, staff_ip_allowlist=input.staff_ip_allowlist
    )
    settings, errors = await write(info, lambda db, principal: tenant_policy.update_security_settings(
        db, principal, changes, origin=info.context.device
    ))
    return SecuritySettingsPayload(
        security_settings=SecuritySettingsType.from_model(settings) if settings else None, errors=errors
    )


@strawberry.type
class SecurityQuery:
    my_sessions: Connection[SessionType] = strawberry.field(
        resolver=my_sessions, description="Your live sessions, newest first."
    )
    mfa_status: MfaStatus = strawberry.field(resolver=mfa_status)
    api_keys: Connection[ApiKeyType] = strawberry.field(
        resolver=api_key_list, description="The tenant's API keys (managers and owners)."
    )
    authentication_logs: Connection[AuthenticationLogEntry] = strawberry.field(
        resolver=authentication_logs,
        description="The authentication audit trail, newest first: the tenant's for owners, all for superadmins.",
    )
    security_alerts: Connection[AuthenticationLogEntry] = strawberry.field(
        resolver=security_alerts,
        description="Suspicious activity: new devices, failure bursts, lockouts, blocked MFA.",
    )
    security_settings: SecuritySettingsType = strawberry.field(resolver=security_settings)


@strawberry.type
class SecurityMutation:
    enroll_mfa: MfaEnrolmentPayload = strawberry.field(resolver=enroll_mfa)
    enable_mfa: BackupCodesPayload = strawberry.field(resolver=enable_mfa)
    disable_mfa: DoneOrErrorsPayload = strawberry.field(resolver=disable_mfa)
    regenerate_backup_codes: BackupCodesPayload = strawberry.field(resolver=regenerate_backup_codes)
    revoke_session: SessionPayload = strawberry.field(resolver=revoke_session)
    revoke_other_sessions: SessionsEndedPayload = strawberry.field(resolver=revoke_other_sessions)
    refresh_session: RefreshSessionPayload = strawberry.field(resolver=refresh_session)
    change_password: SessionsEndedPayload = strawberry.field(resolver=change_password)
    create_api_key: CreateApiKeyPayload = strawberry.field(resolver=create_api_key, extensions=admin_limited())
    revoke_api_key: ApiKeyPayload = strawberry.field(resolver=revoke_api_key, extensions=admin_limited())
    unlock_account: DoneOrErrorsPayload = strawberry.field(resolver=unlock_account, extensions=admin_limited())
    update_security_settings: SecuritySettingsPayload = strawberry.field(
        resolver=update_security_settings, extensions=admin_limited()
    )
