"""API keys for integrators: created by a tenant's managers and owners, shown once, stored as
a SHA-256 digest, acting in that tenant within their scopes only, whoever created them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import BOOKKEEPING
from boka.errors import Forbidden, NotFound, Unauthenticated, UserErrorCode, UserInputError
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import ApiKeyIdentity, Principal
from boka.identity.rbac import API_KEY_SCOPES, Action, Scope, grants_for_key_scopes
from boka.identity.tokens import token_digest
from boka.models.security import ApiKey, ApiKeyUsage
from boka.models.tenancy import Tenant
from boka.pagination import Page, keyset_page
from boka.validation import check_instant

API_KEY_PREFIX = "bkk_"
DISPLAY_PREFIX_LENGTH = 12  # "bkk_" and eight characters of the key


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)


@dataclass(frozen=True)
class IssuedKey:
    token: str  # shown once
    key: ApiKey


async def create_api_key(
    db: AsyncSession, principal: Principal, *, name: str, scopes: list[str],
    expires_at: datetime | None, now: datetime, origin: DeviceInfo,
) -> IssuedKey:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    user = principal.require_user()  # keys do not make keys
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Give the key a name of 1 to 100 characters.", "name")
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in API_KEY_SCOPES]
    if not wanted or unknown:
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            f"Choose scopes from: {', '.join(API_KEY_SCOPES)}." + (f" Unknown: {', '.join(unknown)}." if unknown else ""),
            "scopes",
        )
    for action, scope in grants_for_key_scopes(wanted).items():
        mine = principal.scope(action)
        if mine is None or mine < scope:
            raise UserInputError(
                UserErrorCode.INVALID_INPUT, "A key cannot do more than the person who creates it.", "scopes"
            )
    if expires_at is not None and check_instant(expires_at, "expiresAt") <= now:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "The expiry must be in the future.", "expiresAt")
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=principal.require_tenant().id,
        created_by_user_id=user.id,
        name=name,
        prefix=token[:DISPLAY_PREFIX_LENGTH],
        key_hash=token_digest(token),
        scopes=wanted,
        expires_at=expires_at,
        created_at=now,
    )
    db.add(key)
    await db.flush()
    log_event(
        db, AuthEvent.API_KEY_CREATED, origin=origin, success=True, user_id=user.id,
        tenant_id=key.tenant_id, api_key_id=key.id, details={"name": key.name, "scopes": key.scopes},
    )
    return IssuedKey(token=token, key=key)


async def list_api_keys(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[ApiKey]:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    statement = sa.select(ApiKey).where(ApiKey.tenant_id == principal.require_tenant().id)
    return await keyset_page(
        db, statement, sort_column=ApiKey.created_at, id_column=ApiKey.id, first=first, after=after, last=last, before=before,
        descending=True,
    )


async def revoke_api_key(
    db: AsyncSession, principal: Principal, key_id: uuid.UUID, *, now: datetime, origin: DeviceInfo
) -> ApiKey:
    principal.authorize(Action.USER_MANAGE, Scope.TENANT_STAFF)
    key = (
        await db.execute(
            sa.select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == principal.require_tenant().id)
        )
    ).scalar_one_or_none()
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = now
        log_event(
            db, AuthEvent.API_KEY_REVOKED, origin=origin, success=True,
            user_id=principal.actor_user_id, tenant_id=key.tenant_id, api_key_id=key.id,
        )
    await db.flush()
    return key


@dataclass(frozen=True)
class LiveKey:
    identity: ApiKeyIdentity
    tenant: Tenant
    expires_at: datetime | None = None


async def find_live_key(db: AsyncSession, token: str, now: datetime) -> LiveKey | None:
    """The unrevoked, unexpired key for ``token`` with its tenant, in one query."""
    row = (
        await db.execute(
            sa.select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(
                ApiKey.key_hash == token_digest(token),
                ApiKey.revoked_at.is_(None),
                sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
    ).first()
    if row is None:
        return None
    key, tenant = row
    return LiveKey(ApiKeyIdentity(id=key.id, name=key.name, scopes=tuple(key.scopes)), tenant,
                   key.expires_at)


def principal_for_key(live: LiveKey | None, requested_tenant: Tenant | None) -> Principal:
    """A key acts in its own tenant and nowhere else. A dead key is refused outright, rather
    than quietly treated as a guest: an integration should hear that its key stopped working."""
    if live is None:
        raise Unauthenticated("This API key is unknown, revoked or expired.")
    if requested_tenant is not None and requested_tenant.id != live.tenant.id:
        raise Forbidden("This API key belongs to another tenant.")
    return Principal.for_api_key(live.identity, live.tenant, grants_for_key_scopes(live.identity.scopes))


async def record_key_use(
    db: AsyncSession, *, key_id: uuid.UUID, tenant_id: uuid.UUID, operation: str | None,
    success: bool, ip_address: str | None, now: datetime,
) -> None:
    db.add(ApiKeyUsage(
        api_key_id=key_id, tenant_id=tenant_id, operation=(operation or "")[:100] or None,
        success=success, ip_address=ip_address, created_at=now,
    ))
    await db.execute(
        sa.update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
        .execution_options(**{BOOKKEEPING: True})
    )


async def api_keys_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ApiKey]:
    """Of ``ids``, the tenant's keys, for whoever may list them (apiKeys); nothing for others."""
    scope = principal.scope(Action.USER_MANAGE)
    if principal.tenant is None or scope is None or scope < Scope.TENANT_STAFF:
        return {}
    statement = sa.select(ApiKey).where(ApiKey.id.in_(ids), ApiKey.tenant_id == principal.tenant.id)
    return {row.id: row for row in (await db.execute(statement)).scalars()}
