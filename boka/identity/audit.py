"""The authentication audit trail (``user_authentication_logs``): what happened, to whom, from
where, and whether it looked suspicious. Owners read their tenant's trail, superadmins all."""

from __future__ import annotations

import enum
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.security import AuthenticationLog
from boka.pagination import Page, keyset_page


class AuthEvent(str, enum.Enum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    MFA_CHALLENGE = "mfa_challenge"
    MFA_FAILED = "mfa_failed"
    MFA_BLOCKED = "mfa_blocked"
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    BACKUP_CODE_USED = "backup_code_used"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_UNLOCKED = "account_unlocked"
    SESSION_REVOKED = "session_revoked"
    SESSION_REFRESHED = "session_refreshed"
    PASSWORD_CHANGED = "password_changed"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    PERMISSION_DENIED = "permission_denied"
    NEW_DEVICE = "new_device"
    FAILURE_BURST = "failure_burst"
    IP_NOT_ALLOWED = "ip_not_allowed"
    SECURITY_SETTINGS_CHANGED = "security_settings_changed"
    BUSINESS_SIGNED_UP = "business_signed_up"
    EMAIL_VERIFICATION_SENT = "email_verification_sent"
    EMAIL_VERIFIED = "email_verified"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGE_FAILED = "email_change_failed"
    EMAIL_CHANGED = "email_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_RESET_FAILED = "password_reset_failed"
    INVITATION_SENT = "invitation_sent"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_ACCEPTED = "invitation_accepted"
    MEMBER_ROLE_CHANGED = "member_role_changed"
    MEMBER_REMOVED = "member_removed"
    TENANT_SETTINGS_CHANGED = "tenant_settings_changed"
    CUSTOMER_DATA_EXPORTED = "customer_data_exported"
    CUSTOMER_ERASED = "customer_erased"
    ACCOUNT_DELETED = "account_deleted"
    TENANT_SUSPENDED = "tenant_suspended"  # by a superadmin (boka/business/platform.py)
    TENANT_REACTIVATED = "tenant_reactivated"


def log_event(
    db: AsyncSession,
    event: AuthEvent,
    *,
    origin: DeviceInfo,
    success: bool,
    user_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    reason: str | None = None,
    suspicious: bool = False,
    details: dict[str, Any] | None = None,
) -> AuthenticationLog:
    """Add one entry to the trail, in the caller's transaction."""
    entry = AuthenticationLog(
        user_id=user_id,
        tenant_id=tenant_id,
        api_key_id=api_key_id,
        event_type=event.value,
        success=success,
        suspicious=suspicious,
        failure_reason=reason[:200] if reason else None,
        ip_address=origin.ip_address,
        user_agent=(origin.user_agent or "")[:512] or None,
        details=details or {},
    )
    db.add(entry)
    return entry


async def log_event_now(database: Database, event: AuthEvent, **fields: Any) -> None:
    """``log_event`` in a transaction of its own: for failures, whose own transaction rolls back."""
    async with database.transaction(fields.get("tenant_id"), write=True) as db:
        log_event(db, event, **fields)


@dataclass(frozen=True)
class LogFilter:
    event_types: tuple[str, ...] = ()
    suspicious_only: bool = False
    user_id: uuid.UUID | None = None


async def list_logs(
    db: AsyncSession, principal: Principal, log_filter: LogFilter, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[AuthenticationLog]:
    """The trail, newest first: the tenant's entries for its owners, everything for superadmins."""
    scope = principal.authorize(Action.USER_MANAGE, Scope.TENANT)
    statement = sa.select(AuthenticationLog)
    if scope < Scope.SYSTEM:
        statement = statement.where(AuthenticationLog.tenant_id == principal.require_tenant().id)
    if log_filter.event_types:
        statement = statement.where(AuthenticationLog.event_type.in_(log_filter.event_types))
    if log_filter.suspicious_only:
        statement = statement.where(AuthenticationLog.suspicious.is_(True))
    if log_filter.user_id is not None:
        statement = statement.where(AuthenticationLog.user_id == log_filter.user_id)
    return await keyset_page(
        db, statement, sort_column=AuthenticationLog.created_at, id_column=AuthenticationLog.id,
        first=first, after=after, last=last, before=before, descending=True,
    )


def log_transaction(database: Database, principal: Principal) -> AbstractAsyncContextManager[AsyncSession]:
    """The read the trail is listed (and counted) in: a superadmin's reaches every tenant (the
    explicit cross-tenant opt-in), an owner's only their tenant's rows."""
    if principal.is_superadmin:
        return database.transaction(all_tenants=True)
    return database.transaction(principal.tenant.id if principal.tenant else None)


async def read_logs(
    database: Database, principal: Principal, log_filter: LogFilter, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[AuthenticationLog]:
    """``list_logs`` in its own read (see log_transaction)."""
    async with log_transaction(database, principal) as db:
        return await list_logs(
            db, principal, log_filter, first=first, after=after, last=last, before=before)


async def logs_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, AuthenticationLog]:
    """Of ``ids``, the entries the principal's trail shows (list_logs): their tenant's for its
    owners, any for superadmins; nothing for others."""
    scope = principal.scope(Action.USER_MANAGE)
    if principal.tenant is None or scope is None or scope < Scope.TENANT:
        return {}
    statement = sa.select(AuthenticationLog).where(AuthenticationLog.id.in_(ids))
    if scope < Scope.SYSTEM:
        statement = statement.where(AuthenticationLog.tenant_id == principal.tenant.id)
    return {row.id: row for row in (await db.execute(statement)).scalars()}
